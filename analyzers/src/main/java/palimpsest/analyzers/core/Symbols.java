package palimpsest.analyzers.core;

import palimpsest.emulator.CodeMap;
import palimpsest.emulator.Machine;
import palimpsest.emulator.Scenario;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.TraceHeader;

/**
 * The symbol table of a trace's kernel (its System.map), rebuilt from the header: the scenario is
 * loaded on a fresh machine, not run. PCs print as {@code name+0xoff/0xsize}, or as hex when no
 * symbol covers them (unknown scenario, module text loaded at run time).
 */
public final class Symbols
{
    public static final Symbols NONE = new Symbols(new CodeMap());

    private final CodeMap code;

    public Symbols(final CodeMap code)
    {
        this.code = code;
    }

    /** Symbols of the scenario a trace was recorded from, or {@link #NONE} when it cannot be loaded. */
    public static Symbols of(final TraceHeader h, final ScenarioCatalog catalog)
    {
        try
        {
            final Scenario s = catalog.find(h.scenario());
            if (s == null)
            {
                return NONE;
            }
            final Machine m = ScenarioCatalog.loadWithoutRunning(s, h);
            return new Symbols(m.code());
        }
        catch (final RuntimeException | LinkageError e)
        {
            return NONE;
        }
    }

    public CodeMap code()
    {
        return code;
    }

    /** {@code name+0xoff/0xsize}, or {@code 0x...} when no symbol covers pc. */
    public String sym(final long pc)
    {
        final String s = code.symbolize(pc);
        return s != null ? s : "0x" + Long.toHexString(pc);
    }

    /** Name of the function containing pc, or null. */
    public String function(final long pc)
    {
        return code.nameAt(pc);
    }

    /** Start address of a named function, or -1. */
    public long address(final String name)
    {
        return code.addressOf(name);
    }

    /** Appends a Linux-style stack: one {@code  name+0xoff/0xsize} line per frame, innermost first. */
    public StringBuilder stack(final StringBuilder sb, final long pc, final long[] frames)
    {
        if (pc != 0)
        {
            sb.append(' ').append(sym(pc)).append('\n');
        }
        for (final long ra : frames)
        {
            sb.append(' ').append(sym(ra)).append('\n');
        }
        return sb;
    }

    /** A one-line chain {@code f <- g <- h}. */
    public String chain(final long pc, final long[] frames)
    {
        final StringBuilder sb = new StringBuilder(function(pc) != null ? function(pc) : sym(pc));
        for (final long ra : frames)
        {
            final String f = function(ra);
            sb.append(" <- ").append(f != null ? f : sym(ra));
        }
        return sb.toString();
    }

    public static String hex16(final long v)
    {
        return String.format("%016x", v);
    }
}
