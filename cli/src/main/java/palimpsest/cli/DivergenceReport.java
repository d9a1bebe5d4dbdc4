package palimpsest.cli;

import java.io.PrintStream;

import palimpsest.replayer.Divergence;
import palimpsest.trace.Event;
import palimpsest.trace.EventFormatter;
import palimpsest.trace.Symbolizer;

/**
 * Prints a {@link Divergence} the way {@code pal replay} does (also used by {@code pal bisect --good
 * --bad} and {@code pal diff}): the reason, cpu, icount and pc as symbol, both events, and the events
 * just before it.
 */
final class DivergenceReport
{
    private DivergenceReport()
    {
    }

    /**
     * @param first  label of the "recorded" side (replay: "recorded"; bisect and diff: the good trace)
     * @param second label of the "replayed" side
     */
    static void print(final PrintStream out, final Divergence d, final Symbolizer symbols, final String first,
        final String second)
    {
        final EventFormatter fmt = new EventFormatter(symbols, DumpCommand.interruptSources(), palimpsest.kernel.Mark::name);
        final int width = Math.max(first.length(), second.length());
        out.println("  " + d.reason);
        final Event at = d.recorded != null ? d.recorded : d.replayed;
        if (at != null)
        {
            out.println("  cpu " + at.cpu() + ", icount " + at.icount() + ", pc " + symbolOrHex(symbols, at.pc()));
        }
        out.println("  " + pad(first + ":", width + 1) + " " +
            (d.recorded == null ? "(nothing: the " + first + " run ended)" : fmt.format(d.recorded)));
        out.println("  " + pad(second + ":", width + 1) + " " +
            (d.replayed == null ? "(nothing: the " + second + " run ended)" : fmt.format(d.replayed)));
        if (!d.before.isEmpty())
        {
            out.println("  the events just before it:");
            for (final Event e : d.before)
            {
                out.println("    " + fmt.format(e));
            }
        }
    }

    static String symbolOrHex(final Symbolizer symbols, final long pc)
    {
        final String s = symbols.symbolize(pc);
        return s == null ? String.format("0x%x", pc) : s;
    }

    private static String pad(final String s, final int width)
    {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }
}
