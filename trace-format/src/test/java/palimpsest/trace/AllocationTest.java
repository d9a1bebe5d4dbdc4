package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** access()/event() allocate nothing; decoding allocates nothing. Byte counts, not time. */
class AllocationTest
{
    @TempDir
    Path tmp;

    private static long allocated()
    {
        return ((com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    /** Straight-line event calls with primitive arguments, like the emulator's. */
    private static void emit(final EventSink sink, final int n, final int seed)
    {
        long vaddr = 0xffff888000100000L + seed * 64L;
        long icount = 1000;
        long pc = 0xffffffff81000000L;
        for (int i = 0; i < n; i++)
        {
            final int cpu = (i >> 12) & 3;
            icount++;
            pc += 3 + (i & 3);
            vaddr += 8;
            sink.access(EventKind.LOAD, cpu, icount, pc, vaddr, vaddr & 0xfffffff, 8, i & 0xff, 0);
            sink.access(EventKind.STORE, cpu, icount, pc, vaddr + 64, (vaddr + 64) & 0xfffffff, 4, i, i - 1);
            if ((i & 255) == 0)
            {
                sink.event(EventKind.INTERRUPT, cpu, icount, pc, 0xef, 0, 0);
                sink.event(EventKind.INPUT, cpu, icount, pc, InputKind.SLICE, i, 0);
                sink.event(EventKind.REG, cpu, icount, pc, Reg.SP, vaddr, 0);
            }
        }
    }

    @Test
    void encoderAllocatesNothing()
    {
        final ChunkEncoder enc = new ChunkEncoder();
        final EventSink sink = new EventSink()
        {
            @Override
            public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
                final long paddr, final int size, final long value, final long oldValue)
            {
                enc.access(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
                if (enc.isFull())
                {
                    enc.reset();
                }
            }

            @Override
            public void event(final int kind, final int cpu, final long icount, final long pc, final long a,
                final long b, final long c)
            {
                enc.event(kind, cpu, icount, pc, a, b, c);
                if (enc.isFull())
                {
                    enc.reset();
                }
            }

            @Override
            public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
                final byte[] payload, final int offset, final int length)
            {
            }
        };
        emit(sink, 200_000, 0); // warm up (JIT)
        final long before = allocated();
        emit(sink, 1_000_000, 1);
        final long bytes = allocated() - before;
        System.out.println("encoder: " + bytes + " bytes allocated for 2M+ events");
        // Per-event allocation would show as >= 16 MB here (one 8-byte object per event); what
        // remains, ~1 KB and varying with machine load, is the JIT's and the JVM's own.
        assertTrue(bytes < 8 * 1024, "allocated " + bytes);
    }

    @Test
    void writerAndReaderAllocateAlmostNothingPerEvent()
    {
        try (TraceWriter w = TraceWriter.create(tmp, TestEvents.header()))
        {
            emit(w, 200_000, 0);
            final long before = allocated();
            emit(w, 1_000_000, 1);
            final long bytes = allocated() - before;
            System.out.printf("writer: %d bytes allocated for %d events in %d chunks%n", bytes, 2_000_000, w.chunks());
            // Per event nothing; per appended chunk Chronicle may allocate a little.
            assertTrue(bytes < 64 * 1024, "allocated " + bytes);
        }
        for (int pass = 0; pass < 3; pass++)
        {
            try (TraceReader r = TraceReader.open(tmp))
            {
                final Event e = new Event();
                final long before = allocated();
                long n = 0;
                while (r.next(e))
                {
                    n++;
                }
                final long bytes = allocated() - before;
                System.out.printf("reader pass %d: %d bytes allocated for %d events%n", pass, bytes, n);
                if (pass == 2)
                {
                    // Passes 0 and 1 warm up the JIT (interpreted VarHandle access allocates).
                    assertTrue(bytes < 64 * 1024, "allocated " + bytes);
                }
            }
        }
    }
}
