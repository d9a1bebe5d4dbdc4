package palimpsest.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import palimpsest.emulator.Verdict;
import palimpsest.replayer.Replay;
import palimpsest.replayer.ReplayResult;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceStatus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "check", mixinStandardHelpOptions = true,
    header = "Judge a recorded run with its scenario's verdict, for git bisect run.",
    description = {"Judge a recorded run with its scenario's verdict, for git bisect run and scripts:",
        "exit 0 good, 1 bad, 125 cannot tell (the scenario cannot, the trace is truncated or damaged,",
        "or its replay does not reproduce it). The verdict needs the machine's final state, so the",
        "trace is replayed (and verified on the way). 2 for bad input (not a trace, unknown scenario)."})
final class CheckCommand implements Callable<Integer>
{
    static final int CANNOT_TELL = 125;

    private final Io io;

    @Parameters(index = "0", paramLabel = "TRACE", description = "Trace directory.")
    Path trace;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    CheckCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        try (TraceReader r = DumpCommand.open(trace))
        {
            plugins.scenario(r.header().scenario());
        }
        final ReplayResult r;
        try
        {
            r = new Replay(trace, plugins.catalog()).run();
        }
        catch (final IllegalArgumentException e)
        {
            throw new UserError(Main.firstLine(e.getMessage()));
        }
        if (r.recordingStatus != TraceStatus.COMPLETE)
        {
            io.out.println("cannot tell: " + r.recordingStatusMessage);
            return CANNOT_TELL;
        }
        if (r.outcomeMismatch() != null)
        {
            io.out.println("cannot tell: the replay of " + trace + " verifies every event but " + r.outcomeMismatch());
            return CANNOT_TELL;
        }
        if (r.divergence != null || r.verdict == null)
        {
            io.out.println("cannot tell: the replay of " + trace + " diverges at event #" +
                (r.divergence == null ? "?" : r.divergence.index) + " (see: pal replay " + trace + ")");
            return CANNOT_TELL;
        }
        final Verdict v = r.verdict;
        io.out.println(v + " (" + r.outcome + "; " + Fmt.count(r.verified) + " events replayed and verified)");
        return v.kind.exitCode;
    }
}
