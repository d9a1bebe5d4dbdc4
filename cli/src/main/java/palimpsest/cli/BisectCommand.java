package palimpsest.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import palimpsest.analyzers.invariants.Invariant;
import palimpsest.analyzers.invariants.InvariantBisect;
import palimpsest.analyzers.invariants.Invariants;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.input.InputSources;
import palimpsest.kernel.patches.Patch;
import palimpsest.replayer.bisect.BisectResult;
import palimpsest.replayer.bisect.BisectStep;
import palimpsest.replayer.bisect.DivergenceBisect;
import palimpsest.replayer.bisect.PatchBisect;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TempDirs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "bisect", mixinStandardHelpOptions = true,
    header = "Find the first divergent event, the first bad patch or the first broken invariant.",
    description = {"Find where things first went wrong. Three forms:",
        "  pal bisect --scenario S --good V1 --bad V2 [--seed N] [--seeds K] [--arg K=V]... [-o DIR]",
        "      first bad patch between two kernel versions: records the bad run once (per seed), checks that",
        "      it is bad and that the good version replayed over it is good (else exit 2 naming the wrong end),",
        "      then replays its inputs under each candidate kernel; prints the first bad patch and a",
        "      git-bisect-log account. Exit 0 when one patch is named, 1 when skipped candidates leave several.",
        "  pal bisect --scenario S --fixed-in V2 --broken-in V1   (or --first-fix --good V2 --bad V1)",
        "      the first patch that fixes the scenario (git's --term-old=broken --term-new=fixed).",
        "  pal bisect --good TRACE_A --bad TRACE_B",
        "      first event where two recorded runs part (chunk digests skip the agreeing stretch).",
        "      Exit 0 when they hold the same events, 1 with the divergence.",
        "  pal bisect TRACE --invariant NAME [--linear]",
        "      first event at which a kernel invariant fails (see pal bisect --list-invariants): binary search",
        "      over the keyframes, then a linear pass from the one before the first failing keyframe; then the",
        "      later writes to the same bytes. Exit 1 with the write that breaks it, 0 if it holds."})
final class BisectCommand implements Callable<Integer>
{
    private final Io io;

    @Parameters(index = "0", arity = "0..1", paramLabel = "TRACE", description = "Trace to check (with --invariant).")
    Path trace;

    @Option(names = "--scenario", paramLabel = "S", description = "Patch bisect: the scenario whose verdict judges each kernel.")
    String scenarioName;

    @Option(names = "--good", paramLabel = "V|TRACE", description = "The good kernel version (patch bisect) or trace.")
    String good;

    @Option(names = "--bad", paramLabel = "V|TRACE", description = "The bad kernel version (patch bisect) or trace.")
    String bad;

    @Option(names = "--list-invariants", description = "List the invariants --invariant takes (built in and from --plugin jars), then exit.")
    boolean listInvariants;

    @Option(names = "--first-fix", description = "Patch bisect: find the first patch that fixes the scenario " +
        "(--good is the newer, fixed version, --bad the older, broken one).")
    boolean firstFix;

    @Option(names = "--fixed-in", paramLabel = "V2", description = "First-fix bisect: a version where the scenario is good.")
    String fixedIn;

    @Option(names = "--broken-in", paramLabel = "V1", description = "First-fix bisect: an older version where it is bad.")
    String brokenIn;

    @Option(names = "--seeds", paramLabel = "K", defaultValue = "1",
        description = "Patch bisect: judge each candidate over K recorded schedules, seeds N..N+K-1 " +
            "(bad if any is bad; default: ${DEFAULT-VALUE}).")
    int seeds;

    @Option(names = "--jobs", paramLabel = "J",
        description = "Patch bisect: run the K seeds of each step on J local workers at once; the result is the same " +
            "as with --jobs 1 (default: the core count, no more than K or the heap holds).")
    Integer jobs;

    @Option(names = "--invariant", paramLabel = "NAME", description = "Invariant bisect: the invariant to check (slab-poison, dcache-hash, page-tables, kernel-text, " +
        "or a plugin's; see --list-invariants).")
    String invariant;

    @Option(names = "--linear", description = "Invariant bisect: no keyframe search, check every write from event 0 " +
        "(slower; shows an invariant holds throughout, not only at keyframes and after the last one).")
    boolean linear;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Seed of the recorded bad run (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--schedule", paramLabel = "KIND", defaultValue = "seeded",
        description = "Schedule of the recorded bad run: free, seeded or chaos (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--arg", paramLabel = "K=V", description = "Scenario argument; repeatable.")
    Map<String, String> args = new LinkedHashMap<>();

    @Option(names = "--cpus", paramLabel = "N", description = "CPUs (default: the scenario's).")
    Integer cpus;

    @Option(names = "--mem", paramLabel = "MiB", description = "RAM in MiB (default: the scenario's).")
    Integer mem;

    @Option(names = {"-o", "--output"}, paramLabel = "DIR",
        description = "Keep the recorded bad run here (default: a temporary directory, removed after).")
    Path output;

