package palimpsest.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;
import palimpsest.trace.TempDirs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.input.InputSources;
import palimpsest.recorder.Recording;
import palimpsest.recorder.RecordingSummary;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.Replay;
import palimpsest.replayer.ReplayResult;
import palimpsest.replayer.state.StateIndex;
import palimpsest.replayer.state.TraceState;
import palimpsest.trace.DecodeAhead;
import palimpsest.trace.EventSink;
import palimpsest.trace.RawChronicleBench;
import palimpsest.trace.TraceFormat;

@Command(name = "bench", mixinStandardHelpOptions = true,
    header = "Measure recording, replay and query speed against their targets.",
    description = {"Measure, fastest of --repeat runs each: the emulator without recording, with recording, and Chronicle",
        "appending the same bytes raw; then replay of that recording, TraceState over it and `pal state` latency;",
        "print the figures, their ratios and the targets. Asserts nothing."})
final class BenchCommand implements Callable<Integer>
{
    /** Hardware scenarios, then kernel scenarios when they exist. */
    static final List<String> DEFAULT_SCENARIOS = List.of("ipi-pingpong", "net-echo", "tlb-stale", "boot", "word-count", "fork-cow",
        "lego-word-count", "lego-exec", "text-poke-scribble");

    static final double TARGET_EVENTS_PER_S = 5e6;
    static final double TARGET_COST = 1.5;
    static final double TARGET_BYTES_PER_EVENT = 4.0;

    private final Io io;

    @Option(names = "--scenario", paramLabel = "S", split = ",", description = "Scenarios to measure (default: "
        + "ipi-pingpong, net-echo, tlb-stale, and boot, word-count, fork-cow, lego-word-count, lego-exec, text-poke-scribble when they exist).")
    List<String> scenarios = new ArrayList<>();

    @Option(names = "--scale", description = "Instead: the long workload (word-count) at 1x, 10x and 100x length, each verb as a " +
        "child JVM: events/s, peak RSS, bytes/event, index size, query times, and whether time is linear and memory flat.")
    boolean scale;

    @Option(names = "--scale-base", paramLabel = "N", defaultValue = "25000",
        description = "Words of word-count's text for --scale, counted 1, 10 and 100 times (default: ${DEFAULT-VALUE}; 100x is then about 110 M events).")
    long scaleBase;

