package palimpsest.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.TreeSet;
import java.util.concurrent.Callable;

import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.diff.TraceDiff;
import palimpsest.trace.EventKind;
import palimpsest.trace.Symbolizer;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "diff", mixinStandardHelpOptions = true,
    header = "Compare two traces: where they part, per cpu, and how they differ after.",
    description = {"Compare two traces: the first divergence (as pal replay reports it), each cpu's own",
        "parting point (by icount and event identity) and where it reconverges, then a summary of the",
        "events after the divergence: counts by kind, pages written in only one, functions seen in only one.",
        "Exit 0 when the traces hold the same events, 1 when they differ, 2 for bad input or when either",
        "trace is truncated or damaged (after the comparison of what they hold)."})
final class DiffCommand implements Callable<Integer>
{
    private static final int LIST = 12;

    private final Io io;

    @Parameters(index = "0", paramLabel = "A", description = "First trace (the good one, if there is one).")
    Path a;

    @Parameters(index = "1", paramLabel = "B", description = "Second trace.")
    Path b;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    DiffCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        final int rc = answer();
        return Whole.exit(io, rc, Whole.of(a), Whole.of(b));
    }

    private int answer()
    {
        final TraceHeader ha;
        final TraceHeader hb;
        try (TraceReader ra = DumpCommand.open(a); TraceReader rb = DumpCommand.open(b))
        {
            ha = ra.header();
            hb = rb.header();
        }
        // Two passes (A, then B) after the chunk-digest bisect: a bar with an ETA each, over A's length.
        final PassProgress progress = PassProgress.overTrace(io, "diff", a);
        final TraceDiff d = TraceDiff.run(a, b, progress);
        progress.done();
        final PrintStream out = io.out;
        if (d.first.divergence == null)
        {
            out.println("no difference: " + a + " and " + b + " hold the same " + Fmt.count(d.first.agreeing) + " events");
            return 0;
        }
        // As analyze prints them: module text by name, from each trace's memory at its end.
        final Symbols ma = Symbols.withModules(a, ha, plugins.catalog(), Long.MAX_VALUE);
        final Symbols mb = Symbols.withModules(b, hb, plugins.catalog(), Long.MAX_VALUE);
        final Symbolizer sa = ma::symbolOrNull;
        final Symbolizer sb = mb::symbolOrNull;
        out.println("A = " + a + " (" + describe(ha) + ")");
        out.println("B = " + b + " (" + describe(hb) + ")");
        out.println("first divergence at event #" + d.first.divergence.index + " (" + Fmt.count(d.first.agreeing) +
            " events agree)");
        DivergenceReport.print(out, d.first.divergence, sa, "A", "B");
        out.println();
        out.println("per cpu (aligned by icount and event identity; reconverged = " + TraceDiff.WINDOW + " events agree again):");
        for (final TraceDiff.CpuDiff c : d.cpus)
        {
            if (c.eventsA == 0 && c.eventsB == 0)
            {
                continue;
            }
            final String name = c.cpu >= 64 ? "dev" + (c.cpu - 64) : "cpu" + c.cpu;
            if (c.partsAt < 0)
            {
                out.println("  " + name + ": identical (" + Fmt.count(c.eventsA) + " events)");
                continue;
            }
            final StringBuilder sbd = new StringBuilder("  " + name + ": parts after " + Fmt.count(c.partsAt) +
                " of its events, at icount " + icount(c.partIcountA) + " in A, " + icount(c.partIcountB) + " in B; ");
            if (c.reconvergeA < 0)
            {
                sbd.append("never reconverges (").append(Fmt.count(c.eventsA)).append(" events in A, ")
                    .append(Fmt.count(c.eventsB)).append(" in B)");
            }
            else
            {
                sbd.append("reconverges at icount ").append(c.reconvergeIcountA).append(" in A, ").append(c.reconvergeIcountB)
                    .append(" in B (after ").append(Fmt.count(c.reconvergeA - c.partsAt)).append(" / ")
                    .append(Fmt.count(c.reconvergeB - c.partsAt)).append(" differing events)");
            }
            out.println(sbd);
        }
        out.println();
        out.println("from the divergence on: " + Fmt.count(d.a.events) + " events in A, " + Fmt.count(d.b.events) + " in B");
        out.println(String.format("  %-12s %12s %12s", "kind", "A", "B"));
        for (int k = 0; k < EventKind.COUNT; k++)
        {
            if (d.a.kindCounts[k] != 0 || d.b.kindCounts[k] != 0)
            {
                out.println(String.format("  %-12s %12d %12d", EventKind.name(k), d.a.kindCounts[k], d.b.kindCounts[k]));
            }
        }
        pages(out, "A", TraceDiff.only(d.a.pagesWritten, d.b.pagesWritten));
        pages(out, "B", TraceDiff.only(d.b.pagesWritten, d.a.pagesWritten));
        final TreeSet<String> fa = functions(d.a.pcs, sa);
        final TreeSet<String> fb = functions(d.b.pcs, sb);
        final TreeSet<String> onlyA = new TreeSet<>(fa);
        onlyA.removeAll(fb);
        final TreeSet<String> onlyB = new TreeSet<>(fb);
        onlyB.removeAll(fa);
        out.println("  functions only in A (" + onlyA.size() + "): " + list(onlyA));
        out.println("  functions only in B (" + onlyB.size() + "): " + list(onlyB));
        return 1;
    }

    private static String describe(final TraceHeader h)
    {
        return h.scenario() + (h.scenarioArgs().isEmpty() ? "" : " " + h.scenarioArgs()) + ", " + h.scheduleKind() +
            " seed " + h.seed() + (h.kernelVersion().isEmpty() && h.kernelPatches().isEmpty() ? "" :
            ", kernel " + (h.kernelVersion().isEmpty() ? "head" : h.kernelVersion()) +
            (h.kernelPatches().isEmpty() ? "" : " " + String.join(" ", h.kernelPatches())));
    }

    private static String icount(final long ic)
    {
        return ic < 0 ? "(ended)" : Long.toString(ic);
    }

    private static void pages(final PrintStream out, final String side, final TreeSet<Long> pages)
    {
        final StringBuilder sb = new StringBuilder();
        int n = 0;
        for (final long p : pages)
        {
            if (n++ == LIST)
            {
                sb.append(" ...");
                break;
            }
            sb.append(n == 1 ? "" : " ").append(String.format("%x", p << 12));
        }
        out.println("  pages written only in " + side + " (" + pages.size() + "): " + (pages.isEmpty() ? "none" : sb));
    }

    /** Function names of the pcs (the symbol up to '+'); unknown pcs as hex. */
    private static TreeSet<String> functions(final TreeSet<Long> pcs, final Symbolizer s)
    {
        final TreeSet<String> names = new TreeSet<>();
        for (final long pc : pcs)
        {
            final String sym = s.symbolize(pc);
            if (sym == null)
            {
                names.add(String.format("0x%x", pc));
            }
            else
            {
                final int plus = sym.indexOf('+');
                names.add(plus < 0 ? sym : sym.substring(0, plus));
            }
        }
        return names;
    }

    private static String list(final TreeSet<String> names)
    {
        if (names.isEmpty())
        {
            return "none";
        }
        final StringBuilder sb = new StringBuilder();
        int n = 0;
        for (final String s : names)
        {
            if (n++ == LIST)
            {
                sb.append(" ...");
                break;
            }
            sb.append(n == 1 ? "" : ", ").append(s);
        }
        return sb.toString();
    }
}
