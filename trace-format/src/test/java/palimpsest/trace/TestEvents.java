package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;

/** Deterministic event streams for tests, and a sink that captures the last event. */
final class TestEvents
{
    static final long[] EDGES = {
        0, 1, -1, 2, -2, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffffL, 0x80000000L, 0xffffffffL,
        0x100000000L, Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE - 1, Long.MIN_VALUE + 1,
        0xffff880000000000L, 0xffff8800_00012340L, 0xffffffff81001234L, 0x00007fffffffffffL, 0x8000000000000000L,
        0xdeadbeefL, 0xcafebabe12345678L
    };
    static final int[] CPUS = {0, 1, 2, 3, 7, 255, 256, 0x7fff, 0x8000, 0x8001, 0x80ff, 0x8100, -1,
        Integer.MAX_VALUE, Integer.MIN_VALUE};
    static final int[] SIZES = {1, 2, 4, 8, 1, 2, 4, 8, 0, 3, 16, -1, Integer.MAX_VALUE};

    private TestEvents()
    {
    }

    static TraceHeader header()
    {
        return TraceHeader.builder()
            .machine(2, 2, 512)
            .scenario("test")
            .arg("b", "2")
            .arg("a", "1")
            .schedule("seeded", 42)
            .kernel("6.1-pal", java.util.List.of("fix-lock.patch"))
            .toolVersion("test")
            .build();
    }

    /** Captures the last event written to it. */
    static final class Capture implements EventSink
    {
        final Event e = new Event();

        @Override
        public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
            final long paddr, final int size, final long value, final long oldValue)
        {
            e.setAccess(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
        }

        @Override
        public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b,
            final long c)
        {
            e.setEvent(kind, cpu, icount, pc, a, b, c);
        }

        @Override
        public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
            final byte[] payload, final int offset, final int length)
        {
            e.setNet(kind, device, vtime, peerNode, frameId, payload, offset, length);
        }
    }

    /** Mixed events: mostly plausible (close to the previous ones), often extreme, sometimes odd. */
    static final class Mixed
    {
        private final Random r;
        private final long[] icount = new long[4];
        private final long[] pc = new long[4];
        private final long[] vaddr = new long[4];
        private final byte[] payload = new byte[200_000];
        private int cpu;

        Mixed(final long seed)
        {
            r = new Random(seed);
            r.nextBytes(payload);
        }

        private long edge()
        {
            return EDGES[r.nextInt(EDGES.length)];
        }

        private long any()
        {
            switch (r.nextInt(4))
            {
                case 0: return edge();
                case 1: return r.nextLong();
                case 2: return r.nextInt(256);
                default: return edge() + r.nextInt(9) - 4;
            }
        }

        void emit(final EventSink sink)
        {
            final int mode = r.nextInt(100);
            if (mode < 5)
            {
                cpu = r.nextInt(4);
            }
            final int c = mode < 3 ? CPUS[r.nextInt(CPUS.length)] : cpu;
            final int slot = Math.floorMod(c, 4);
            if (mode < 70)
            {
                icount[slot] += r.nextInt(3);
                pc[slot] += r.nextInt(3) == 0 ? 0 : r.nextInt(16) - 2;
                vaddr[slot] += 8 * (r.nextInt(9) - 4);
                final int kind = r.nextInt(7);
                final int size = 1 << r.nextInt(4);
                final long mask = size == 8 ? -1L : (1L << (8 * size)) - 1;
                final long value = (r.nextBoolean() ? r.nextInt(300) : any()) & mask;
                final long old = EventKind.isWrite(kind) ? (r.nextBoolean() ? value + 1 : any()) & mask : 0;
                final long paddr = r.nextInt(10) == 0 ? any() : (vaddr[slot] & 0xffffffL) | 0x40000000L;
                sink.access(kind, c, icount[slot], pc[slot], vaddr[slot], paddr, size, value, old);
            }
            else if (mode < 80)
            {
                // Anything at all through access(), including kinds and sizes the compact form cannot hold.
                final int kind = r.nextInt(10) == 0 ? r.nextInt() : r.nextInt(7);
                sink.access(kind, c, any(), any(), any(), any(), SIZES[r.nextInt(SIZES.length)], any(), any());
            }
            else if (mode < 95)
            {
                final int kind = r.nextInt(20) == 0 ? (r.nextBoolean() ? r.nextInt(7) : 18 + r.nextInt(300)) :
                    EventKind.INTERRUPT + r.nextInt(EventKind.COUNT - EventKind.INTERRUPT);
                if (r.nextBoolean())
                {
                    icount[slot] += r.nextInt(3);
                    sink.event(kind, c, icount[slot], pc[slot], r.nextInt(40) - 4, r.nextInt(1000), r.nextInt(3));
                }
                else
                {
                    sink.event(kind, c, any(), any(), any(), any(), any());
                }
            }
            else
            {
                final int kind = r.nextBoolean() ? EventKind.NET_SEND : EventKind.NET_DELIVER;
                final int len = r.nextInt(500) == 0 ? 40_000 + r.nextInt(100_000) : r.nextInt(300);
                final int off = r.nextInt(payload.length - len);
                sink.net(kind, r.nextBoolean() ? EventKind.deviceId(r.nextInt(4)) : c, any(), any(), any(), payload,
                    off, len);
            }
        }
    }

    /** Reads events from reader and checks them against what gen emits, field by field. */
    static void expectSame(final Mixed gen, final TraceReader reader, final long n)
    {
        final Capture expected = new Capture();
        final Event actual = new Event();
        for (long i = 0; i < n; i++)
        {
            gen.emit(expected);
            if (!reader.next(actual))
            {
                fail("trace ended at event " + i + " of " + n + ": " + reader.statusMessage());
            }
            assertEquals(i, actual.index(), "index");
            if (!expected.e.sameAs(actual))
            {
                fail("event " + i + " differs:\n expected " + expected.e + " size=" + expected.e.size() + " a=" +
                    expected.e.a() + " b=" + expected.e.b() + " c=" + expected.e.c() + " old=" + expected.e.oldValue() +
                    "\n actual   " + actual + " size=" + actual.size() + " a=" + actual.a() + " b=" + actual.b() +
                    " c=" + actual.c() + " old=" + actual.oldValue());
            }
        }
        assertTrue(!reader.next(actual), "more events than written");
    }
}
