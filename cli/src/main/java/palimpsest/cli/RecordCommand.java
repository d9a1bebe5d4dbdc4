package palimpsest.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.recorder.Recording;
import palimpsest.recorder.RecordingSummary;

@Command(name = "record", mixinStandardHelpOptions = true,
    header = "Run a scenario on the emulated machine and record everything it does into a trace.",
    description = {"Run a scenario on the emulated machine and record everything it does into a trace.",
        "The emulated console goes to stdout as it is written; progress to stderr."},
    footer = {"", "Exit status: 0 when the scenario's verdict is good, 1 bad, 125 skip; 2 bad input;",
        "130 when stopped by Ctrl-C or SIGTERM (the trace is closed, its end record says 'interrupted',",
        "and every event in it replays; a second Ctrl-C exits at once)."})
final class RecordCommand implements Callable<Integer>
{
    private final Io io;

    @Option(names = "--scenario", required = true, paramLabel = "S", description = "Scenario to run (see: pal scenarios).")
    String scenarioName;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR",
        description = "Trace directory to create (must not exist or be empty, unless --force).")
    Path output;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the seeded and chaos schedules (default: ${DEFAULT-VALUE}).",
        defaultValue = "0")
    long seed;

    @Option(names = "--schedule", paramLabel = "KIND", defaultValue = "seeded",
        description = "free (host time slices), seeded (PRNG from --seed) or chaos (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--keyframe-every", paramLabel = "N", defaultValue = "1000000",
        description = "Write a keyframe (registers and the pages changed since the last one) every N events, " +
            "for fast `pal state`; 0 = none (default: ${DEFAULT-VALUE}).")
    long keyframeEvery;

    @Option(names = "--force", description = "Overwrite a non-empty output directory.")
    boolean force;

    @Mixin
    RunOptions run = new RunOptions();

    @Mixin
    PluginOptions plugins = new PluginOptions();

    RecordCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        final Scenario scenario = plugins.scenario(scenarioName);
        run.check(scenario, schedule);
        final MachineConfig config = run.config(scenario);
        prepareOutput(output, force);

        final ScenarioContext context = run.context(scenario);
        final ConsolePrinter console = new ConsolePrinter(io, config.nodes, scenario.nodeLabels(config, context));
        final Recording recording = new Recording(scenario)
            .config(config)
            .context(context)
            .schedule(schedule, seed)
            .output(output)
            .keyframeEvery(keyframeEvery)
            .plugins(plugins.jarNames())
            .console(console::write);
        final Progress progress = new Progress(io, console, scenario.name(), recording);
        final RecordingSummary s;
        progress.start();
        try (Interrupts signals = Interrupts.on(recording::interrupt))
        {
            s = recording.run();
        }
        finally
        {
            progress.stop();
            console.finish();
        }
        summary(s);
        if (s.outcome().kind == Outcome.Kind.INTERRUPTED)
        {
            io.err.println("pal: interrupted: " + s.trace() + " is closed with an 'interrupted' end record after " +
                Fmt.count(s.events()) + " events, all of which replay (pal replay " + s.trace() + ")");
            return Interrupts.EXIT_INTERRUPTED;
        }
        if (s.outcome().kind == Outcome.Kind.INTERNAL_ERROR && s.outcome().cause != null && io.debug)
        {
            s.outcome().cause.printStackTrace(io.err);
        }
        return s.verdict().kind.exitCode;
    }

    private void summary(final RecordingSummary s)
    {
        final StringBuilder b = new StringBuilder();
        b.append("recorded ").append(s.header().scenario()).append(" into ").append(s.trace()).append('\n');
        b.append("  machine      ").append(new MachineConfig(s.header().nodes(), s.header().cpusPerNode(),
            s.header().memMiB())).append(", schedule ").append(s.header().scheduleKind())
            .append(" seed ").append(s.header().seed()).append('\n');
        if (!s.header().kernelVersion().isEmpty() || !s.header().kernelPatches().isEmpty())
        {
            // A scenario without a version (head) may still have patches applied (--patch +NAME).
            b.append("  kernel       ").append(s.header().kernelVersion().isEmpty() ? "head" : s.header().kernelVersion());
            for (final String p : s.header().kernelPatches())
            {
                b.append(' ').append(p);
            }
            b.append('\n');
        }
        b.append("  events       ").append(Fmt.count(s.events())).append(" in ").append(Fmt.count(s.chunks()))
            .append(" chunks, ").append(Fmt.bytes(s.bytes())).append(" (").append(Fmt.fixed(s.bytesPerEvent(), 2))
            .append(" bytes/event)\n");
        b.append("  speed        ").append(Fmt.si(s.eventsPerSecond())).append(" events/s, ")
            .append(Fmt.si(s.instructionsPerSecond())).append(" instructions/s over ")
            .append(Fmt.seconds(s.elapsedNanos())).append('\n');
        b.append("  instructions ").append(Fmt.count(s.instructions())).append(", virtual time ")
            .append(Fmt.count(s.virtualTime())).append('\n');
        b.append("  ended        ").append(s.outcome()).append('\n');
        b.append("  verdict      ").append(s.verdict()).append('\n');
        io.out.print(b);
        io.out.flush();
    }

    /** Makes output usable as a new trace directory: absent, empty, or (with force) emptied. */
    static void prepareOutput(final Path output, final boolean force)
    {
        if (!Files.exists(output))
        {
            return;
        }
        if (!Files.isDirectory(output))
        {
            throw new UserError("output " + output + " exists and is not a directory");
        }
        final boolean empty;
        try (Stream<Path> s = Files.list(output))
        {
            empty = s.findAny().isEmpty();
        }
        catch (final IOException e)
        {
            throw new UserError("cannot read output directory " + output + ": " + e.getMessage());
        }
        if (empty)
        {
            return;
        }
        if (!force)
        {
            throw new UserError("output directory " + output + " is not empty (use --force to overwrite it)");
        }
        final Path abs = output.toAbsolutePath().normalize();
        final Path cwd = Paths.get("").toAbsolutePath().normalize();
        final String home = System.getProperty("user.home", "");
        if (abs.getParent() == null || cwd.startsWith(abs) || (!home.isEmpty() && abs.equals(Paths.get(home).toAbsolutePath())))
        {
            throw new UserError("refusing to overwrite " + abs + " (it holds the current directory, or is / or home)");
        }
        try (Stream<Path> s = Files.walk(output))
        {
            for (final Path p : (Iterable<Path>)s.sorted(Comparator.reverseOrder())::iterator)
            {
                if (!p.equals(output))
                {
                    Files.delete(p);
                }
            }
        }
        catch (final IOException | RuntimeException e)
        {
            throw new UserError("cannot clear output directory " + output + ": " + e.getMessage());
        }
    }
}