    @Option(names = "--force", description = "Overwrite a non-empty output directory.")
    boolean force;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    BisectCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        if (listInvariants)
        {
            plugins.catalog(); // plugin jars' invariants come in through the context class loader
            for (final Invariant i : Invariants.load().all())
            {
                io.out.println(String.format("%-14s %s", i.name(), i.description()));
            }
            return 0;
        }
        if (scenarioName != null)
        {
            termsFromFixOptions();
            if (trace != null)
            {
                throw new UserError("a patch bisect takes no TRACE: it records its own (see: pal bisect --help)");
            }
            return patchBisect();
        }
        if (invariant != null)
        {
            if (trace == null)
            {
                throw new UserError("an invariant bisect needs the TRACE to check (pal bisect TRACE --invariant NAME)");
            }
            return invariantBisect();
        }
        if (good != null || bad != null)
        {
            if (good == null || bad == null)
            {
                throw new UserError("pal bisect needs both --good and --bad (see: pal bisect --help)");
            }
            return divergenceBisect(Path.of(good), Path.of(bad));
        }
        throw new UserError("pal bisect needs --scenario S --good V1 --bad V2, or --good TRACE_A --bad TRACE_B" +
            " (see: pal bisect --help)");
    }

    /** --fixed-in / --broken-in are --first-fix with --good / --bad. */
    private void termsFromFixOptions()
    {
        if (fixedIn == null && brokenIn == null)
        {
            return;
        }
        if (fixedIn == null || brokenIn == null)
        {
            throw new UserError("a first-fix bisect needs both --fixed-in V2 and --broken-in V1");
        }
        if (good != null || bad != null)
        {
            throw new UserError("give either --fixed-in/--broken-in or --good/--bad, not both");
        }
        firstFix = true;
        good = fixedIn;
        bad = brokenIn;
    }

    private int patchBisect()
    {
        if (good == null || bad == null)
        {
            throw new UserError("a patch bisect needs --good V1 and --bad V2 (kernel versions)");
        }
        final Scenario scenario = plugins.scenario(scenarioName);
        if (!List.of(InputSources.KINDS).contains(schedule))
        {
            throw new UserError("unknown schedule '" + schedule + "' (free, seeded or chaos)");
        }
        final MachineConfig d = scenario.defaultConfig();
        final MachineConfig config = new MachineConfig(d.nodes, cpus != null ? cpus : d.cpusPerNode, mem != null ? mem : d.memMiB);
        if (jobs != null && jobs < 1)
        {
            throw new UserError("--jobs must be at least 1, got " + jobs);
        }
        final int workers = jobs != null ? jobs : defaultJobs(config);
        final Path dir;
        final boolean temporary = output == null;
        try
        {
            dir = temporary ? TempDirs.create("pal-bisect-") : output;
        }
        catch (final IOException e)
        {
            throw new UserError("cannot create a temporary directory: " + e.getMessage());
        }
        if (!temporary)
        {
            RecordCommand.prepareOutput(dir, force);
        }
        final PatchBisect bisect = new PatchBisect(scenario, plugins.catalog())
            .good(good).bad(bad).firstFix(firstFix).args(args).config(config).schedule(schedule, seed).seeds(seeds)
            .jobs(workers).badTrace(dir).listener(this::progress);
        final BisectResult r;
        try
        {
            final int n = bisect.candidates().size();
            io.err.println("bisect: " + n + " patches between " + (firstFix ? bad + " and " + good : good + " and " + bad) +
                (firstFix ? " (first fix)" : "") + "; recording " + scenarioName + " at " + bad + " (" + schedule +
                (seeds == 1 ? " seed " + seed : " seeds " + seed + ".." + (seed + seeds - 1)) + ")" +
                (bisect.workers() > 1 ? " on " + bisect.workers() + " workers" : ""));
            r = bisect.run();
        }
        finally
        {
            if (temporary)
            {
                TempDirs.delete(dir);
            }
        }
        final PrintStream out = io.out;
        if (r.found())
        {
            final Patch p = r.firstBad();
            out.println((firstFix ? "first fixing patch: " : "first bad patch: ") + p.name() + " \"" + p.description() + "\"");
        }
        else
        {
            final String what = firstFix ? "fixing" : "bad";
            out.println("cannot name one first " + what + " patch: the candidates between the last " + r.oldTerm() +
                " and the first " + r.newTerm() + " were all skipped;");
            out.println("the first " + what + " patch is one of:");
            for (final Patch p : r.suspects)
            {
                out.println("  " + p.name() + " \"" + p.description() + "\"");
            }
        }
        out.println("  " + r.candidates.size() + " candidates, " + r.replays + " replays of the recorded bad run" +
            (r.seeds.size() > 1 ? "s (" + r.seeds.size() + " seeds, " : " (") +
            Fmt.count(r.badTraceEvents) + " events), " + Fmt.seconds(r.nanos) +
            (temporary ? "" : "; the bad run is in " + r.badTrace));
        out.println();
        out.print(r.log());
        return r.found() ? 0 : 1;
    }

    /**
     * One worker per core, but no more than the heap holds: each machine keeps its RAM on the heap
     * (allow twice that per run for the rest of the machine and the trace writer).
     */
    private static int defaultJobs(final MachineConfig config)
    {
        final long perRun = 2L * config.nodes * config.memMiB << 20;
        final long fit = Math.max(1, Runtime.getRuntime().maxMemory() / Math.max(1, perRun));
        return (int)Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), fit));
    }

    private void progress(final BisectStep s, final int left)
    {
        final String seedsSaid = s.seedSummary();
        io.err.println("bisect: " + s.label + " [" + s.name() + "] " + s.term() + (s.recorded ? ", recorded" : "") +
            " (" + Fmt.seconds(s.nanos) + "): " + (seedsSaid.isEmpty() ? "" : seedsSaid + "; ") + s.message + "; " + left +
            " untested candidate(s) left between the bounds");
    }

    private int divergenceBisect(final Path a, final Path b)
    {
        final TraceHeader h;
        try (TraceReader ra = DumpCommand.open(a); TraceReader rb = DumpCommand.open(b))
        {
            h = ra.header();
        }
        final DivergenceBisect.Result r = DivergenceBisect.run(a, b);
        final PrintStream out = io.out;
        if (r.divergence == null)
        {
            out.println("no divergence: " + a + " and " + b + " hold the same " + Fmt.count(r.agreeing) + " events");
            return 0;
        }
        out.println("the runs diverge at event #" + r.divergence.index + " (" + Fmt.count(r.agreeing) +
            " events agree; " + r.chunksSkipped + " agreeing chunks skipped by digest in " + r.probes +
            " probes, " + Fmt.count(r.eventsCompared) + " events compared)");
        DivergenceReport.print(out, r.divergence, DumpCommand.symbolizer(plugins, h), "good", "bad");
        return 1;
    }

    private int invariantBisect()
    {
        final Invariants all = Invariants.load();
        final Invariant inv = all.find(invariant);
        if (inv == null)
        {
            throw new UserError("unknown invariant '" + invariant + "'; known: " + String.join(", ", all.names()));
        }
        try (TraceReader r = DumpCommand.open(trace))
        {
            plugins.scenario(r.header().scenario());
        }
        final InvariantBisect.Result r;
        try
        {
            r = InvariantBisect.run(trace, plugins.catalog(), inv, linear);
        }
        catch (final IllegalArgumentException e)
        {
            throw new UserError(Main.firstLine(e.getMessage()));
        }
        final PrintStream out = io.out;
        final String how = (r.keyframes < 0 ? "linear pass over every write" : Fmt.count(r.keyframes) + " keyframes, " +
            r.keyframeChecks + " states checked by binary search; linear pass from event #" + r.linearFrom) + ": " +
            Fmt.count(r.checks) + " write(s) checked";
        if (r.keyframeNote != null)
        {
            io.err.println("pal: " + r.keyframeNote);
        }
        if (r.event == null)
        {
            out.println("invariant " + inv.name() + (r.keyframes < 0 ? " holds throughout " : " holds at every keyframe of ") +
                trace + " and after every checked write (" + Fmt.count(r.traceEvents) + " events; " + how + ")");
            return 0;
        }
        final palimpsest.trace.EventFormatter fmt = new palimpsest.trace.EventFormatter(pc -> r.machine.code().symbolize(pc),
            DumpCommand.interruptSources());
        out.println("invariant " + inv.name() + " first fails at event #" + r.event.index() + " (" + how + ")");
        out.println("  " + r.violation);
        out.println("  cpu " + r.event.cpu() + ", icount " + r.event.icount() + ", pc " + r.machine.symbolizeOrHex(r.event.pc()));
        out.println("  the write: " + fmt.format(r.event));
        out.println("  call chain: " + chain(r, r.chain));
        if (!r.history.isEmpty())
        {
            out.println("the page " + Long.toHexString(r.event.paddr() & ~0xfffL) + " before the write (oldest first):");
            for (final InvariantBisect.PageEvent h : r.history)
            {
                out.println("  #" + h.event.index() + " cpu" + h.event.cpu() + " " + h.what + " by " + chain(r, h.chain));
            }
        }
        if (r.later.isEmpty())
        {
            out.println("no later write to those bytes up to the end of the trace (" + Fmt.count(r.traceEvents) + " events)");
        }
        else
        {
            out.println("later writes to those bytes, up to the end of the trace (" + Fmt.count(r.traceEvents) + " events):");
            for (final InvariantBisect.Write w : r.later)
            {
                out.println("  " + fmt.format(w.event));
                out.println("    call chain: " + chain(r, w.chain));
            }
        }
        return 1;
    }

    private static String chain(final InvariantBisect.Result r, final List<Long> frames)
    {
        if (frames.isEmpty())
        {
            return "(none)";
        }
        final StringBuilder sb = new StringBuilder();
        for (final long pc : frames)
        {
            if (sb.length() > 0)
            {
                sb.append(" <- ");
            }
            sb.append(r.machine.symbolizeOrHex(pc));
        }
        return sb.toString();
    }

}
