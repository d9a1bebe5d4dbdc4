package palimpsest.cli;

import java.nio.file.Path;
import java.util.Locale;

import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.trace.SyntheticTrace;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceWriter;

/**
 * The who-wrote rows of {@code pal bench}: a synthetic trace of N events (the trace-format's
 * generator: realistic mix of loads, stores, marks on 4 cpus), the index built over it (events/s
 * of the whole pass: decode + index + write), then queries: the first one opens the file (mmap and
 * checksum), the next ones are timed one by one over pages spread through the index.
 */
final class WhoWroteBench
{
    static final double TARGET_BUILD_EVENTS_PER_S = 20e6;
    static final double TARGET_QUERY_MS = 10;

    private WhoWroteBench()
    {
    }

    static String run(final Path dir, final long events)
    {
        try (TraceWriter w = TraceWriter.create(dir, TraceHeader.builder().machine(1, 4, 128).scenario("synthetic").schedule("seeded", 1).build()))
        {
            new SyntheticTrace(1, 4).generate(w, events);
        }
        long d0 = System.nanoTime();
        long decoded = 0;
        try (palimpsest.trace.TraceReader r = palimpsest.trace.TraceReader.open(dir))
        {
            final palimpsest.trace.Event e = new palimpsest.trace.Event();
            while (r.next(e))
            {
                decoded++;
            }
        }
        final double decodeRate = decoded / ((System.nanoTime() - d0) / 1e9);
        final ThreadCpu.Measured<WhoWroteIndex.BuildStats> cpu = ThreadCpu.measure(() ->
            WhoWroteIndex.build(dir, WhoWroteIndex.fileOf(dir), WhoWroteIndex.fingerprint(dir), null));
        final WhoWroteIndex.BuildStats b = cpu.result();
        final double buildRate = b.events / (b.nanos / 1e9);
        long t0 = System.nanoTime();
        final WhoWroteIndex idx = WhoWroteIndex.openOrBuild(dir, null);
        idx.writers(0x100000, 8, Long.MAX_VALUE, false);
        final double firstMs = (System.nanoTime() - t0) / 1e6;
        double worstMs = 0;
        double totalMs = 0;
        final int queries = 1000;
        long found = 0;
        for (int i = 0; i < queries; i++)
        {
            final long addr = idx.pageAddress((int)((i * 7919L) % idx.pages())) + ((i * 104729L) & 0xff8);
            t0 = System.nanoTime();
            found += idx.writers(addr, 8, Long.MAX_VALUE, i % 10 == 0).size();
            final double ms = (System.nanoTime() - t0) / 1e6;
            worstMs = Math.max(worstMs, ms);
            totalMs += ms;
        }
        final double decoders = (cpu.of("pal-decode-ahead") + cpu.of("pal-decode-ahead-")) / (double)Math.max(1, b.events);
        final double consumer = cpu.perEvent("main", b.events);
        final double budget = 1e9 / TARGET_BUILD_EVENTS_PER_S;
        final String why = String.format(Locale.ROOT, "  why: cpu per event: decoding %s ns (on %d thread(s)), indexing and writing %s ns; "
                + "%s events/s on %d cores needs decoding + indexing <= %s ns/event in all%s%n", Fmt.fixed(decoders, 1),
            palimpsest.trace.DecodeAhead.PARALLEL, Fmt.fixed(consumer, 1), Fmt.si(TARGET_BUILD_EVENTS_PER_S),
            Runtime.getRuntime().availableProcessors(), Fmt.fixed(budget * Runtime.getRuntime().availableProcessors(), 0),
            buildRate >= TARGET_BUILD_EVENTS_PER_S ? "" : decoders > consumer ? " (decoding is most of it: trace-format's decoder)" : " (indexing is most of it)");
        return String.format(Locale.ROOT, "%nwho-wrote index: %s events (%s writes) built at %s events/s [%s, target >= %s]"
                + " (decoding alone: %s events/s, build/decode %.2f)%n%s"
                + "  first query (open, checksum, query) %.1f ms; %d queries: mean %.3f ms, worst %.3f ms [%s, target < %.0f ms] (%d writes found)%n",
            Fmt.count(b.events), Fmt.count(b.writes), Fmt.si(buildRate), buildRate >= TARGET_BUILD_EVENTS_PER_S ? "met" : "MISSED",
            Fmt.si(TARGET_BUILD_EVENTS_PER_S), Fmt.si(decodeRate), buildRate / decodeRate, why, firstMs, queries, totalMs / queries, worstMs,
            Math.max(firstMs, worstMs) < TARGET_QUERY_MS ? "met" : "MISSED", TARGET_QUERY_MS, found);
    }
}
