package palimpsest.trace;

/**
 * A deterministic synthetic event stream shaped like what the emulator records, for tests and
 * benchmarks of the encoding without an emulator: several cpus running slices of kernel code, mostly
 * loads and stores (icount +1 per instruction, pc moving a few bytes, stack and heap accesses close to
 * the previous one, same page same frame, mostly small values), page walks in bursts of 4 on TLB
 * misses (16-entry TLB per cpu, some heap accesses jump to a random object), slice/pick inputs
 * and cpu switches between slices, timer interrupts, register writes, and now and then an IPI,
 * exception, task switch, port I/O, mark or network frame.
 *
 * <p>Same seed and cpu count, same events. Allocation-free after construction.
 */
public final class SyntheticTrace
{
    private static final long TEXT = 0xffffffff81000000L;
    private static final long DIRECT_MAP = 0xffff888000000000L;
    private static final long STACKS = 0xffffc90000000000L;
    private static final long HEAP_BYTES = 256L << 20;
    private static final int TLB = 16;

    private final int cpus;
    private final int jumpPerMille;
    private final long[] icount;
    private final long[] pc;
    private final long[] sp;
    private final long[] cursor;
    private final long[] tlb;
    private final int[] tlbNext;
    private final byte[] frame = new byte[1500];
    private long rng;
    private int cpu;
    private long sliceLeft;
    private long vtime;
    private long frameId;

    /** The typical stream: 4% of heap accesses jump to a random object. */
    public SyntheticTrace(final long seed, final int cpus)
    {
        this(seed, cpus, 40);
    }

    /**
     * @param jumpPerMille heap accesses (per mille) that jump to a random object in a 256 MiB heap,
     *                     mostly a TLB miss and a 4-read page walk.
     */
    public SyntheticTrace(final long seed, final int cpus, final int jumpPerMille)
    {
        this.jumpPerMille = jumpPerMille;
        this.cpus = cpus;
        this.rng = seed ^ 0x2545F4914F6CDD1DL;
        icount = new long[cpus];
        pc = new long[cpus];
        sp = new long[cpus];
        cursor = new long[cpus];
        tlb = new long[cpus * TLB];
        tlbNext = new int[cpus];
        for (int c = 0; c < cpus; c++)
        {
            icount[c] = 1000 + rand(100000);
            pc[c] = TEXT + rand(8 << 20);
            sp[c] = STACKS + ((long)c << 16) + 0x3f00;
            cursor[c] = DIRECT_MAP + (rand(HEAP_BYTES) & ~7L);
        }
        java.util.Arrays.fill(tlb, -1L);
        for (int i = 0; i < frame.length; i++)
        {
            frame[i] = (byte)(i * 31 + 7);
        }
    }

    private long next()
    {
        long x = rng;
        x ^= x >>> 12;
        x ^= x << 25;
        x ^= x >>> 27;
        rng = x;
        return x * 0x2545F4914F6CDD1DL;
    }

    /** Uniform in [0, n). */
    private long rand(final long n)
    {
        return ((next() >>> 1) % n);
    }

    private boolean chance(final int perMille)
    {
        return rand(1000) < perMille;
    }

    /** Emits n events (a few more when the last step emits several). @return events emitted. */
    public long generate(final EventSink sink, final long n)
    {
        long emitted = 0;
        while (emitted < n)
        {
            emitted += step(sink);
        }
        return emitted;
    }

    private int step(final EventSink sink)
    {
        final int c = cpu;
        if (sliceLeft <= 0)
        {
            final int next = cpus == 1 ? 0 : (int)rand(cpus);
            final long slice = 2000 + rand(6000);
            sink.event(EventKind.INPUT, c, icount[c], pc[c], InputKind.PICK_CPU, next, 0);
            sink.event(EventKind.INPUT, c, icount[c], pc[c], InputKind.SLICE, slice, 0);
            sliceLeft = slice;
            if (next != c)
            {
                sink.event(EventKind.CPU_SWITCH, next, icount[next], pc[next], c, 0, 0);
                cpu = next;
                return 3;
            }
            return 2;
        }
        sliceLeft--;
        final long r = rand(100000);
        if (r < 20)
        {
            sink.event(EventKind.INTERRUPT, c, icount[c], pc[c], 0xef, 0, 0);
            return 1;
        }
        if (r < 1000)
        {
            // Call or return: sp moves and is recorded as a register write.
            sp[c] += chance(500) ? -(16 + 8 * rand(16)) : 16 + 8 * rand(16);
            sp[c] = STACKS + ((long)c << 16) + 0x1000 + ((sp[c] - STACKS - 0x1000) & 0x2fff);
            pc[c] = chance(500) ? TEXT + rand(8 << 20) : pc[c] + 5;
            icount[c]++;
            sink.event(EventKind.REG, c, icount[c], pc[c], Reg.SP, sp[c], 0);
            return 1;
        }
        if (r < 1010)
        {
            return rare(sink, c, r - 1000);
        }
        // An instruction with a memory access.
        icount[c] += chance(850) ? 1 : 2 + rand(4);
        pc[c] += chance(30) ? rand(2048) - 1024 : 1 + rand(7);
        final long kr = rand(100);
        final int size = kr < 60 ? 8 : kr < 85 ? 4 : kr < 95 ? 1 : 2;
        final long vaddr;
        final long ar = rand(100);
        if (ar < 45)
        {
            vaddr = (sp[c] + 8 * rand(24)) & -size;
        }
        else
        {
            if (chance(jumpPerMille))
            {
                cursor[c] = DIRECT_MAP + (rand(HEAP_BYTES) & ~63L);
            }
            else if (ar < 83)
            {
                cursor[c] += size;
            }
            else
            {
                cursor[c] += 8 * (rand(64) - 32);
            }
            vaddr = cursor[c] & -size;
        }
        int events = walkIfMiss(sink, c, vaddr);
        final long paddr = phys(vaddr);
        final long kind = rand(100);
        if (kind < 64)
        {
            sink.access(EventKind.LOAD, c, icount[c], pc[c], vaddr, paddr, size, value(size), 0);
        }
        else if (kind < 96)
        {
            // Stores: 30% counters (old + 1), 30% initialisation (old 0), 40% anything.
            final long sr = rand(10);
            final long old = sr < 3 ? 0 : value(size);
            final long v = sr >= 3 && sr < 6 ? (old + 1) & mask(size) : value(size);
            sink.access(EventKind.STORE, c, icount[c], pc[c], vaddr, paddr, size, v, old);
        }
        else
        {
            sink.access(EventKind.FETCH, c, icount[c], pc[c], pc[c], pc[c] - TEXT + 0x1000000, 1, 0xf0, 0);
            final long old = rand(4);
            sink.access(EventKind.RMW, c, icount[c], pc[c], vaddr, paddr, size, old + 1, old);
            events++;
        }
        return events + 1;
    }

