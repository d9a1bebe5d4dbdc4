package palimpsest.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import palimpsest.analyzers.Analysis;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.Symbols;
import palimpsest.trace.TraceHeader;

@Command(name = "analyze", mixinStandardHelpOptions = true,
    header = "Run every analyzer over a trace and report what they find.",
    description = {"Run every analyzer over a trace: heap shadow (KASAN/KFENCE), code-write audit, oops causal chain.",
        "Exit 0 when clean, 1 with findings, 2 for bad input or a truncated or damaged trace (the findings",
        "then cover only the events read, and the last line says which)."})
final class AnalyzeCommand implements Callable<Integer>
{
    private final Io io;

    @Parameters(index = "0", paramLabel = "TRACE", description = "Trace directory.")
    Path trace;

    @Option(names = "--summary", description = "Only the one-line titles of the findings.")
    boolean summary;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    AnalyzeCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        final TraceHeader h;
        try (var r = DumpCommand.open(trace))
        {
            h = r.header();
        }
        final Symbols symbols = Symbols.of(h, plugins.catalog());
        final PassProgress progress = new PassProgress(io, "analyze");
        final Analysis.Result result = Analysis.run(trace, symbols, progress);
        progress.done();
        final PrintStream out = io.out;
        out.println("analysis of " + trace + ": " + Fmt.count(result.events) + " events, " + result.findings.size() + " finding(s)");
        for (final Finding f : result.findings)
        {
            out.println("* [" + f.analyzer + "] event " + f.event + ": " + f.title);
        }
        if (!summary)
        {
            for (final Finding f : result.findings)
            {
                out.println();
                out.print(f.report);
            }
        }
        out.println("-- " + result.traceStatus);
        return Whole.exit(io, result.findings.isEmpty() ? 0 : 1,
            new Whole.Extent(trace, result.status, result.traceStatus, result.eventsRead));
    }
}
