package palimpsest.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import palimpsest.analyzers.Analysis;
import palimpsest.analyzers.AnalyzerFactory;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.Stories;
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

    @Parameters(index = "0", arity = "0..1", paramLabel = "TRACE", description = "Trace directory.")
    Path trace;

    @Option(names = "--summary", description = "Only the one-line titles of the findings.")
    boolean summary;

    @Option(names = "--only", paramLabel = "NAME", split = ",",
        description = "Run only these analyzers (repeatable or comma-separated); the names are listed by --list.")
    List<String> only = new ArrayList<>();

    @Option(names = "--list", description = "List the analyzers (name and what each reports) and exit.")
    boolean list;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    AnalyzeCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        final PrintStream out = io.out;
        if (list)
        {
            plugins.catalog();
            for (final AnalyzerFactory f : Analysis.factories())
            {
                out.println(String.format("%-12s %s", f.name(), f.description()));
            }
            return 0;
        }
        if (trace == null)
        {
            throw new UserError("analyze: missing TRACE");
        }
        final TraceHeader h;
        try (var r = DumpCommand.open(trace))
        {
            h = r.header();
        }
        plugins.requireFor(h, "analyze");
        // From the trace's loaded image when it has one: loading the scenario again would build its
        // inputs (a long run's text) in the heap, memory that grows with the workload.
        final Symbols symbols = Symbols.of(trace, h, plugins::catalog);
        final PassProgress progress = PassProgress.overTrace(io, "analyze", trace);
        final Analysis.Result result;
        try
        {
            result = Analysis.run(trace, symbols, progress, only);
        }
        catch (final IllegalArgumentException e)
        {
            throw new UserError("--only: " + e.getMessage());
        }
        progress.done();
        out.println(result.verdict);
        out.println("analysis of " + trace + ": " + Fmt.count(result.events) + " events, " + result.findings.size() + " finding(s) in "
            + result.stories.size() + " story(ies); analyzers: " + String.join(", ", result.analyzers));
        int n = 0;
        for (final Stories.Story s : result.stories)
        {
            n++;
            if (result.stories.size() > 1 || s.findings.size() > 1)
            {
                final Finding c = s.cause();
                out.println("story " + n + (c != null ? " (" + c.bugClass + ": " + c.culprit + ")" : "") + ":");
            }
            for (final Finding f : s.findings)
            {
                out.println("* [" + f.analyzer + "] event " + f.event + ": " + f.title);
            }
        }
        if (!summary)
        {
            for (final Stories.Story s : result.stories)
            {
                for (final Finding f : s.findings)
                {
                    out.println();
                    out.print(f.report);
                }
            }
        }
        out.println("-- " + result.traceStatus);
        return Whole.exit(io, result.findings.isEmpty() ? 0 : 1,
            new Whole.Extent(trace, result.status, result.traceStatus, result.eventsRead));
    }
}
