package palimpsest.gdb.elf;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.emulator.Machine;
import palimpsest.emulator.Scenario;
import palimpsest.kernel.KernelInspector;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.Event;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;

/**
 * The functions of a recorded run, for {@link ElfSymbolFile}: the kernel's and its programs' (the
 * machine's code map, rebuilt from the header) and every module the run loaded, at its load
 * address, as its symtab and strtab in the trace's memory say (one pass over the trace; a module
 * unloaded during the run is kept from the moment of its unload).
 */
public final class SymbolFiles
{
    private SymbolFiles()
    {
    }

    /** The ELF symbol file of the run (an exception with one line for an unknown scenario). */
    public static byte[] elfOf(final Path trace, final ScenarioCatalog catalog)
    {
        final Machine m = machine(trace, catalog);
        return ElfSymbolFile.write(functions(trace, catalog, m), m.bootEntry(0));
    }

    /** The run's functions: the code map's and every module's the run loaded. */
    public static List<ElfSymbolFile.Function> functions(final Path trace, final ScenarioCatalog catalog)
    {
        return functions(trace, catalog, machine(trace, catalog));
    }

    private static Machine machine(final Path trace, final ScenarioCatalog catalog)
    {
        final TraceHeader h;
        try (TraceReader r = TraceReader.open(trace))
        {
            h = r.header();
        }
        final Scenario scenario = catalog.find(h.scenario());
        if (scenario == null)
        {
            throw new IllegalArgumentException("the trace was recorded with scenario '" + h.scenario() +
                "', which this pal does not have (a plugin? pass --plugin JAR)");
        }
        return ScenarioCatalog.loadWithoutRunning(scenario, h);
    }

    private static List<ElfSymbolFile.Function> functions(final Path trace, final ScenarioCatalog catalog, final Machine m)
    {
        final TraceHeader h;
        try (TraceReader r = TraceReader.open(trace))
        {
            h = r.header();
        }
        final List<ElfSymbolFile.Function> functions = new ArrayList<>();
        m.code().forEachSymbol((name, start, size) -> functions.add(new ElfSymbolFile.Function(name, start, size, null)));
        for (final KernelInspector.ModuleSymbol s : modules(trace, h, new Symbols(m.code())))
        {
            if (s.size() > 0)
            {
                functions.add(new ElfSymbolFile.Function(s.name(), s.start(), s.size(), s.module()));
            }
        }
        return functions;
    }

    private static List<KernelInspector.ModuleSymbol> modules(final Path trace, final TraceHeader h, final Symbols symbols)
    {
        final MachineShadow shadow = new MachineShadow(h.cpuCount(), h.cpusPerNode());
        symbols.readModulesFrom(shadow.memory());
        try (TraceReader r = TraceReader.open(trace))
        {
            final Event e = new Event();
            while (r.next(e))
            {
                symbols.onEvent(e);
                shadow.apply(e);
            }
        }
        return symbols.moduleSymbols();
    }
}
