package palimpsest.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Scenario;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;
import palimpsest.replayer.Divergence;
import palimpsest.replayer.Replay;
import palimpsest.replayer.ReplayResult;
import palimpsest.trace.TraceStatus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "replay", mixinStandardHelpOptions = true,
    header = "Re-execute a trace from its recorded inputs and verify every event and the outcome.",
    description = {"Re-execute a trace from its recorded inputs and verify every event against the recording.",
        "Exit 0 when all events verify, 1 at the first divergence (reported with the events before it),",
        "2 for bad input or a trace that ends early (what it holds is replayed first).",
        "With --kernel or --patch: a what-if replay of another kernel under the same inputs."})
final class ReplayCommand implements Callable<Integer>
{
    private final Io io;

    @Parameters(index = "0", paramLabel = "TRACE", description = "Trace directory.")
    Path trace;

    @Option(names = "--kernel", paramLabel = "V", description = "What-if: replay under this kernel version.")
    String kernel;

    @Option(names = "--patch", paramLabel = "+P|-P", description = "What-if: toggle a patch (repeatable).")
    List<String> patches = new ArrayList<>();

    @Mixin
    PluginOptions plugins = new PluginOptions();

    ReplayCommand(final Io io)
    {
        this.io = io;
    }

    /**
     * What a header must hold before a machine can be rebuilt from it: a scenario this pal has, and
     * for a kernel scenario the kernel version it ran (a default would silently be another kernel).
     */
    static void checkHeader(final Path trace, final TraceHeader h, final ScenarioCatalog catalog)
    {
        final Scenario s = catalog.find(h.scenario());
        if (s == null)
        {
            throw new UserError(trace + " was recorded with scenario '" + h.scenario() +
                "', which this pal does not have (a plugin? pass --plugin JAR); known: " + String.join(", ", catalog.names()));
        }
        if (s.usesKernel() && (h.kernelVersion() == null || h.kernelVersion().isEmpty()))
        {
            throw new UserError(trace + " runs kernel scenario '" + h.scenario() +
                "' but its header names no kernel version: the kernel it ran cannot be rebuilt");
        }
    }

    @Override
    public Integer call()
    {
        try (TraceReader r = DumpCommand.open(trace))
        {
            checkHeader(trace, r.header(), plugins.catalog());
            if ((kernel != null || !patches.isEmpty()) && !plugins.catalog().find(r.header().scenario()).usesKernel())
            {
                throw new UserError(trace + " is a trace of hardware scenario " + r.header().scenario() +
                    ", which runs no kernel: --kernel and --patch do not apply");
            }
        }
        final Replay replay = new Replay(trace, plugins.catalog());
        if (kernel != null)
        {
            replay.kernel(kernel);
        }
        if (!patches.isEmpty())
        {
            replay.patches(patches);
        }
        final ReplayResult r;
        // A bar with an ETA on stderr while it runs (the trace's length from its chunk headers, asked once).
        final long[] total = {-1};
        final Progress progress = new Progress(io, new ConsolePrinter(io, 1), elapsed ->
        {
            if (total[0] == -1)
            {
                total[0] = Math.max(-2, PassProgress.eventsIn(trace));
            }
            return "pal: replay: " + PassProgress.line(replay.verifiedSoFar(), total[0], elapsed);
        });
        progress.start();
        try
        {
            r = replay.run();
        }
        catch (final IllegalArgumentException e)
        {
            throw new UserError(Main.firstLine(e.getMessage()));
        }
        finally
        {
            progress.stop();
        }
        final PrintStream out = io.out;
        final Machine m = r.machine;
        final double secs = r.nanos / 1e9;
        final String speed = String.format("%.2f M events/s over %.2f s", r.eventsPerSecond() / 1e6, secs);
        final Divergence d = r.divergence;
        if (d == null && r.recordingStatus != TraceStatus.COMPLETE)
        {
            // Every event it holds replayed, but the trace has no (valid) end: never a clean replay.
            out.println("replay of " + trace + ": the " + r.verified + " events it holds verified (" + speed + ")");
            io.err.println("pal: " + trace + " ends early: " + r.recordingStatusMessage);
            return 2;
        }
        if (d == null && r.outcomeMismatch() != null && !replay.whatIf())
        {
            out.println("replay of " + trace + ": all " + r.verified + " events verified (" + speed + "), but the outcome differs:");
            out.println("  " + r.outcomeMismatch());
            return 1;
        }
        if (d == null)
        {
            out.println("replay of " + trace + ": all " + r.verified + " events verified (" + speed + ")");
            out.println("  ended    " + r.outcome + (replay.whatIf() ? "" : " (as recorded)"));
            if (r.verdict != null)
            {
                out.println("  verdict  " + r.verdict);
            }
            return 0;
        }
        final boolean endsEarly = d.recorded == null && r.recordingStatus != TraceStatus.COMPLETE;
        if (endsEarly && !replay.whatIf())
        {
            io.err.println("pal: " + trace + " ends early: replay verified the " + r.verified +
                " events it holds; " + r.recordingStatusMessage);
            return 2;
        }
        out.println((replay.whatIf() ? "what-if replay" : "replay") + " of " + trace + " diverges at event #" + d.index +
            " after " + r.verified + " verified events (" + speed + ")");
        DivergenceReport.print(out, d, pc -> m.code().symbolize(pc), "recorded", "replayed");
        if (r.inputDeparture != null)
        {
            out.println("  inputs: " + r.inputDeparture + "; the run went on under the recorded schedule policy");
        }
        if (replay.whatIf())
        {
            out.println("  the what-if run then ended: " + r.outcome + " (" + r.afterDivergence + " events after the divergence)");
            if (r.verdict != null)
            {
                out.println("  verdict  " + r.verdict);
            }
        }
        return 1;
    }
}
