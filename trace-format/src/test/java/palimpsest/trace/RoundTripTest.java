package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RoundTripTest
{
    @TempDir
    Path tmp;

    /** Every kind, with edge values in every field, through the chunk codec alone. */
    @Test
    void everyKindWithEdgeValuesThroughTheCodec()
    {
        final List<Event> events = edgeEvents();
        final ChunkEncoder enc = new ChunkEncoder();
        final ChunkDecoder dec = new ChunkDecoder();
        final Event actual = new Event();
        int checked = 0;
        for (int start = 0; start < events.size(); )
        {
            enc.reset();
            int n = 0;
            while (start + n < events.size() && !enc.isFull())
            {
                events.get(start + n).writeTo(enc);
                n++;
            }
            dec.wrap(enc.buffer(), TraceFormat.CHUNK_HEADER_LENGTH, enc.payloadLength(), enc.count(), start);
            for (int i = 0; i < n; i++)
            {
                dec.next(actual);
                final Event expected = events.get(start + i);
                if (!expected.sameAs(actual))
                {
                    fail("event " + (start + i) + ": expected " + dump(expected) + " got " + dump(actual));
                }
                assertEquals(start + i, actual.index());
                checked++;
            }
            assertEquals(0, dec.remaining());
            start += n;
        }
        assertEquals(events.size(), checked);
        assertTrue(checked > 10_000, "edge events: " + checked);
    }

    /** The same edge events through a trace on disk. */
    @Test
    void everyKindWithEdgeValuesThroughATrace()
    {
        final List<Event> events = edgeEvents();
        final Path dir = tmp.resolve("edges");
        try (TraceWriter w = TraceWriter.create(dir, TestEvents.header()))
        {
            for (final Event e : events)
            {
                e.writeTo(w);
            }
        }
        try (TraceReader r = TraceReader.open(dir))
        {
            assertEquals(TestEvents.header(), r.header());
            final Event actual = new Event();
            for (int i = 0; i < events.size(); i++)
            {
                assertTrue(r.next(actual), "event " + i);
                assertTrue(events.get(i).sameAs(actual), "event " + i + ": expected " + events.get(i) + " got " + actual);
            }
            assertFalse(r.next(actual));
            assertEquals(TraceStatus.COMPLETE, r.status(), r.statusMessage());
        }
    }

    static String dump(final Event e)
    {
        return e + " [kind=" + e.kind() + " cpu=" + e.cpu() + " ic=" + e.icount() + " pc=" + e.pc() + " v=" + e.vaddr() +
            " p=" + e.paddr() + " size=" + e.size() + " value=" + e.value() + " old=" + e.oldValue() + " a=" + e.a() +
            " b=" + e.b() + " c=" + e.c() + " len=" + e.payloadLength() + "]";
    }

    static List<Event> edgeEvents()
    {
        final List<Event> out = new ArrayList<>();
        final long[] edges = TestEvents.EDGES;
        final byte[] payload = new byte[70_000];
        for (int i = 0; i < payload.length; i++)
        {
            payload[i] = (byte)(i * 7 + 3);
        }
        for (final int cpu : TestEvents.CPUS)
        {
            for (int kind = 0; kind <= EventKind.DMA_WRITE; kind++)
            {
                for (final int size : TestEvents.SIZES)
                {
                    for (int i = 0; i < edges.length; i++)
                    {
                        final long v = edges[i];
                        final long w = edges[(i * 7 + 3) % edges.length];
                        // Plausible neighbours first (compact form), then extremes in every field.
                        out.add(new Event().setAccess(kind, cpu, 100 + i, 0xffffffff81000000L + 4 * i,
                            0xffff888000001000L + 8 * i, 0x1000 + 8 * i, size, v, EventKind.isWrite(kind) ? w : 0));
                        out.add(new Event().setAccess(kind, cpu, v, w, v ^ w, w - v, size, v, w));
                    }
                }
            }
            for (int kind = EventKind.INTERRUPT; kind < EventKind.COUNT + 2; kind++)
            {
                for (int i = 0; i < edges.length; i++)
                {
                    final long v = edges[i];
                    final long w = edges[(i * 5 + 1) % edges.length];
                    out.add(new Event().setEvent(kind, cpu, 7 + i, 0, 0, 0, 0));
                    out.add(new Event().setEvent(kind, cpu, v, w, v, w, v ^ w));
                    out.add(new Event().setEvent(kind, cpu, w, v, i % 40, v, w));
                }
            }
            // Pushes and pops (one-byte tags) and their near misses, which take the general form.
            long sp = 0xffff880000004000L;
            for (int i = 0; i < 64; i++)
            {
                final long ic = 1000 + i / 3;
                final long pc = 0xffffffff80200000L + 16 * (i / 3);
                out.add(new Event().setEvent(EventKind.MARK, cpu, ic, pc, 1, 2, 3));
                final long d = switch (i % 8) { case 0, 1, 2 -> -8; case 3, 4 -> 8; case 5 -> 16; case 6 -> 0; default -> -24; };
                sp += d;
                out.add(new Event().setEvent(EventKind.REG, cpu, ic, pc, Reg.SP, sp, 0));
                out.add(new Event().setEvent(EventKind.REG, cpu, ic, pc, Reg.SP, sp - 8, i % 5 == 0 ? 1 : 0));
                sp -= 8;
                out.add(new Event().setEvent(EventKind.REG, cpu, ic, pc + (i % 4 == 0 ? 1 : 0), Reg.SP, sp + 8, 0));
                sp += 8;
                out.add(new Event().setEvent(EventKind.REG, cpu, ic + (i % 6 == 0 ? 1 : 0), pc, Reg.FP, sp, 0));
            }
            for (final int len : new int[] {0, 1, 60, 1500, 40_000, 70_000})
            {
                out.add(new Event().setNet(EventKind.NET_SEND, cpu, len, 1, len * 3L, payload, 0, len));
                out.add(new Event().setNet(EventKind.NET_DELIVER, cpu, Long.MIN_VALUE, Long.MAX_VALUE, -1, payload,
                    payload.length - len, len));
            }
        }
        // Odd kinds through access() (full form) and through event().
        for (final int kind : new int[] {-1, 7, 17, 18, 255, 256, Integer.MAX_VALUE, Integer.MIN_VALUE})
        {
            out.add(new Event().setAccess(kind, 1, 5, 6, 7, 8, 8, 9, 10));
        }
        for (final int kind : new int[] {0, 4, 6, 18, 99, -5, Integer.MAX_VALUE})
        {
            out.add(new Event().setEvent(kind, 2, 5, 6, 7, 8, 9));
        }
        return out;
    }

    /** 1M randomized mixed events through a trace, every field compared. */
    @Test
    void millionRandomEvents()
    {
        final long n = 1_000_000;
        final Path dir = tmp.resolve("random");
        final long digest;
        try (TraceWriter w = TraceWriter.create(dir, TestEvents.header()))
        {
            final TestEvents.Mixed gen = new TestEvents.Mixed(20240601L);
            for (long i = 0; i < n; i++)
            {
                gen.emit(w);
            }
            assertEquals(n, w.events());
            w.close(3, "done");
            digest = w.digest();
            System.out.printf("random mixed stream: %d events, %d chunks, %.2f bytes/event%n", w.events(), w.chunks(),
                (double)w.payloadBytes() / w.events());
        }
        try (TraceReader r = TraceReader.open(dir))
        {
            TestEvents.expectSame(new TestEvents.Mixed(20240601L), r, n);
            assertEquals(TraceStatus.COMPLETE, r.status(), r.statusMessage());
            final EndRecord end = r.end();
            assertNotNull(end);
            assertEquals(3, end.outcomeCode());
            assertEquals("done", end.outcomeMessage());
            assertEquals(n, end.totalEvents());
            assertEquals(digest, end.finalDigest());
            assertEquals(digest, r.digest());
        }
    }
}