    private int rare(final EventSink sink, final int c, final long which)
    {
        icount[c]++;
        switch ((int)which)
        {
            case 0:
                sink.event(EventKind.IPI, c, icount[c], pc[c], rand(cpus), 0, 0xfd);
                return 1;
            case 1:
                sink.event(EventKind.EXCEPTION, c, icount[c], pc[c], 14, 2, cursor[c]);
                return 1;
            case 2:
                sink.event(EventKind.TASK_SWITCH, c, icount[c], pc[c], rand(200), rand(200), 0);
                return 1;
            case 3:
                sink.event(EventKind.IO, c, icount[c], pc[c], 0x3f8, rand(128), 1);
                return 1;
            case 4:
                sink.event(EventKind.MARK, c, icount[c], pc[c], 1 + rand(4), cursor[c], 64 + rand(512));
                return 1;
            case 5:
                vtime += 1 + rand(1000);
                sink.net(EventKind.NET_SEND, EventKind.deviceId(0), vtime, 1, ++frameId, frame, 0, 60 + (int)rand(200));
                sink.net(EventKind.NET_DELIVER, EventKind.deviceId(1), vtime + 50, 0, frameId, frame, 0, 60);
                return 2;
            case 6:
                sink.event(EventKind.INPUT, c, icount[c], pc[c], InputKind.RANDOM, next(), 0);
                return 1;
            default:
                sink.event(EventKind.REG, c, icount[c], pc[c], Reg.FLAGS, chance(500) ? 0x246 : 0x46, 0);
                return 1;
        }
    }

    private int walkIfMiss(final EventSink sink, final int c, final long vaddr)
    {
        final long page = vaddr >>> 12;
        for (int i = 0; i < TLB; i++)
        {
            if (tlb[c * TLB + i] == page)
            {
                return 0;
            }
        }
        tlb[c * TLB + tlbNext[c]] = page;
        tlbNext[c] = (tlbNext[c] + 1) % TLB;
        long table = 0x1000;
        for (int level = 3; level >= 0; level--)
        {
            final long index = (vaddr >>> (12 + 9 * level)) & 511;
            final long entry = (table << 0) + index * 8;
            final long nextTable = level == 0 ? phys(vaddr) & ~0xfffL :
                (0x100000L + (mix(vaddr >>> (12 + 9 * level)) & 0xffff)) << 12;
            sink.access(EventKind.WALK, c, icount[c], pc[c], vaddr, entry, 8, nextTable | 0x63, 0);
            table = nextTable;
        }
        return 4;
    }

    private static long phys(final long vaddr)
    {
        if (vaddr - DIRECT_MAP >= 0 && vaddr - DIRECT_MAP < HEAP_BYTES)
        {
            return vaddr - DIRECT_MAP + (1L << 30);
        }
        return ((0x200000L + (mix(vaddr >>> 12) & 0xfffff)) << 12) | (vaddr & 0xfff);
    }

    private static long mix(long x)
    {
        x ^= x >>> 33;
        x *= 0xff51afd7ed558ccdL;
        x ^= x >>> 33;
        return x;
    }

    private static long mask(final int size)
    {
        return size == 8 ? -1L : (1L << (size * 8)) - 1;
    }

    /**
     * Loaded/stored values: 40% 0 or 1 (NULL, false, flags), 30% below 256, 15% below 65536, 10% pointers
     * into the heap near the current object, 5% random 64-bit (hashes, random numbers).
     */
    private long value(final int size)
    {
        final long r = rand(100);
        final long v;
        if (r < 40)
        {
            v = rand(2);
        }
        else if (r < 70)
        {
            v = rand(256);
        }
        else if (r < 85)
        {
            v = rand(65536);
        }
        else if (r < 95)
        {
            v = (cursor[cpu] + 8 * (rand(1024) - 512)) & ~7L;
        }
        else
        {
            v = next();
        }
        return v & mask(size);
    }
}
