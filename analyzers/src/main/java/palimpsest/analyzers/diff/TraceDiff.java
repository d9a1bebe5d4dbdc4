package palimpsest.analyzers.diff;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.TreeSet;

import palimpsest.analyzers.core.LongLongMap;

import palimpsest.replayer.bisect.DivergenceBisect;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceReader;

/**
 * Two traces compared: where they first part (globally, by {@link DivergenceBisect}), where each
 * cpu's own stream parts and whether it comes back, and a summary of how they differ after the
 * global divergence.
 *
 * <p>Per-cpu alignment: each cpu's events are taken in order from each trace. An event is identified
 * by (kind, pc, virtual and physical address, size, value, old value, a, b, c); the streams part at
 * the first position where the identities or the icounts differ. They reconverge at the first pair
 * of positions after that from which the next {@link #WINDOW} identities agree (icounts are not
 * compared there: the detour may have been longer in one run). Found in linear time by hashing the
 * windows of one stream.
 */
public final class TraceDiff
{
    /** Events that must agree in a row for two streams to count as reconverged. */
    public static final int WINDOW = 32;
    /**
     * Events per cpu kept for the alignment, counted from the first divergence (16 bytes each; the
     * events before it are the same in both traces and only counted): bounds memory on long traces.
     */
    public static final int MAX_PER_CPU = 4 << 20;

    /** One cpu's comparison. */
    public static final class CpuDiff
    {
        public final int cpu;
        public final long eventsA;
        public final long eventsB;
        /** Position in this cpu's stream where the runs part; -1 if its streams are identical. */
        public final long partsAt;
        public final long partIcountA;
        public final long partIcountB;
        /** Positions in each stream where they agree again for {@link #WINDOW} events; -1 if never. */
        public final long reconvergeA;
        public final long reconvergeB;
        public final long reconvergeIcountA;
        public final long reconvergeIcountB;

        CpuDiff(final int cpu, final long eventsA, final long eventsB, final long partsAt, final long partIcountA,
            final long partIcountB, final long reconvergeA, final long reconvergeB, final long reconvergeIcountA,
            final long reconvergeIcountB)
        {
            this.cpu = cpu;
            this.eventsA = eventsA;
            this.eventsB = eventsB;
            this.partsAt = partsAt;
            this.partIcountA = partIcountA;
            this.partIcountB = partIcountB;
            this.reconvergeA = reconvergeA;
            this.reconvergeB = reconvergeB;
            this.reconvergeIcountA = reconvergeIcountA;
            this.reconvergeIcountB = reconvergeIcountB;
        }
    }

    /** What one trace did from the global divergence on. */
    public static final class Side
    {
        public final long[] kindCounts = new long[EventKind.COUNT];
        /** Physical page numbers written (stores, rmw, dma writes). */
        public final TreeSet<Long> pagesWritten = new TreeSet<>();
        /** Program counters of the events (access and event forms). */
        public final TreeSet<Long> pcs = new TreeSet<>();
        public long events;
    }

    public final DivergenceBisect.Result first;
    public final CpuDiff[] cpus;
    public final Side a;
    public final Side b;

    private TraceDiff(final DivergenceBisect.Result first, final CpuDiff[] cpus, final Side a, final Side b)
    {
        this.first = first;
        this.cpus = cpus;
        this.a = a;
        this.b = b;
    }

    /** Pages written after the divergence in this side only. */
    public static TreeSet<Long> only(final TreeSet<Long> mine, final TreeSet<Long> theirs)
    {
        final TreeSet<Long> s = new TreeSet<>(mine);
        s.removeAll(theirs);
        return s;
    }

    public static TraceDiff run(final Path traceA, final Path traceB)
    {
        return run(traceA, traceB, null);
    }

    /** As {@link #run(Path, Path)}, telling progress (may be null) the events read so far of A's pass, then of B's. */
    public static TraceDiff run(final Path traceA, final Path traceB, final java.util.function.LongConsumer progress)
    {
        final DivergenceBisect.Result first = DivergenceBisect.run(traceA, traceB);
        final long from = first.divergence == null ? Long.MAX_VALUE : first.divergence.index;
        final Side sa = new Side();
        final Side sb = new Side();
        final Streams ta = read(traceA, from, sa, progress);
        final Streams tb = read(traceB, from, sb, progress);
        final int n = Math.max(ta.count.length, tb.count.length);
        final CpuDiff[] cpus = new CpuDiff[n];
        for (int c = 0; c < n; c++)
        {
            cpus[c] = compare(c, ta, tb);
        }
        return new TraceDiff(first, cpus, sa, sb);
    }

    /** Per-cpu identity hashes and icounts of one trace. */
    private static final class Streams
    {
        long[][] ids = new long[0][];
        long[][] icounts = new long[0][];
        int[] count = new int[0];
        /** Events of the cpu before the first divergence: not kept (both traces have them). */
        long[] skipped = new long[0];

        private void grow(final int cpu)
        {
            if (cpu >= count.length)
            {
                ids = Arrays.copyOf(ids, cpu + 1);
                icounts = Arrays.copyOf(icounts, cpu + 1);
                count = Arrays.copyOf(count, cpu + 1);
                skipped = Arrays.copyOf(skipped, cpu + 1);
            }
        }

        void skip(final int cpu)
        {
            grow(cpu);
            skipped[cpu]++;
        }

