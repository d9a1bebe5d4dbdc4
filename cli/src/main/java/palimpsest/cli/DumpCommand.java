package palimpsest.cli;

import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.emulator.InterruptSource;
import palimpsest.emulator.Scenario;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.Event;
import palimpsest.trace.EventFormatter;
import palimpsest.trace.EventKind;
import palimpsest.trace.Symbolizer;
import palimpsest.trace.TraceException;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceStatus;

@Command(name = "dump", mixinStandardHelpOptions = true,
    header = "Print a trace's events, one line each, and whether the trace is whole.",
    description = {"Print a trace's events, one readable line each, then whether the trace is whole.",
        "PCs print as function+0xoff/0xsize when the trace's scenario is known (built in or --plugin), module",
        "code as name+0xoff/0xsize [module]. Exit 0 for a complete trace, 2 for bad input or a truncated or",
        "damaged one (after every event it holds)."})
final class DumpCommand implements Callable<Integer>
{
    private final Io io;

    @Parameters(index = "0", paramLabel = "TRACE", description = "Trace directory.")
    Path trace;

    @Option(names = "--from", paramLabel = "N", defaultValue = "0", description = "First event number (default: 0).")
    long from;

    @Option(names = "--limit", paramLabel = "M", description = "Print at most M events (default: all).")
    Long limit;

    @Option(names = "--cpu", paramLabel = "C", description = "Only events of this CPU (or device id).")
    Integer cpu;

    @Option(names = "--node", paramLabel = "N", description = "Only events of this node's cpus and its NIC.")
    Integer node;

    @Option(names = "--kind", paramLabel = "K", split = ",",
        description = "Only events of these kinds (comma-separated): load, store, rmw, fetch, walk, dma-read, "
            + "dma-write, interrupt, exception, ipi, net-send, net-deliver, task-switch, cpu-switch, input, io, reg, mark; "
            + "'access' for the first seven.")
    List<String> kinds = new ArrayList<>();

