package palimpsest.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.hunt.Campaign;
import palimpsest.hunt.HuntReport;
import palimpsest.hunt.HuntSpec;
import palimpsest.hunt.LocalRunner;
import palimpsest.hunt.Manifest;
import palimpsest.hunt.Runner;
import palimpsest.hunt.SeedRange;
import palimpsest.hunt.cluster.ClusterAddresses;
import palimpsest.hunt.cluster.ClusterRunner;
import palimpsest.recorder.Recording;
import palimpsest.recorder.ScenarioCatalog;

@Command(name = "hunt", mixinStandardHelpOptions = true,
    header = "Record a scenario under a range of seeds and group the failures by signature.",
    description = {"Record a scenario under every seed of a range, keep the traces of the",
        "failing runs and group the failures by signature (oops function and verdict",
        "class, addresses and numbers normalised). Runs on --jobs local workers, or",
        "with --cluster on 'pal worker' members; the result is the same either way."},
    footer = {"", "DIR holds hunt.spec, manifest.tsv (one line per finished seed) and",
        "traces/seed-N for each failure.",
        "Exit status: 0 when every run was good, 1 when some failed, 2 bad input."})
final class HuntCommand implements Callable<Integer>
{
    private final Io io;

    @Option(names = "--scenario", paramLabel = "S", description = "Scenario to run (see: pal scenarios).")
    String scenarioName;

    @Option(names = "--seeds", paramLabel = "A..B", description = "Seeds to run: A..B, N, or a comma list of both.")
    String seeds;

    @Option(names = {"-o", "--output"}, paramLabel = "DIR",
        description = "Campaign directory to create (must not exist or be empty; default: runs/hunt-SCENARIO).")
    Path output;

    @Option(names = "--resume", paramLabel = "DIR",
        description = "Continue the campaign in DIR: its spec, and only the seeds not in its manifest (--seeds may widen the range).")
    Path resume;

    @Option(names = "--schedule", paramLabel = "KIND", defaultValue = "seeded",
        description = "seeded or chaos (free works but is not reproducible from the seed) (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--jobs", paramLabel = "J",
        description = "Local workers (default: the number of cores, fewer if the heap cannot hold that many machines).")
    Integer jobs;

    @Option(names = "--cluster", paramLabel = "HOST:PORT,...",
        description = "Run on the Hazelcast cluster of 'pal worker' members at these addresses instead of locally.")
    String cluster;

    @Option(names = "--name", paramLabel = "NAME", defaultValue = palimpsest.hunt.cluster.Hazelcasts.CLUSTER_NAME,
        description = "With --cluster: the cluster's name (pal worker --name) (default: ${DEFAULT-VALUE}).")
    String clusterName;

    @Option(names = "--connect-timeout", paramLabel = "SECONDS", defaultValue = "10",
        description = "How long to try reaching --cluster (default: ${DEFAULT-VALUE}).")
    double connectTimeout;

    @Option(names = "--analyze", description = "Run pal analyze over each group's first trace and print its first finding under the group.")
    boolean analyze;

    @Mixin
    RunOptions run = new RunOptions();

    @Mixin
    PluginOptions plugins = new PluginOptions();

    HuntCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call() throws InterruptedException
    {
        final Path dir;
        final HuntSpec spec;
        final SeedRange range;
        if (resume != null)
        {
            if (output != null && !output.equals(resume))
            {
                throw new UserError("--resume DIR continues the campaign in DIR: leave out -o");
            }
            dir = resume;
            final HuntSpec.Saved saved = HuntSpec.read(dir);
            spec = saved.spec();
            checkSame(spec);
            range = seeds != null ? SeedRange.parse(seeds) : saved.seeds();
            validate(plugins.scenario(spec.scenario()), spec);
        }
        else
        {
            if (scenarioName == null || seeds == null)
            {
                throw new UserError("pal hunt needs --scenario S and --seeds A..B (or --resume DIR)");
            }
            if (output == null)
            {
                output = java.nio.file.Paths.get("runs", "hunt-" + scenarioName);
            }
            range = SeedRange.parse(seeds);
            final Scenario scenario = plugins.scenario(scenarioName);
            spec = spec(scenario);
            validate(scenario, spec);
            if (HuntSpec.exists(output))
            {
                throw new UserError(output + " holds a campaign already (continue it with: pal hunt --resume " + output + ")");
            }
            RecordCommand.prepareOutput(output, false);
            dir = output;
        }
        final Campaign campaign = new Campaign(spec, range, dir);
        final HuntReport report;
        try (Runner runner = runner(dir, spec))
        {
            final Progress progress = HuntProgress.of(io, spec.scenario(), campaign);
            final Thread stopped = new Thread(() -> io.err.println(
                "\npal: hunt stopped with " + campaign.done() + " of " + campaign.total() + " seeds in " +
                    dir.resolve(Manifest.FILE) + "; continue with: pal hunt --resume " + dir));
            Runtime.getRuntime().addShutdownHook(stopped);
            progress.start();
            try
            {
                report = campaign.run(runner);
            }
            catch (final IllegalArgumentException e)
            {
                throw campaign.done() == 0 ? e : new UserError(Main.firstLine(e.getMessage()) + "; " + campaign.done() + " of " +
                    campaign.total() + " seeds are in " + dir.resolve(Manifest.FILE) + " (continue with: pal hunt --resume " + dir + ")");
            }
            finally
            {
                progress.stop();
                removeHook(stopped);
            }
        }
        print(report);
        return report.failures() == 0 ? 0 : 1;
    }