        long skipped(final int cpu)
        {
            return cpu < skipped.length ? skipped[cpu] : 0;
        }

        void add(final int cpu, final long id, final long icount)
        {
            grow(cpu);
            if (ids[cpu] == null)
            {
                ids[cpu] = new long[1024];
                icounts[cpu] = new long[1024];
            }
            final int k = count[cpu];
            if (k >= MAX_PER_CPU)
            {
                return; // aligned over the first MAX_PER_CPU events of each cpu only
            }
            if (k == ids[cpu].length)
            {
                ids[cpu] = Arrays.copyOf(ids[cpu], k * 2);
                icounts[cpu] = Arrays.copyOf(icounts[cpu], k * 2);
            }
            ids[cpu][k] = id;
            icounts[cpu][k] = icount;
            count[cpu] = k + 1;
        }

        int count(final int cpu)
        {
            return cpu < count.length ? count[cpu] : 0;
        }

        /** The cpu's streams length as reported: skipped plus kept. */
        long total(final int cpu)
        {
            return skipped(cpu) + count(cpu);
        }
    }

    private static Streams read(final Path trace, final long from, final Side side, final java.util.function.LongConsumer progress)
    {
        final Streams s = new Streams();
        final Event e = new Event();
        try (TraceReader r = TraceReader.open(trace))
        {
            while (r.next(e))
            {
                if (progress != null && (e.index() & 0xffff) == 0)
                {
                    progress.accept(e.index());
                }
                // Devices (NICs) get their own stream next to the cpus.
                final int stream = EventKind.isDevice(e.cpu()) ? 64 + (e.cpu() & 0xff) : e.cpu();
                if (e.index() < from)
                {
                    s.skip(stream);
                }
                else
                {
                    s.add(stream, identity(e), e.icount());
                    side.events++;
                    side.kindCounts[e.kind()]++;
                    if (EventKind.isAccess(e.kind()) && EventKind.isWrite(e.kind()))
                    {
                        side.pagesWritten.add(e.paddr() >>> 12);
                    }
                    if (e.kind() != EventKind.NET_SEND && e.kind() != EventKind.NET_DELIVER)
                    {
                        side.pcs.add(e.pc());
                    }
                }
            }
        }
        return s;
    }

    /** Everything but index and icount, mixed into 64 bits. */
    static long identity(final Event e)
    {
        long h = e.kind() * 0x9E3779B97F4A7C15L;
        h = mix(h, e.pc());
        h = mix(h, e.vaddr());
        h = mix(h, e.paddr());
        h = mix(h, e.size());
        h = mix(h, e.value());
        h = mix(h, e.oldValue());
        h = mix(h, e.a());
        h = mix(h, e.b());
        h = mix(h, e.c());
        for (int i = 0; i < e.payloadLength(); i++)
        {
            h = mix(h, e.payload()[i]);
        }
        return h;
    }

    private static long mix(final long h, final long v)
    {
        long x = (h ^ v) * 0xff51afd7ed558ccdL;
        return x ^ (x >>> 33);
    }

    private static CpuDiff compare(final int cpu, final Streams ta, final Streams tb)
    {
        final int na = ta.count(cpu);
        final int nb = tb.count(cpu);
        final long[] ia = na == 0 ? new long[0] : ta.ids[cpu];
        final long[] ib = nb == 0 ? new long[0] : tb.ids[cpu];
        final long[] ca = na == 0 ? new long[0] : ta.icounts[cpu];
        final long[] cb = nb == 0 ? new long[0] : tb.icounts[cpu];
        int p = 0;
        while (p < na && p < nb && ia[p] == ib[p] && ca[p] == cb[p])
        {
            p++;
        }
        // Both traces hold the same events before the divergence: positions count them too.
        final long base = ta.skipped(cpu);
        final long totalA = ta.total(cpu);
        final long totalB = tb.total(cpu);
        if (p == na && p == nb)
        {
            return new CpuDiff(cpu, totalA, totalB, -1, 0, 0, -1, -1, 0, 0);
        }
        final long pia = p < na ? ca[p] : -1;
        final long pib = p < nb ? cb[p] : -1;
        // Reconvergence: index every window of B after p by its hash, then scan A's windows in order.
        final LongLongMap windows = new LongLongMap(Math.max(16, nb - p), -1);
        for (int j = p + 1; j + WINDOW <= nb; j++)
        {
            final long h = windowHash(ib, j);
            if (!windows.containsKey(h))
            {
                windows.put(h, j);
            }
        }
        for (int i = p + 1; i + WINDOW <= na; i++)
        {
            final int j = (int)windows.get(windowHash(ia, i));
            if (j >= 0 && Arrays.equals(ia, i, i + WINDOW, ib, j, j + WINDOW))
            {
                return new CpuDiff(cpu, totalA, totalB, base + p, pia, pib, base + i, base + j, ca[i], cb[j]);
            }
        }
        return new CpuDiff(cpu, totalA, totalB, base + p, pia, pib, -1, -1, 0, 0);
    }

    private static long windowHash(final long[] ids, final int from)
    {
        long h = 0;
        for (int k = from; k < from + WINDOW; k++)
        {
            h = mix(h, ids[k]);
        }
        return h == LongLongMap.EMPTY ? 0 : h; // the map's empty-slot key; equal windows are compared anyway
    }
}