    @Option(names = "--index-events", paramLabel = "N", defaultValue = "10000000",
        description = "Events of the synthetic trace the who-wrote index is measured on (default: ${DEFAULT-VALUE}; 0 skips it).")
    long indexEvents;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "Seed of the seeded schedule (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "1",
        description = "Untimed runs (without recording, recording, replay) before measuring, to warm the JIT; a short scenario "
            + "gets more, up to 20, until 2 M events went through (default: ${DEFAULT-VALUE}; 0: none).")
    int warmup;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "3",
        description = "Timed runs of each (without recording, recording, replay); the fastest counts, as one run of a "
            + "fraction of a second on a shared machine says little; a run under 20 k events is timed more often, up to 20 "
            + "(default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--arg", paramLabel = "K=V", description = "Scenario argument given to every scenario measured that takes it "
        + "(e.g. rounds=20000 for a longer ipi-pingpong); repeatable.")
    java.util.Map<String, String> args = new java.util.LinkedHashMap<>();

    @Option(names = "--hunt-seeds", paramLabel = "N", defaultValue = "8",
        description = "Seeds of the pal hunt throughput row, run with --jobs 1 and --jobs 2 (default: ${DEFAULT-VALUE}; 0 skips it).")
    int huntSeeds;

    @Option(names = "--hunt-scenario", paramLabel = "S", description = "Scenario of the hunt row (default: "
        + HUNT_SCENARIO + " at " + HUNT_KERNEL + " when this pal has it, else the first scenario measured).")
    String huntScenario;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    BenchCommand(final Io io)
    {
        this.io = io;
    }

    record Row(String name, long instructions, long events, long nullNanos, long recNanos, double bytesPerEvent,
        double rawChunkRate, double rawEventRate, String outcome, Replayed replay, long messages, Packed packed,
        Encoder encoder)
    {
        double nullMessageRate()
        {
            return messages * 1e9 / Math.max(1, nullNanos);
        }

        double recMessageRate()
        {
            return messages * 1e9 / Math.max(1, recNanos);
        }

        double nullInstrRate()
        {
            return instructions * 1e9 / Math.max(1, nullNanos);
        }

        double nullEventRate()
        {
            return events * 1e9 / Math.max(1, nullNanos);
        }

        double recInstrRate()
        {
            return instructions * 1e9 / Math.max(1, recNanos);
        }

        double recEventRate()
        {
            return events * 1e9 / Math.max(1, recNanos);
        }

        double cost()
        {
            return recNanos / (double)Math.max(1, nullNanos);
        }
    }

    /**
     * The encoder thread of the fastest recording: its CPU time (-1 unknown), the batches handed to it
     * and how many handoffs waited for it (back-pressure).
     */
    record Encoder(long cpuNanos, long batches, long stalls)
    {
        /** Encoder CPU per event over the machine's own time per event without recording: the cost an idle second core allows at best. */
        double floor(final Row r)
        {
            return cpuNanos < 0 ? -1 : cpuNanos / (double)Math.max(1, r.nullNanos());
        }
    }

    /**
     * From the same recording: replay (re-execute and verify every event), TraceState rolling
     * forward over every event (decode + apply), and `pal state --at` on it (keyframes + apply).
     */
    record Replayed(long verified, long replayNanos, boolean verifiedAll, long stateEvents, long stateNanos, long stateAt,
        long stateLatencyNanos, double decodeNsPerEvent, double machineNsPerEvent)
    {
        double replayEventRate()
        {
            return verified * 1e9 / Math.max(1, replayNanos);
        }

        double stateEventRate()
        {
            return stateEvents * 1e9 / Math.max(1, stateNanos);
        }
    }

    @Override
    public Integer call() throws IOException, InterruptedException
    {
        if (scale)
        {
            Limits.atLeast("--scale-base", scaleBase, 1);
            return ScaleBench.run(io, scaleBase, plugins.catalog());
        }
        Limits.atLeast("--index-events", indexEvents, 0);
        Limits.atLeast("--warmup", warmup, 0);
        Limits.atLeast("--repeat", repeat, 1);
        final ScenarioCatalog catalog = plugins.catalog();
        final List<Scenario> todo = new ArrayList<>();
        if (scenarios.isEmpty())
        {
            for (final String n : DEFAULT_SCENARIOS)
            {
                final Scenario s = catalog.find(n);
                if (s != null)
                {
                    todo.add(s);
                }
            }
        }
        else
        {
            for (final String n : scenarios)
            {
                todo.add(plugins.scenario(n));
            }
        }
        if (todo.isEmpty())
        {
            throw new UserError("no scenario to measure");
        }
        checkArgs(todo);
        final Path work = TempDirs.create("pal-bench");
        final List<Row> rows = new ArrayList<>();
        try
        {
            for (final Scenario s : todo)
            {
                io.err.println("bench: " + s.name() + "...");
                rows.add(measure(s, work.resolve(s.name())));
            }
            print(rows);
            printPack(rows);
            if (indexEvents > 0)
            {
                io.err.println("bench: who-wrote index over " + Fmt.count(indexEvents) + " synthetic events...");
                io.out.print(WhoWroteBench.run(work.resolve("who-wrote"), indexEvents));
            }
            if (scenarios.isEmpty())
            {
                bisectRow(catalog);
            }
            if (huntSeeds > 0)
            {
                huntRow(catalog, todo.get(0), work.resolve("hunt"));
            }
        }
        finally
        {
            delete(work);
        }
        return 0;
    }

    /** The patch bisect the issue names: text-poke-scribble from v2.6.25 to v2.6.25-git2 (when this pal has it). */
    static final String BISECT_SCENARIO = "text-poke-scribble";
    static final String BISECT_GOOD = "v2.6.25";
    static final String BISECT_BAD = "v2.6.25-git2";

    private void bisectRow(final ScenarioCatalog catalog) throws IOException
    {
        final Scenario s = catalog.find(BISECT_SCENARIO);
        if (s == null)
        {
            io.out.println("patch bisect: not measured (this pal has no " + BISECT_SCENARIO + " scenario)");
            return;
        }
        io.err.println("bench: patch bisect of " + BISECT_SCENARIO + " " + BISECT_GOOD + ".." + BISECT_BAD + "...");
        final Path dir = TempDirs.create("pal-bench-bisect");
        try
        {
            final palimpsest.replayer.bisect.BisectResult r = new palimpsest.replayer.bisect.PatchBisect(s, catalog)
                .good(BISECT_GOOD).bad(BISECT_BAD).badTrace(dir.resolve("bad")).run();
            io.out.println(String.format(Locale.ROOT, "patch bisect: %s %s..%s: %d candidates, %d replays, %s wall (record + replays), first bad: %s",
                BISECT_SCENARIO, BISECT_GOOD, BISECT_BAD, r.candidates.size(), r.replays, Fmt.seconds(r.nanos),
                r.found() ? r.firstBad().name() : "(ambiguous: " + r.suspects.size() + " suspects)"));
            analyzeRow(dir.resolve("bad"), catalog);
            GdbBench.row(dir.resolve("bad"), catalog, io.out);
        }
        catch (final IllegalArgumentException e)
        {
            io.out.println("patch bisect: not measured: " + Main.firstLine(e.getMessage()));
        }
        finally
        {
            delete(dir);
        }
    }

    /**
     * pal analyze's throughput on one real trace (the bisect's bad run: it oopses, so the second
     * stages run too): every registered analyzer, one run, the who-wrote index built from scratch.
     */
    private void analyzeRow(final Path trace, final ScenarioCatalog catalog)
    {
        if (!Files.isDirectory(trace))
        {
            io.out.println("analyze: not measured (no trace)");
            return;
        }
        io.err.println("bench: analyze of " + BISECT_SCENARIO + " " + BISECT_BAD + "...");
        final palimpsest.trace.TraceHeader h;
        try (var r = palimpsest.trace.TraceReader.open(trace))
        {
            h = r.header();
        }
        final palimpsest.analyzers.core.Symbols symbols = palimpsest.analyzers.core.Symbols.of(h, catalog);
        // First run: the who-wrote index is built in the analysis pass; second run: the JIT warm, the index on disk.
        palimpsest.analyzers.whowrote.WhoWroteIndex.fileOf(trace).toFile().delete();
        final long t0 = System.nanoTime();
        final ThreadCpu.Measured<palimpsest.analyzers.Analysis.Result> first =
            ThreadCpu.measure(() -> palimpsest.analyzers.Analysis.run(trace, symbols, null));
        final palimpsest.analyzers.Analysis.Result a = first.result();
        final long nanos = System.nanoTime() - t0;
        final long t1 = System.nanoTime();
        final ThreadCpu.Measured<palimpsest.analyzers.Analysis.Result> again =
            ThreadCpu.measure(() -> palimpsest.analyzers.Analysis.run(trace, palimpsest.analyzers.core.Symbols.of(h, catalog), null));
        final long warm = System.nanoTime() - t1;
        final boolean met = a.events * 1e9 / Math.max(1, Math.min(nanos, warm)) >= ANALYZE_TARGET;
        io.out.println(String.format(Locale.ROOT, "analyze: %s %s: %s events in %s = %s events/s (again, index on disk: %s events/s; "
            + "target >= %s: %s), all %d analyzers (%s), one decode (the who-wrote index built in it), analyzers on %d thread(s), %d probe "
            + "pass(es) for the reports; %d finding(s)", BISECT_SCENARIO, BISECT_BAD, Fmt.count(a.events), Fmt.seconds(nanos),
            Fmt.count((long)(a.events * 1e9 / Math.max(1, nanos))), Fmt.count((long)(a.events * 1e9 / Math.max(1, warm))),
            Fmt.count(ANALYZE_TARGET), met ? "met" : "NOT met",
            a.analyzers.size(), String.join(", ", a.analyzers), a.threads, a.probePasses, a.findings.size()));
        final double budget = 1e9 / ANALYZE_TARGET;
        io.out.println(String.format(Locale.ROOT, "  why: cpu per event (first run / again): analysis thread %s / %s ns, decode thread "
            + "(decoding, the index build, %s) %s / %s ns; %s needs each thread <= %s ns/event on its own core%s", Fmt.fixed(first.perEvent("main", a.events), 1),
            Fmt.fixed(again.perEvent("main", a.events), 1), String.join(", ", palimpsest.analyzers.Analysis.decodeSide()),
            Fmt.fixed(first.perEvent("pal-decode-ahead", a.events), 1), Fmt.fixed(again.perEvent("pal-decode-ahead", a.events), 1),
            Fmt.count(ANALYZE_TARGET) + " events/s", Fmt.fixed(budget, 0),
            met ? "" : " (the analysis thread's time includes the probe pass and writing the index; the rest is in analyzers/README.md)"));
    }

    /** pal analyze's target: events/s with every analyzer on (issue 17). */
    static final long ANALYZE_TARGET = 10_000_000;

    /** The hunt row's default: a kernel oops on every chaos seed, so every run also keeps (moves) its trace. */
    static final String HUNT_SCENARIO = "text-poke-scribble";
    static final String HUNT_KERNEL = "v2.6.25-git2";

    /** pal hunt throughput: the same seeds with one local worker and with two, after one untimed warm-up run. */
    private void huntRow(final ScenarioCatalog catalog, final Scenario firstMeasured, final Path dir) throws InterruptedException
    {
        final Scenario s = huntScenario != null ? plugins.scenario(huntScenario) :
            !scenarios.isEmpty() || catalog.find(HUNT_SCENARIO) == null ? firstMeasured : catalog.find(HUNT_SCENARIO);
        final String kernel = s.usesKernel() ? (HUNT_SCENARIO.equals(s.name()) ? HUNT_KERNEL :
            palimpsest.kernel.patches.PatchSeries.DEFAULT_VERSION) : "";
        final palimpsest.emulator.MachineConfig c = s.defaultConfig();
        final palimpsest.hunt.HuntSpec spec = new palimpsest.hunt.HuntSpec(s.name(), c.nodes, c.cpusPerNode, c.memMiB, "chaos",
            kernel, List.of(), context(s).args());
        final palimpsest.hunt.SeedRange seeds = palimpsest.hunt.SeedRange.parse("1.." + huntSeeds);
        io.err.println("bench: pal hunt of " + spec.describe() + ", seeds " + seeds + ", --jobs 1 and 2...");
        hunt(spec, palimpsest.hunt.SeedRange.parse("0"), dir.resolve("warm"), 1);
        final palimpsest.hunt.HuntReport one = hunt(spec, seeds, dir.resolve("jobs1"), 1);
        final palimpsest.hunt.HuntReport two = hunt(spec, seeds, dir.resolve("jobs2"), 2);
        io.out.println(String.format(Locale.ROOT, "hunt: %s, seeds %s: --jobs 1 %s runs/s, --jobs 2 %s runs/s, ratio %sx " +
            "(%d of %d failed in %d group(s); same verdicts, groups and digests: %s; %d cores)",
            spec.describe(), seeds, Fmt.fixed(one.runsPerSecond(), 2), Fmt.fixed(two.runsPerSecond(), 2),
            Fmt.fixed(two.runsPerSecond() / Math.max(1e-9, one.runsPerSecond()), 2), one.failures(), one.entries.size(),
            one.groups.size(), one.entries.equals(two.entries) && one.groups.equals(two.groups) ? "yes" : "NO",
            Runtime.getRuntime().availableProcessors()));
    }

    private palimpsest.hunt.HuntReport hunt(final palimpsest.hunt.HuntSpec spec, final palimpsest.hunt.SeedRange seeds,
        final Path dir, final int jobs) throws InterruptedException
    {
        try (palimpsest.hunt.LocalRunner r = new palimpsest.hunt.LocalRunner(jobs, Thread.currentThread().getContextClassLoader(),
            dir.resolve(palimpsest.hunt.Campaign.WORK)))
        {
            return new palimpsest.hunt.Campaign(spec, seeds, dir).run(r);
        }
    }

    /** Events each path (no recording, recording, replay) sees in warm-ups at least, when --warmup is not 0. */
    static final long WARM_EVENTS = 2_000_000;
    static final int MAX_WARMUPS = 20;
    /** Runs shorter than this many events are timed up to MAX_SHORT_RUNS times (SHORT_RUN_EVENTS / events), not --repeat. */
    static final long SHORT_RUN_EVENTS = 20_000;
    static final int MAX_SHORT_RUNS = 20;

    private Row measure(final Scenario s, final Path dir)
    {
        // Warm the recording and replay paths too (encoder, writer, decoder, verifier), so the
        // record and replay figures compare like for like with the warm no-recording one. A short
        // run warms the JIT little (tlb-stale's 1.2 k events: replay/record 0.8x after one warm-up,
        // 1.35x after five), so short runs are warmed again until WARM_EVENTS have gone through.
        long warmed = 0;
        int warmRuns = 0;
        for (int i = 0; i < warmup || warmup > 0 && warmed < WARM_EVENTS && i < MAX_WARMUPS; i++)
        {
            warmRuns++;
            runWithoutRecording(s);
            final Path warm = dir.resolve("warm-" + i);
            warmed += new Recording(s).context(context(s)).schedule("seeded", seed).output(warm).run().events();
            new Replay(warm, plugins.catalog()).run();
            delete(warm);
        }
        // A run of a millisecond or less is mostly noise on a shared machine: the fastest of more runs.
        final long perRun = warmRuns == 0 ? Long.MAX_VALUE : warmed / warmRuns;
        final int runs = (int)Math.max(Math.max(1, repeat), Math.min(MAX_SHORT_RUNS, SHORT_RUN_EVENTS / Math.max(1, perRun)));
        long[] nul = null;
        for (int i = 0; i < runs; i++)
        {
            final long[] x = runWithoutRecording(s);
            nul = nul == null || x[0] < nul[0] ? x : nul;
        }
        RecordingSummary rec = null;
        Encoder encoder = null;
        for (int i = 0; i < runs; i++)
        {
            final Path out = dir.resolve("rec-" + i);
            final Recording recording = new Recording(s).context(context(s)).schedule("seeded", seed).output(out).measureEncoder(true);
            final RecordingSummary r = recording.run();
            if (rec == null || r.elapsedNanos() < rec.elapsedNanos())
            {
                encoder = new Encoder(recording.encoderCpuNanos(), recording.batches(), recording.batchStalls());
                if (rec != null)
                {
                    delete(rec.trace());
                }
                rec = r;
            }
            else
            {
                delete(out);
            }
        }
        final Path trace = rec.trace();
        double rawChunk = 0;
        double rawEvent = 0;
        final Chunk c = firstFullChunk(trace);
        if (c != null)
        {
            final long events = Math.max(rec.events(), c.count);
            rawChunk = RawChronicleBench.perChunkExcerpts(dir.resolve("raw-chunk"), c.bytes, TraceFormat.CHUNK_HEADER_LENGTH,
                c.length, c.count, events);
            rawEvent = RawChronicleBench.perEventExcerpts(dir.resolve("raw-event"), c.bytes, TraceFormat.CHUNK_HEADER_LENGTH,
                c.length, Math.max(1, Math.round(c.length / (float)Math.max(1, c.count))), Math.min(events, 2_000_000));
        }
        return new Row(s.name(), nul[1], rec.events(), nul[0], rec.elapsedNanos(), rec.bytesPerEvent(), rawChunk,
            rawEvent, rec.outcome().kind.name().toLowerCase(Locale.ROOT), replay(trace, rec.events(), runs), messages(trace),
            packed(trace, dir), encoder);
    }

    /** pal pack of one recording with each codec: file size, and pack / unpack speed over the excerpt bytes. */
    record Packed(long excerptBytes, long zstdBytes, long zstdNanos, long zstdUnpackNanos, long deflateBytes,
        long deflateNanos, long deflateUnpackNanos)
    {
        static double mbps(final long bytes, final long nanos)
        {
            return bytes / 1e6 / Math.max(1e-9, nanos / 1e9);
        }
    }

    private Packed packed(final Path trace, final Path dir)
    {
        final long[] z = packOnce(trace, dir, palimpsest.trace.TracePacker.Codec.ZSTD);
        final long[] d = packOnce(trace, dir, palimpsest.trace.TracePacker.Codec.DEFLATE);
        return new Packed(z[0], z[1], z[2], z[3], d[1], d[2], d[3]);
    }

    /** {excerpt bytes, pack file bytes, fastest pack nanos, fastest unpack nanos} over --repeat runs. */
    private long[] packOnce(final Path trace, final Path dir, final palimpsest.trace.TracePacker.Codec codec)
    {
        final Path file = dir.resolve("pack-" + codec);
        long packNanos = Long.MAX_VALUE;
        long unpackNanos = Long.MAX_VALUE;
        palimpsest.trace.TracePacker.Result r = null;
        for (int i = 0; i < Math.max(1, repeat); i++)
        {
            final long t0 = System.nanoTime();
            r = palimpsest.trace.TracePacker.pack(trace, file, codec);
            packNanos = Math.min(packNanos, System.nanoTime() - t0);
            final Path back = dir.resolve("unpack-" + codec + "-" + i);
            final long t1 = System.nanoTime();
            palimpsest.trace.TracePacker.unpack(file, back);
            unpackNanos = Math.min(unpackNanos, System.nanoTime() - t1);
            delete(back);
        }
        return new long[] {r.excerptBytes(), r.fileBytes(), packNanos, unpackNanos};
    }

    private void printPack(final List<Row> rows)
    {
        final StringBuilder b = new StringBuilder("\n");
        final String head = "%-19s %10s | %10s %8s %11s %11s | %10s %8s %11s %11s%n";
        b.append(String.format(Locale.ROOT, head, "scenario", "excerpts", "zstd", "ratio", "pack MB/s", "unpack MB/s",
            "deflate", "ratio", "pack MB/s", "unpack MB/s"));
        for (final Row r : rows)
        {
            final Packed p = r.packed();
            b.append(String.format(Locale.ROOT, head, r.name(), Fmt.si(p.excerptBytes()) + "B", Fmt.si(p.zstdBytes()) + "B",
                Fmt.fixed(p.excerptBytes() / (double)Math.max(1, p.zstdBytes()), 2) + "x",
                Fmt.fixed(Packed.mbps(p.excerptBytes(), p.zstdNanos()), 1), Fmt.fixed(Packed.mbps(p.excerptBytes(), p.zstdUnpackNanos()), 1),
                Fmt.si(p.deflateBytes()) + "B", Fmt.fixed(p.excerptBytes() / (double)Math.max(1, p.deflateBytes()), 2) + "x",
                Fmt.fixed(Packed.mbps(p.excerptBytes(), p.deflateNanos()), 1),
                Fmt.fixed(Packed.mbps(p.excerptBytes(), p.deflateUnpackNanos()), 1)));
        }
        b.append("columns: pal pack of the recording with zstd (the default, level 3) and with Deflate (pack version 1);\n");
        b.append("  ratio = excerpt bytes / pack file bytes; MB/s over the excerpt bytes, fastest of --repeat, unpack included.\n");
        io.out.print(b);
    }

    /** Network messages (NET_SEND events) of a recording. */
    private static long messages(final Path trace)
    {
        long n = 0;
        try (palimpsest.trace.TraceReader r = palimpsest.trace.TraceReader.open(trace))
        {
            final palimpsest.trace.Event e = new palimpsest.trace.Event();
            while (r.next(e))
            {
                if (e.kind() == palimpsest.trace.EventKind.NET_SEND)
                {
                    n++;
                }
            }
        }
        return n;
    }

    private Replayed replay(final Path trace, final long events, final int runs)
    {
        final ScenarioCatalog catalog = plugins.catalog();
        ReplayResult r = null;
        ThreadCpu.Measured<ReplayResult> cpu = null;
        for (int i = 0; i < runs; i++)
        {
            final ThreadCpu.Measured<ReplayResult> m = ThreadCpu.measure(() -> new Replay(trace, catalog).run());
            final ReplayResult x = m.result();
            if (r == null || x.nanos < r.nanos)
            {
                r = x;
                cpu = m;
            }
        }
        final TraceState st = TraceState.initial(trace, catalog);
        final long t0 = System.nanoTime();
        try (DecodeAhead reader = DecodeAhead.open(trace))
        {
            st.advanceTo(reader, Long.MAX_VALUE);
        }
        final long stateNanos = System.nanoTime() - t0;
        final long at = events * 3 / 4;
        final long t1 = System.nanoTime();
        StateIndex.open(trace, catalog).at(at);
        final long latency = System.nanoTime() - t1;
        return new Replayed(r.verified, r.nanos, r.divergence == null && r.verified == events, st.position(), stateNanos,
            at, latency, cpu.perEvent("pal-decode-ahead", r.verified), (cpu.of("machine") + cpu.of("main")) / (double)Math.max(1, r.verified));
    }

    /**
     * One --arg list serves every scenario measured: each gets the arguments it declares (all of them
     * when it declares none). An argument no measured scenario takes is refused up front.
     */
    private palimpsest.emulator.ScenarioContext context(final Scenario s)
    {
        final java.util.Map<String, String> mine = new java.util.LinkedHashMap<>();
        args.forEach((k, v) ->
        {
            if (takes(s, k))
            {
                mine.put(k, v);
            }
        });
        return new palimpsest.emulator.ScenarioContext(mine, "", List.of());
    }

    private static boolean takes(final Scenario s, final String arg)
    {
        final List<palimpsest.emulator.ScenarioArg> known = s.args();
        return known == null || known.stream().anyMatch(a -> a.name().equals(arg));
    }

    private void checkArgs(final List<Scenario> todo)
    {
        for (final String k : args.keySet())
        {
            if (todo.stream().noneMatch(s -> takes(s, k)))
            {
                throw new UserError("--arg " + k + ": no scenario measured takes it (see: pal scenarios --args)");
            }
        }
    }

    /** @return {nanos, instructions} of one run with events going nowhere. */
    private long[] runWithoutRecording(final Scenario s)
    {
        final Machine m = new Machine(s.defaultConfig(), EventSink.NULL, InputSources.create("seeded", seed));
        s.load(m, context(s));
        final long t0 = System.nanoTime();
        final Outcome o = m.run(s.maxInstructions());
        final long t = System.nanoTime() - t0;
        long instructions = 0;
        for (int i = 0; i < m.cpuCount(); i++)
        {
            instructions += m.core(i).icount();
        }
        if (o.kind == Outcome.Kind.INTERNAL_ERROR)
        {
            io.err.println("bench: " + s.name() + " ended with " + o);
        }
        return new long[] {t, instructions};
    }

    private record Chunk(byte[] bytes, int length, int count)
    {
    }

    /** The first chunk of the trace with the most events among its first few (a full one), read raw. */
    private static Chunk firstFullChunk(final Path trace)
    {
        Chunk best = null;
        try (ChronicleQueue q = ChronicleQueue.singleBuilder(trace.toFile()).readOnly(true).build())
        {
            final ExcerptTailer t = q.createTailer();
            for (int i = 0; i < 8; i++)
            {
                try (DocumentContext dc = t.readingDocument())
                {
                    if (!dc.isPresent())
                    {
                        break;
                    }
                    final Bytes<?> b = dc.wire().bytes();
                    final int len = (int)b.readRemaining();
                    if (len < TraceFormat.CHUNK_HEADER_LENGTH || b.readByte(b.readPosition()) != TraceFormat.RECORD_CHUNK)
                    {
                        continue;
                    }
                    final byte[] a = new byte[len];
                    b.read(a, 0, len);
                    // chunk header: u32 event count at 4, u32 payload length at 28 (little-endian)
                    final int count = le32(a, 4);
                    final int payload = le32(a, 28);
                    if (payload <= len - TraceFormat.CHUNK_HEADER_LENGTH && (best == null || count > best.count))
                    {
                        best = new Chunk(a, payload, count);
                    }
                }
            }
        }
        return best;
    }

    private static int le32(final byte[] a, final int p)
    {
        return (a[p] & 0xFF) | (a[p + 1] & 0xFF) << 8 | (a[p + 2] & 0xFF) << 16 | (a[p + 3] & 0xFF) << 24;
    }

    private void print(final List<Row> rows)
    {
        final StringBuilder b = new StringBuilder();
        final String head = "%-13s %11s %11s | %12s %12s | %12s %12s | %12s %12s | %7s %8s %9s%n";
        b.append(String.format(Locale.ROOT, head, "scenario", "instr", "events", "no-rec i/s", "no-rec ev/s",
            "rec i/s", "rec ev/s", "raw-chunk e/s", "raw-excpt e/s", "cost x", "rec/raw", "B/event"));
        for (final Row r : rows)
        {
            b.append(String.format(Locale.ROOT, head, r.name(), Fmt.si(r.instructions()), Fmt.si(r.events()),
                Fmt.si(r.nullInstrRate()), Fmt.si(r.nullEventRate()), Fmt.si(r.recInstrRate()), Fmt.si(r.recEventRate()),
                Fmt.si(r.rawChunkRate()), Fmt.si(r.rawEventRate()), Fmt.fixed(r.cost(), 2),
                r.rawChunkRate() > 0 ? Fmt.fixed(r.recEventRate() / r.rawChunkRate(), 2) : "-", Fmt.fixed(r.bytesPerEvent(), 2)));
        }
        b.append('\n');
        b.append("columns: no-rec = events to EventSink.NULL; rec = TraceWriter into a temp dir; raw-chunk = Chronicle appending\n");
        b.append("  the same chunk bytes, one excerpt per chunk; raw-excpt = one excerpt per event of the same size;\n");
        b.append("  cost x = recording time / no-recording time; rec/raw = our recording events/s / raw-chunk events/s.\n");
        b.append(String.format(Locale.ROOT, "targets: recording >= %s events/s, cost <= %.1fx, <= %.0f bytes/event%n",
            Fmt.si(TARGET_EVENTS_PER_S), TARGET_COST, TARGET_BYTES_PER_EVENT));
        for (final Row r : rows)
        {
            b.append(String.format(Locale.ROOT, "  %-13s rec %s events/s [%s]  cost %sx [%s]  %s bytes/event [%s]  (ended %s)%n", r.name(),
                Fmt.si(r.recEventRate()), r.recEventRate() >= TARGET_EVENTS_PER_S ? "met" : "MISSED",
                Fmt.fixed(r.cost(), 2), r.cost() <= TARGET_COST ? "met" : "MISSED",
                Fmt.fixed(r.bytesPerEvent(), 2), r.bytesPerEvent() <= TARGET_BYTES_PER_EVENT ? "met" : "MISSED", r.outcome()));
        }
        b.append("why (the recording's pipeline: the machine copies each event into a batch, the pal-encode-ahead thread\n");
        b.append("  encodes, digests and appends; with a free second core the cost is at least encoder time / machine time):\n");
        for (final Row r : rows)
        {
            final Encoder e = r.encoder();
            if (e == null || e.cpuNanos() < 0)
            {
                continue;
            }
            final double machine = r.nullNanos() / (double)Math.max(1, r.events());
            final double enc = e.cpuNanos() / (double)Math.max(1, r.events());
            final double floor = e.floor(r);
            b.append(String.format(Locale.ROOT, "  %-13s machine %s ns/event, encoder %s ns/event (cpu): floor %sx on an idle second core [%s], "
                + "about %sx with no free core; the machine waited for the encoder at %d of %d batch handoffs%s%n", r.name(),
                Fmt.fixed(machine, 1), Fmt.fixed(enc, 1), Fmt.fixed(floor, 2), floor <= TARGET_COST ? "1.5x reachable" :
                "1.5x needs the encoder <= " + Fmt.fixed(machine * TARGET_COST, 1) + " ns/event", Fmt.fixed(1 + floor, 2),
                e.stalls(), e.batches(), e.stalls() * 2 > e.batches() ? " (encoder-bound)" : ""));
        }
        b.append('\n');
        final String rhead = "%-19s %12s %12s %9s | %14s | %16s%n";
        b.append(String.format(Locale.ROOT, rhead, "scenario", "replay ev/s", "rec ev/s", "replay/rec", "state-apply e/s",
            "state --at ms"));
        for (final Row r : rows)
        {
            final Replayed p = r.replay();
            b.append(String.format(Locale.ROOT, rhead, r.name(), Fmt.si(p.replayEventRate()), Fmt.si(r.recEventRate()),
                Fmt.fixed(p.replayEventRate() / Math.max(1e-9, r.recEventRate()), 2), Fmt.si(p.stateEventRate()),
                Fmt.fixed(p.stateLatencyNanos() / 1e6, 1) + " @" + Fmt.si(p.stateAt())));
        }
        b.append("columns: replay = pal replay of that recording (re-execute, compare every event); state-apply = TraceState\n");
        b.append("  decoding and applying every event (no re-execution); state --at = StateIndex: nearest keyframe + events.\n");
        b.append("target: replay at least as fast as record (events/s)\n");
        for (final Row r : rows)
        {
            final Replayed p = r.replay();
            b.append(String.format(Locale.ROOT, "  %-19s replay %s events/s vs record %s = %sx [%s, target >= 1.00x]%s%n", r.name(),
                Fmt.si(p.replayEventRate()), Fmt.si(r.recEventRate()),
                Fmt.fixed(p.replayEventRate() / Math.max(1e-9, r.recEventRate()), 2),
                p.replayEventRate() >= r.recEventRate() ? "met" : "MISSED",
                p.verifiedAll() ? "" : "  (replay did NOT verify every event: " + p.verified() + " of " + r.events() + ")"));
        }
        b.append("why (replay's pipeline: the pal-decode-ahead thread decodes the recording, the machine re-executes and compares;\n");
        b.append("  with a free second core replay runs at the slower of the two, record at the slower of machine and encoder):\n");
        for (final Row r : rows)
        {
            final Replayed p = r.replay();
            if (p.decodeNsPerEvent() <= 0)
            {
                continue;
            }
            final Encoder e = r.encoder();
            final double enc = e == null || e.cpuNanos() < 0 ? -1 : e.cpuNanos() / (double)Math.max(1, r.events());
            final boolean decodeBound = p.decodeNsPerEvent() >= p.machineNsPerEvent();
            b.append(String.format(Locale.ROOT, "  %-19s decode %s ns/event, machine + compare %s ns/event (cpu): %s-bound%s%n", r.name(),
                Fmt.fixed(p.decodeNsPerEvent(), 1), Fmt.fixed(p.machineNsPerEvent(), 1), decodeBound ? "decode" : "machine",
                enc < 0 ? "" : "; the recording's encoder took " + Fmt.fixed(enc, 1) + " ns/event" + (decodeBound && p.decodeNsPerEvent() > enc ?
                    " (decoding costs more than encoding: replay >= record needs the decoder <= the encoder)" : "")));
        }
        boolean net = false;
        for (final Row r : rows)
        {
            net |= r.messages() > 0;
        }
        if (net)
        {
            b.append('\n');
            final String nhead = "%-19s %10s %14s %14s %12s%n";
            b.append(String.format(Locale.ROOT, nhead, "scenario", "messages", "no-rec msg/s", "rec msg/s", "events/msg"));
            for (final Row r : rows)
            {
                if (r.messages() > 0)
                {
                    b.append(String.format(Locale.ROOT, nhead, r.name(), Fmt.count(r.messages()), Fmt.si(r.nullMessageRate()),
                        Fmt.si(r.recMessageRate()), Fmt.si((double)r.events() / r.messages())));
                }
            }
            b.append("columns: messages = frames sent over the fabric (NET_SEND); msg/s over host time of the run.\n");
        }
        io.out.print(b);
    }

    private static void delete(final Path dir)
    {
        TempDirs.delete(dir);
    }
}