    @Option(names = "--no-symbols", description = "Do not load the scenario to symbolize PCs.")
    boolean noSymbols;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    DumpCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        Limits.atLeast("--from", from, 0);
        Limits.atLeast("--limit", limit, 0);
        Limits.atLeast("--cpu", cpu, 0);
        final boolean[] wanted = kindFilter();
        try (TraceReader r = open(trace))
        {
            final TraceHeader h = r.header();
            // Module text is loaded at run time: its symbols come from the memory the trace wrote so far,
            // kept in a shadow as the dump streams (as analyze does), so a kernel trace's dump with symbols
            // reads from event 0 (--from skips printing, not reading); hardware traces seek.
            final Symbols symbols = noSymbols ? Symbols.NONE : Symbols.of(trace, h, plugins::catalog);
            final Scenario scenario = plugins.catalog().find(h.scenario());
            final boolean modules = symbols != Symbols.NONE && scenario != null && scenario.usesKernel();
            final MachineShadow shadow = modules ? new MachineShadow(h.cpuCount(), h.cpusPerNode()) : null;
            if (shadow != null)
            {
                symbols.readModulesFrom(shadow.memory());
            }
            final EventFormatter fmt = new EventFormatter(symbols == Symbols.NONE ? Symbolizer.NONE : symbols::symbolOrNull,
                interruptSources(), palimpsest.kernel.Mark::name);
            final Scenario frames = noSymbols ? null : scenario;
            final PrintWriter w = new PrintWriter(new BufferedWriter(new OutputStreamWriter(io.out, StandardCharsets.UTF_8), 1 << 16));
            w.println("-- trace " + trace + ": scenario " + h.scenario() + (h.scenarioArgs().isEmpty() ? "" : " " + h.scenarioArgs()) +
                ", " + h.nodes() + " node(s) x " + h.cpusPerNode() + " cpu(s), " + h.memMiB() + " MiB, schedule " +
                h.scheduleKind() + " seed " + h.seed() +
                (h.kernelVersion().isEmpty() && h.kernelPatches().isEmpty() ? "" : ", kernel " +
                (h.kernelVersion().isEmpty() ? "head" : h.kernelVersion()) +
                (h.kernelPatches().isEmpty() ? "" : " " + String.join(" ", h.kernelPatches()))) +
                ", format " + h.formatVersion() + ", " + h.toolVersion());
            if (node != null && (node < 0 || node >= h.nodes()))
            {
                throw new UserError("--node " + node + ": the machine has nodes 0.." + (h.nodes() - 1));
            }
            final int perNode = h.cpusPerNode();
            final Event e = new Event();
            final StringBuilder sb = new StringBuilder(256);
            long printed = 0;
            boolean more = from == 0 || shadow != null || r.seek(from);
            while (more && (limit == null || printed < limit) && r.next(e))
            {
                if (shadow != null)
                {
                    symbols.onEvent(e); // remembers module symbols at load, so they keep their names after unload
                    shadow.apply(e);
                }
                if (e.index() < from || (cpu != null && e.cpu() != cpu) || (wanted != null && !wanted[e.kind()]) ||
                    (node != null && !onNode(e.cpu(), node, perNode)))
                {
                    continue;
                }
                sb.setLength(0);
                fmt.format(e, sb);
                if (frames != null && (e.kind() == palimpsest.trace.EventKind.NET_SEND || e.kind() == palimpsest.trace.EventKind.NET_DELIVER))
                {
                    final String d = frames.describeFrame(e.payload(), e.payloadLength());
                    if (d != null)
                    {
                        sb.append("  ").append(d);
                    }
                }
                sb.append('\n');
                w.append(sb);
                printed++;
                if ((printed & 1023) == 0 && w.checkError())
                {
                    return 0; // stdout closed (| head): stop quietly
                }
            }
            final Whole.Extent x = Whole.of(trace, r);
            w.println("-- " + x.message);
            w.flush();
            return Whole.exit(io, 0, x);
        }
    }

    /**
     * Opens a trace; anything but a {@link TraceException} that escapes the reader on a garbage queue
     * (Chronicle throws some checked exceptions sneakily) is still bad input, not our crash.
     */
    static TraceReader open(final Path trace)
    {
        try
        {
            return TraceReader.open(trace);
        }
        catch (final TraceException e)
        {
            throw e;
        }
        catch (final Exception e)
        {
            throw new UserError("cannot read trace " + trace + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : Main.firstLine(e.getMessage())));
        }
    }

    /** The trace's header, read straight from its queue file when it can be (no Chronicle start: queries). */
    static palimpsest.trace.TraceHeader header(final Path trace)
    {
        try
        {
            return palimpsest.trace.TraceSeeker.header(trace);
        }
        catch (final TraceException e)
        {
            throw e;
        }
        catch (final Exception e)
        {
            throw new UserError("cannot read trace " + trace + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : Main.firstLine(e.getMessage())));
        }
    }

    private boolean[] kindFilter()
    {
        if (kinds.isEmpty())
        {
            return null;
        }
        final boolean[] k = new boolean[EventKind.COUNT];
        for (final String name : kinds)
        {
            if ("access".equals(name))
            {
                for (int i = 0; i < EventKind.COUNT; i++)
                {
                    k[i] |= EventKind.isAccess(i);
                }
                continue;
            }
            final int code = EventKind.byName(name);
            if (code < 0)
            {
                final List<String> all = new ArrayList<>();
                for (int i = 0; i < EventKind.COUNT; i++)
                {
                    all.add(EventKind.name(i));
                }
                throw new UserError("unknown event kind '" + name + "'; kinds: access, " + String.join(", ", all));
            }
            k[code] = true;
        }
        return k;
    }

    static String[] interruptSources()
    {
        final List<String> names = new ArrayList<>();
        for (int i = 0; i < 64; i++)
        {
            final String n = InterruptSource.name(i);
            if (n.equals("src" + i))
            {
                break;
            }
            names.add(n);
        }
        return names.toArray(new String[0]);
    }

    /** Symbols from the scenario's code map: rebuild its machine from the header, load, do not run. */
    private Symbolizer symbolizer(final TraceHeader h)
    {
        return symbolizer(plugins, h);
    }

    /** Symbols for a trace from its scenario's code map (none when the scenario is unknown here). */
    static Symbolizer symbolizer(final PluginOptions plugins, final TraceHeader h)
    {
        try
        {
            final Scenario s = plugins.catalog().find(h.scenario());
            if (s == null)
            {
                return Symbolizer.NONE;
            }
            final palimpsest.emulator.CodeMap code = ScenarioCatalog.codeWithoutRunning(s, h);
            return code::symbolize;
        }
        catch (final UserError e)
        {
            throw e;
        }
        catch (final RuntimeException | LinkageError | OutOfMemoryError e)
        {
            return Symbolizer.NONE;
        }
    }

    /** Whether an event's cpu (or device id) belongs to node. */
    static boolean onNode(final int cpu, final int node, final int cpusPerNode)
    {
        return palimpsest.trace.EventKind.isDevice(cpu) ? cpu == palimpsest.trace.EventKind.deviceId(node) : cpu / cpusPerNode == node;
    }
}
