package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Round-trip properties of the format-3 codec. The streams are drawn from small pools of code sites,
 * addresses and values mixed with arbitrary longs, so every prediction (value cache, code-site table,
 * rsp/rbp modes, paddr, walk) is hit, missed, and fooled by hash collisions and partial overlaps, across
 * cpu changes and chunk boundaries; decoding must give every field back exactly.
 */
class CodecPropertyTest
{
    private static final int[] REGS = {Reg.SP, Reg.FP, Reg.FLAGS, Reg.CR3, 0, 7, Reg.COUNT + 2, 40, -1};

    @Property(tries = 300)
    void everyStreamRoundTripsExactly(@ForAll final long seed, @ForAll @IntRange(min = 1, max = 4000) final int n,
        @ForAll @IntRange(min = 0, max = 100) final int randomness)
    {
        final List<Event> events = stream(new Random(seed), n, randomness);
        final ChunkEncoder enc = new ChunkEncoder();
        final ChunkDecoder sequential = new ChunkDecoder();
        final ChunkDecoder strided = new ChunkDecoder();
        final Event actual = new Event();
        int chunks = 0;
        // Small chunks too: the prediction state must also restart cleanly at every chunk start.
        final int chunk = 1 + (int)Math.floorMod(seed, 700L);
        for (int start = 0; start < events.size(); )
        {
            enc.reset();
            int k = 0;
            while (start + k < events.size() && k < chunk && !enc.isFull())
            {
                events.get(start + k).writeTo(enc);
                k++;
            }
            // A chunk must decode the same whatever the decoder did before: after the previous chunk (as a
            // reader does), fresh (a seek), or after some other chunk (a parallel decoder's stride). The
            // encoder's own tables still hold the earlier chunks' entries, so any entry a chunk start fails
            // to forget shows up here.
            final ChunkDecoder dec = chunks % 3 == 0 ? sequential : chunks % 3 == 1 ? new ChunkDecoder() : strided;
            if (chunks % 3 == 2)
            {
                strided.wrap(enc.buffer(), TraceFormat.CHUNK_HEADER_LENGTH, enc.payloadLength(), enc.count(), start);
                for (int i = 0; i < k / 2; i++)
                {
                    strided.next(actual);
                }
            }
            chunks++;
            dec.wrap(enc.buffer(), TraceFormat.CHUNK_HEADER_LENGTH, enc.payloadLength(), enc.count(), start);
            for (int i = 0; i < k; i++)
            {
                dec.next(actual);
                final Event expected = events.get(start + i);
                if (!expected.sameAs(actual))
                {
                    throw new AssertionError("seed " + seed + " event " + (start + i) + ": expected " + expected +
                        " got " + actual);
                }
            }
            assertEquals(0, dec.remaining());
            start += k;
        }
    }

    /** randomness: percent of fields drawn as arbitrary longs instead of from the pools. */
    static List<Event> stream(final Random r, final int n, final int randomness)
    {
        final long[] sites = new long[1 + r.nextInt(12)];
        for (int i = 0; i < sites.length; i++)
        {
            sites[i] = i == 0 ? 0xffffffff80200000L + r.nextInt(1 << 16) : sites[0] + r.nextInt(4096) * (r.nextBoolean() ? 1 : -1);
        }
        final long[] values = {0, 1, -1, 0xffffffff80202ea5L, 0xffff88000036bf08L, 0x73, 0xff, 0xffff, 0x10000, Long.MIN_VALUE,
            Long.MAX_VALUE, r.nextLong(), r.nextLong()};
        final long stack = 0xffff88000036c000L;
        final long heap = 0xffff880000300000L;
        final int[] cpus = {0, 1, 3, 0x8000, 255, 256, -5, Integer.MAX_VALUE};
        final List<Event> out = new ArrayList<>(n);
        long icount = r.nextInt(100);
        long sp = stack;
        long fp = stack;
        int cpu = 0;
        for (int i = 0; i < n; i++)
        {
            if (r.nextInt(100) < 3)
            {
                cpu = cpus[r.nextInt(r.nextInt(100) < randomness ? cpus.length : 3)];
            }
            final boolean wild = r.nextInt(100) < randomness;
            icount += wild ? r.nextLong() : r.nextInt(4) == 0 ? 0 : r.nextInt(10) == 0 ? r.nextInt(5) : 1;
            final long pc = wild && r.nextBoolean() ? r.nextLong() : sites[r.nextInt(sites.length)];
            final int what = r.nextInt(20);
            final Event e = new Event();
            if (what < 5)
            {
                final int reg = REGS[r.nextInt(wild ? REGS.length : 3)];
                final long b;
                switch (r.nextInt(6))
                {
                    case 0: b = sp - 8; break;
                    case 1: b = sp + 8; break;
                    case 2: b = fp; break;
                    case 3: b = values[r.nextInt(values.length)]; break;
                    case 4: b = sp; break;
                    default: b = wild ? r.nextLong() : sp + r.nextInt(200) - 100; break;
                }
                if (reg == Reg.SP)
                {
                    sp = b;
                }
                else if (reg == Reg.FP)
                {
                    fp = b;
                }
                e.setEvent(EventKind.REG, cpu, icount, pc, reg, b, wild && r.nextBoolean() ? r.nextLong() : 0);
            }
            else if (what < 17)
            {
                final int kind = wild && r.nextInt(10) == 0 ? r.nextInt(40) - 5 : r.nextInt(EventKind.DMA_WRITE + 1);
                final int size = wild && r.nextInt(10) == 0 ? r.nextInt(20) - 2 : kind == EventKind.WALK ? 8 : 1 << r.nextInt(4);
                final long vaddr;
                switch (r.nextInt(4))
                {
                    case 0: vaddr = sp + 8L * r.nextInt(8); break;
                    case 1: vaddr = heap + r.nextInt(1 << 14); break;
                    case 2: vaddr = pc + r.nextInt(16); break;
                    default: vaddr = wild ? r.nextLong() : heap + (long)r.nextInt(1 << 12) * 8; break;
                }
                final long paddr = wild && r.nextBoolean() ? r.nextLong() : vaddr & 0x0000007fffffffffL;
                long value = r.nextInt(3) == 0 ? values[r.nextInt(values.length)] : wild ? r.nextLong() : r.nextInt(1 << 20);
                long old = EventKind.isWrite(kind) || wild ? (r.nextBoolean() ? value : values[r.nextInt(values.length)]) : 0;
                if (!wild && size < 8 && size > 0)
                {
                    final long mask = (1L << (8 * size)) - 1;
                    value &= mask;
                    old &= mask;
                }
                e.setAccess(kind, cpu, icount, pc, vaddr, paddr, size, value, old);
            }
            else if (what < 19)
            {
                final int kind = EventKind.INTERRUPT + r.nextInt(EventKind.MARK - EventKind.INTERRUPT + 1);
                e.setEvent(kind, cpu, icount, pc, r.nextInt(3) == 0 ? r.nextLong() : r.nextInt(8), values[r.nextInt(values.length)],
                    wild ? r.nextLong() : 0);
            }
            else
            {
                final byte[] payload = new byte[r.nextInt(wild ? 3000 : 64)];
                r.nextBytes(payload);
                e.setNet(r.nextBoolean() ? EventKind.NET_SEND : EventKind.NET_DELIVER, EventKind.deviceId(r.nextInt(3)),
                    icount, r.nextInt(4), r.nextLong(), payload, 0, payload.length);
            }
            out.add(e);
        }
        return out;
    }
}
