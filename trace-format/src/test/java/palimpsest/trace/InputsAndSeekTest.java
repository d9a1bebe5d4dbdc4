package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InputsAndSeekTest
{
    @TempDir
    Path tmp;

    private long events;
    private final List<Event> inputs = new ArrayList<>();
    private final List<Long> chunkFirst = new ArrayList<>();

    /** A trace whose inputs are few and clustered: most chunks hold none. */
    @BeforeEach
    void write()
    {
        try (TraceWriter w = TraceWriter.create(tmp, TestEvents.header()))
        {
            final SyntheticTrace gen = new SyntheticTrace(11, 4);
            final TestEvents.Capture cap = new TestEvents.Capture();
            for (int round = 0; round < 20; round++)
            {
                // Plain accesses (the synthetic stream without its input events), then a burst of inputs.
                final EventSink noInputs = new EventSink()
                {
                    @Override
                    public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
                        final long paddr, final int size, final long value, final long oldValue)
                    {
                        w.access(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
                    }

                    @Override
                    public void event(final int kind, final int cpu, final long icount, final long pc, final long a,
                        final long b, final long c)
                    {
                        if (kind != EventKind.INPUT)
                        {
                            w.event(kind, cpu, icount, pc, a, b, c);
                        }
                    }

                    @Override
                    public void net(final int kind, final int device, final long vtime, final long peerNode,
                        final long frameId, final byte[] payload, final int offset, final int length)
                    {
                        w.net(kind, device, vtime, peerNode, frameId, payload, offset, length);
                    }
                };
                gen.generate(noInputs, round % 3 == 0 ? 30_000 : 8_000);
                for (int i = 0; i < 1 + round % 4; i++)
                {
                    final long index = w.events();
                    cap.event(EventKind.INPUT, round % 4, 1000 + round, 77, InputKind.SLICE + i % InputKind.COUNT,
                        round * 100L + i, 0);
                    cap.e.writeTo(w);
                    inputs.add(new Event().copyFrom(cap.e).index(index));
                }
            }
            events = w.events();
        }
        try (TraceReader r = TraceReader.open(tmp))
        {
            final Event e = new Event();
            long last = -1;
            while (r.next(e))
            {
                if (r.chunksVerified() != last)
                {
                    last = r.chunksVerified();
                    chunkFirst.add(e.index());
                }
            }
        }
    }

    @Test
    void nextInputReturnsExactlyTheInputsAndSkipsChunksWithout()
    {
        try (TraceReader r = TraceReader.open(tmp))
        {
            final Event e = new Event();
            for (final Event expected : inputs)
            {
                assertTrue(r.nextInput(e), "input " + expected.index());
                assertEquals(expected.index(), e.index());
                assertTrue(expected.sameAs(e), "expected " + expected + " got " + e);
            }
            assertFalse(r.nextInput(e));
            assertEquals(TraceStatus.COMPLETE, r.status(), r.statusMessage());
            assertEquals(events, r.eventsVerified());
            System.out.printf("inputs only: %d inputs, decoded %d of %d chunks%n", inputs.size(), r.chunksDecoded(),
                r.chunksVerified());
            assertTrue(r.chunksDecoded() < r.chunksVerified() / 2, "chunks without inputs are skipped: decoded " +
                r.chunksDecoded() + " of " + r.chunksVerified());
        }
    }

    @Test
    void seekPositionsAtAnyEvent()
    {
        // Reference: every 997th event and every chunk boundary, read sequentially.
        final List<Long> targets = new ArrayList<>();
        for (long i = 0; i < events; i += 997)
        {
            targets.add(i);
        }
        for (final long first : chunkFirst)
        {
            targets.add(first);
            if (first > 0)
            {
                targets.add(first - 1);
            }
        }
        targets.add(events - 1);
        targets.sort(null);
        final List<Event> expected = new ArrayList<>();
        try (TraceReader r = TraceReader.open(tmp))
        {
            final Event e = new Event();
            int t = 0;
            while (r.next(e) && t < targets.size())
            {
                while (t < targets.size() && targets.get(t) == e.index())
                {
                    expected.add(new Event().copyFrom(e));
                    t++;
                }
            }
        }
        assertEquals(targets.size(), expected.size());
        try (TraceReader r = TraceReader.open(tmp))
        {
            final Event e = new Event();
            // Backwards, so every seek goes somewhere else.
            for (int i = targets.size() - 1; i >= 0; i--)
            {
                final long target = targets.get(i);
                assertTrue(r.seek(target), "seek " + target);
                assertTrue(r.next(e));
                assertEquals(target, e.index());
                assertTrue(expected.get(i).sameAs(e), "event " + target);
            }
            // After a seek, reading goes on to the end normally.
            assertTrue(r.seek(events - 5));
            int n = 0;
            while (r.next(e))
            {
                n++;
            }
            assertEquals(5, n);
            assertEquals(TraceStatus.COMPLETE, r.status(), r.statusMessage());
            assertFalse(r.seek(events));
            assertFalse(r.seek(Long.MAX_VALUE));
            assertThrows(IllegalArgumentException.class, () -> r.seek(-1));
            // And seek then nextInput.
            final Event last = inputs.get(inputs.size() - 1);
            assertTrue(r.seek(last.index()));
            assertTrue(r.nextInput(e));
            assertEquals(last.index(), e.index());
            assertFalse(r.nextInput(e));
        }
    }
}
