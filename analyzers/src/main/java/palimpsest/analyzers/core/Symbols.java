package palimpsest.analyzers.core;

import palimpsest.emulator.CodeMap;
import palimpsest.emulator.Scenario;
import palimpsest.kernel.KernelInspector;
import palimpsest.kernel.Layout;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.TraceHeader;

/**
 * The symbol table of a trace's kernel (its System.map), rebuilt from the header: the scenario is
 * loaded on a fresh machine, not run. PCs print as {@code name+0xoff/0xsize}, or as hex when no
 * symbol covers them (unknown scenario). Module text, loaded at run time, prints as Linux's oops
 * prints it, {@code e1000_watchdog+0x1a/0x80 [e1000]}, once a pass attached its shadow memory
 * ({@link #readModulesFrom}): the module list, symtab and strtab are read from the bytes the trace
 * wrote, by {@link KernelInspector#symbolizeModule}, so a module shows with the symbols it had at
 * the point the pass reached.
 */
public final class Symbols
{
    public static final Symbols NONE = new Symbols(new CodeMap());

    private final CodeMap code;
    private KernelInspector modules;
    private final java.util.List<KernelInspector.ModuleSymbol> unloaded = new java.util.ArrayList<>();

    public Symbols(final CodeMap code)
    {
        this.code = code;
    }

    /**
     * Module symbols from now on come from this memory (node 0's physical memory as the trace wrote
     * it). Ignored on {@link #NONE}, which is shared.
     */
    public void readModulesFrom(final SparseMemory memory)
    {
        if (this == NONE)
        {
            return;
        }
        modules = new KernelInspector(new KernelInspector.Memory()
        {
            @Override
            public long read(final long paddr, final int size)
            {
                long v = 0;
                for (int i = size - 1; i >= 0; i--)
                {
                    v = v << 8 | memory.read8(paddr + i);
                }
                return v;
            }

            @Override
            public long size()
            {
                return 1L << 40;
            }
        });
    }

    /** Module symbols from now on come from this view of node 0's physical memory (one moment's). */
    public void readModulesFrom(final KernelInspector.Memory memory)
    {
        if (this != NONE)
        {
            modules = new KernelInspector(memory);
        }
    }

    /**
     * Keeps the names of a module being unloaded (MODULE_UNLOAD: its struct module, symtab and
     * strtab are still in memory), so its functions print as {@code fn+0x../0x.. [mod]} in every
     * report after the unload too. Call for every event of a pass, before the memory applies it.
     */
    public void onEvent(final palimpsest.trace.Event e)
    {
        if (modules == null || e.kind() != palimpsest.trace.EventKind.MARK || e.a() != palimpsest.kernel.Mark.MODULE_UNLOAD)
        {
            return;
        }
        try
        {
            final java.util.List<KernelInspector.ModuleSymbol> syms = modules.moduleSymbols(e.b());
            // Newest first: a later module at the same address wins over an older unloaded one.
            syms.removeAll(unloaded);
            unloaded.addAll(0, syms);
        }
        catch (final RuntimeException ex)
        {
            // a struct module the trace has not (fully) written: nothing to keep
        }
    }

    /**
     * Every module function known now: those of the modules loaded (read from the memory the pass
     * reached) and of those it saw unloaded, newest first (symbol files are written from it).
     */
    public java.util.List<KernelInspector.ModuleSymbol> moduleSymbols()
    {
        final java.util.List<KernelInspector.ModuleSymbol> out = new java.util.ArrayList<>();
        if (modules != null)
        {
            try
            {
                for (final long mod : modules.modules())
                {
                    out.addAll(modules.moduleSymbols(mod));
                }
            }
            catch (final RuntimeException e)
            {
                // a module list the trace has not (fully) written: the unloaded ones only
            }
        }
        for (final KernelInspector.ModuleSymbol m : unloaded)
        {
            if (!out.contains(m))
            {
                out.add(m);
            }
        }
        return out;
    }

    /** {@code name+0xoff/0xsize [module]} for module text (loaded now, or unloaded earlier in the pass), or null. */
    public String moduleSym(final long pc)
    {
        if (Long.compareUnsigned(pc, Layout.MODULES_VADDR) < 0 || Long.compareUnsigned(pc, Layout.MODULES_END) >= 0)
        {
            return null;
        }
        if (modules != null)
        {
            try
            {
                final String live = modules.symbolizeModule(pc);
                if (live != null)
                {
                    return live;
                }
            }
            catch (final RuntimeException e)
            {
                // a module list the trace has not (fully) written: try the unloaded ones
            }
        }
        for (final KernelInspector.ModuleSymbol m : unloaded)
        {
            final String s = m.symbolize(pc);
            if (s != null)
            {
                return s;
            }
        }
        return null;
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
            return new Symbols(ScenarioCatalog.codeWithoutRunning(s, h));
        }
        catch (final RuntimeException | LinkageError e)
        {
            return NONE;
        }
    }

    /**
     * Symbols of a trace: from its loaded image ({@link ScenarioCatalog#imageOf}) when it has one,
     * which costs a read of the symbol table, not a load of the scenario; the catalog is asked only
     * when the image must be made. {@link #NONE} when neither works.
     */
    public static Symbols of(final java.nio.file.Path trace, final TraceHeader h,
        final java.util.function.Supplier<ScenarioCatalog> catalog)
    {
        final palimpsest.recorder.image.LoadedImage img = ScenarioCatalog.imageOf(trace, h, catalog);
        if (img != null)
        {
            return new Symbols(img.code());
        }
        return of(h, catalog.get());
    }

    public CodeMap code()
    {
        return code;
    }

    /** {@code name+0xoff/0xsize}, module text as {@code name+0xoff/0xsize [module]}, or null. */
    public String symbolOrNull(final long pc)
    {
        final String s = code.symbolize(pc);
        return s != null ? s : moduleSym(pc);
    }

    /**
     * The symbols of a trace with its module text as it stood at event upTo (the end, for
     * Long.MAX_VALUE): one pass applies the trace's writes to a shadow of its memory, where the
     * module list, symtab and strtab are read from. {@link #NONE} when the scenario is unknown.
     */
    public static Symbols withModules(final java.nio.file.Path trace, final TraceHeader h, final ScenarioCatalog catalog,
        final long upTo)
    {
        final Symbols s = of(h, catalog);
        if (s == NONE)
        {
            return s;
        }
        final MachineShadow shadow = new MachineShadow(h.cpuCount(), h.cpusPerNode());
        s.readModulesFrom(shadow.memory());
        try (palimpsest.trace.TraceReader r = palimpsest.trace.TraceReader.open(trace))
        {
            final palimpsest.trace.Event e = new palimpsest.trace.Event();
            while (r.next(e) && e.index() < upTo)
            {
                shadow.apply(e);
            }
        }
        return s;
    }

    /** {@code name+0xoff/0xsize}, or {@code 0x...} when no symbol covers pc. */
    public String sym(final long pc)
    {
        final String s = code.symbolize(pc);
        if (s != null)
        {
            return s;
        }
        final String m = moduleSym(pc);
        return m != null ? m : "0x" + Long.toHexString(pc);
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
