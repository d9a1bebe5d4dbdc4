package palimpsest.hunt;

import java.nio.file.Path;

import palimpsest.analyzers.Analysis;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.Symbols;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;

/**
 * What {@code pal analyze} says first about a kept trace: run over one trace per group (its
 * first seed's), so a table of signatures also names the code that made each state bad.
 */
public final class Cause
{
    private Cause()
    {
    }

    /** {@code [analyzer] title} of the earliest finding, or {@code (no finding)}. */
    public static String of(final Path trace, final ScenarioCatalog catalog)
    {
        final TraceHeader h;
        try (TraceReader r = TraceReader.open(trace))
        {
            h = r.header();
        }
        final Analysis.Result result = Analysis.run(trace, Symbols.of(trace, h, () -> catalog), null);
        if (result.findings.isEmpty())
        {
            return "(no finding)";
        }
        final Finding f = result.findings.get(0);
        return "[" + f.analyzer + "] " + f.title;
    }
}