    private static void removeHook(final Thread hook)
    {
        try
        {
            Runtime.getRuntime().removeShutdownHook(hook);
        }
        catch (final IllegalStateException ignored)
        {
            // the JVM is already going down: the hook says where the campaign stands
        }
    }

    private Runner runner(final Path dir, final HuntSpec spec)
    {
        if (cluster != null)
        {
            if (jobs != null)
            {
                throw new UserError("--jobs is for local runs; each 'pal worker' has its own --jobs");
            }
            final List<String> addresses = ClusterAddresses.parse("--cluster", cluster);
            return ClusterRunner.connect(clusterName, addresses, (long)(connectTimeout * 1000));
        }
        final int j = jobs != null ? jobs : LocalRunner.defaultJobs(spec);
        if (j < 1 || j > 1024)
        {
            throw new UserError("--jobs must be 1..1024, got " + j);
        }
        return new LocalRunner(j, Thread.currentThread().getContextClassLoader(), dir.resolve(Campaign.WORK));
    }

    private HuntSpec spec(final Scenario scenario)
    {
        run.check(scenario, schedule);
        final MachineConfig c = run.config(scenario);
        return new HuntSpec(scenario.name(), c.nodes, c.cpusPerNode, c.memMiB, schedule, run.version(scenario), run.patches,
            run.args);
    }

    /** Options given with --resume must agree with the campaign's spec (a different spec is a different campaign). */
    private void checkSame(final HuntSpec saved)
    {
        final List<String> differ = new ArrayList<>();
        if (scenarioName != null && !scenarioName.equals(saved.scenario()))
        {
            differ.add("--scenario");
        }
        if (run.kernel != null && !run.kernel.equals(saved.kernel()))
        {
            differ.add("--kernel");
        }
        if (!run.patches.isEmpty() && !run.patches.equals(saved.patches()))
        {
            differ.add("--patch");
        }
        if (!run.args.isEmpty() && !run.args.equals(saved.args()))
        {
            differ.add("--arg");
        }
        if ((run.cpus != null && run.cpus != saved.cpusPerNode()) || (run.nodes != null && run.nodes != saved.nodes()) ||
            (run.mem != null && run.mem != saved.memMiB()))
        {
            differ.add("--cpus/--nodes/--mem");
        }
        if (!differ.isEmpty())
        {
            throw new UserError(String.join(", ", differ) + " differ from the campaign in " + resume +
                " (a different spec is a new campaign: use -o NEWDIR)");
        }
    }

    /** Builds and loads the machine once, without running it, so bad arguments fail here with one line. */
    private static void validate(final Scenario scenario, final HuntSpec spec)
    {
        final ScenarioContext ctx = spec.context();
        ScenarioCatalog.loadWithoutRunning(scenario, Recording.header(scenario, spec.config(), ctx, "seeded", 0));
    }

    private void print(final HuntReport r)
    {
        final PrintStream out = io.out;
        out.println("hunt " + r.spec.describe() + ": seeds " + r.seeds + " on " + r.where);
        out.println(r.entries.size() + " runs (" + r.ran + " new, " + Fmt.fixed(r.runsPerSecond(), 2) + " runs/s over " +
            Fmt.seconds(r.elapsedNanos) + "): " + r.good + " good, " + r.bad + " bad, " + r.skip + " skip; " +
            r.groups.size() + " signature" + (r.groups.size() == 1 ? "" : "s"));
        if (!r.groups.isEmpty())
        {
            final int sigWidth = Math.min(70, Math.max(9, r.groups.stream().mapToInt(g -> g.signature().length()).max().orElse(9)));
            out.println(String.format("  %5s  %10s  %-" + sigWidth + "s  %s", "COUNT", "FIRST SEED", "SIGNATURE", "TRACE"));
            for (final HuntReport.Group g : r.groups)
            {
                final String sig = g.signature().length() > sigWidth ? g.signature().substring(0, sigWidth - 3) + "..." : g.signature();
                out.println(String.format("  %5d  %10d  %-" + sigWidth + "s  %s", g.count(), g.firstSeed(), sig,
                    g.trace() == null ? "-" : r.dir.resolve(g.trace())));
                if (analyze && g.trace() != null)
                {
                    out.println("         cause (pal analyze, seed " + g.firstSeed() + "): " +
                        palimpsest.hunt.Cause.of(r.dir.resolve(g.trace()), plugins.catalog()));
                }
            }
        }
        out.println("manifest " + r.dir.resolve(Manifest.FILE) + "; replay or analyze a trace: pal analyze " +
            (r.groups.isEmpty() ? r.dir.resolve("traces/seed-N") : r.dir.resolve(Objects.requireNonNull(r.groups.get(0).trace()))));
        out.flush();
    }
}
