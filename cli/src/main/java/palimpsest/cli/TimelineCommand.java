package palimpsest.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import palimpsest.analyzers.Analysis;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.cli.timeline.ChromeTraceWriter;
import palimpsest.cli.timeline.SvgTimeline;
import palimpsest.cli.timeline.Timeline;
import palimpsest.cli.timeline.TimelineSink;
import palimpsest.emulator.Scenario;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;

@Command(name = "timeline", mixinStandardHelpOptions = true,
    header = "Write a trace's timeline: Chrome trace-event JSON (Perfetto, chrome://tracing) or an SVG.",
    description = {"Write a trace's timeline: one process per node, one thread per cpu, a slice",
        "for the running task with nested slices for interrupts and exceptions, arrows",
        "for IPIs and network frames, markers for cpu hotplug, suspend/resume, module",
        "load/unload, text_poke, oops and the analyzers' findings. Timestamps are event",
        "numbers (1 us = 1 event in the JSON). Open the JSON at https://ui.perfetto.dev",
        "(Open trace file) or in chrome://tracing (Load). Exit 0, or 2 for bad input or",
        "a truncated or damaged trace (the file then holds what was read)."})
final class TimelineCommand implements Callable<Integer>
{
    private final Io io;

    @Parameters(index = "0", paramLabel = "TRACE", description = "Trace directory.")
    Path trace;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "The file to write.")
    Path output;

    @Option(names = "--format", paramLabel = "json|svg", defaultValue = "json", description = "json (default) or svg.")
    String format;

    @Option(names = "--from", paramLabel = "N", defaultValue = "0", description = "First event shown (default: 0).")
    long from;

    @Option(names = "--to", paramLabel = "M", description = "Last event shown (default: the last).")
    Long to;

    @Option(names = "--no-findings", description = "Do not run the analyzers (no finding markers; one pass less).")
    boolean noFindings;

    @Option(names = "--force", description = "Overwrite FILE if it exists.")
    boolean force;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    TimelineCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        Limits.atLeast("--from", from, 0);
        Limits.atLeast("--to", to, 0);
        if (to != null && to < from)
        {
            throw new UserError("--to " + to + " is before --from " + from);
        }
        final boolean svg;
        switch (format)
        {
            case "json": svg = false; break;
            case "svg": svg = true; break;
            default: throw new UserError("--format " + format + ": one of json, svg");
        }
        if (Files.isDirectory(output) || (Files.exists(output) && !force))
        {
            throw new UserError(output + " exists" + (Files.isDirectory(output) ? " and is a directory" : " (--force overwrites it)"));
        }
        final TraceHeader h;
        try (TraceReader r = DumpCommand.open(trace))
        {
            h = r.header();
        }
        plugins.requireFor(h, "timeline");
        // The chunk digests give the event count without decoding: the SVG's x scale needs it, and a
        // window past the end is refused (as state --at is) before anything is written.
        final Whole.Extent readable = Whole.of(trace);
        if (from > 0 && from >= readable.events)
        {
            throw new UserError("--from " + from + " is beyond the last event " +
                (readable.events == 0 ? "(there is none)" : Long.toString(readable.events - 1)) + " of " + trace +
                (readable.complete() ? "" : " (" + readable.message + ")"));
        }
        final long last = to != null ? to : Long.MAX_VALUE;
        final Symbols symbols = Symbols.of(trace, h, plugins::catalog);
        final List<Finding> findings;
        if (noFindings)
        {
            findings = List.of();
        }
        else
        {
            final PassProgress p = new PassProgress(io, "timeline: analyze");
            findings = Analysis.run(trace, symbols, p).findings;
            p.done();
        }
        final Scenario scenario = plugins.catalog().find(h.scenario());
        final MachineShadow shadow = symbols != Symbols.NONE && scenario != null && scenario.usesKernel() ?
            new MachineShadow(h.cpuCount(), h.cpusPerNode()) : null;
        if (shadow != null)
        {
            symbols.readModulesFrom(shadow.memory());
        }
        final String title = trace + ": " + h.scenario() + (h.kernelVersion().isEmpty() ? "" : " " + h.kernelVersion()) +
            (h.kernelPatches().isEmpty() ? "" : " " + String.join(" ", h.kernelPatches())) + ", " + h.nodes() + " node(s) x " +
            h.cpusPerNode() + " cpu(s), schedule " + h.scheduleKind() + " seed " + h.seed();
        final long span = Math.max(from, Math.min(last, readable.events - 1));
        try
        {
            final Path parent = output.toAbsolutePath().getParent();
            if (parent != null)
            {
                Files.createDirectories(parent);
            }
        }
        catch (final IOException e)
        {
            throw new UserError("cannot write " + output + ": " + Main.firstLine(String.valueOf(e.getMessage())));
        }
        final Timeline.Stats stats;
        final Whole.Extent extent;
        final PassProgress progress = new PassProgress(io, "timeline");
        try (TraceReader r = DumpCommand.open(trace);
             Writer w = new BufferedWriter(Files.newBufferedWriter(output, StandardCharsets.UTF_8), 1 << 16))
        {
            final TimelineSink sink = svg ? new SvgTimeline(w, title, from, span) : new ChromeTraceWriter(w, title);
            stats = new Timeline(h, symbols, shadow, findings, from, last, sink).describeFramesWith(scenario).run(r, progress);
            extent = Whole.of(trace, r);
        }
        catch (final IOException | UncheckedIOException e)
        {
            throw new UserError("cannot write " + output + ": " + Main.firstLine(e.getMessage()));
        }
        progress.done();
        io.out.println("wrote " + output + " (" + (svg ? "svg" : "Chrome trace-event json") + "): " +
            (stats.firstEvent < 0 ? "no events in the window" : "events " + stats.firstEvent + ".." + stats.lastEvent) + ", " +
            h.cpuCount() + " cpu track(s), " + Fmt.count(stats.slices) + " slice(s), " + Fmt.count(stats.instants) + " marker(s) (" +
            stats.findings + " finding(s)), " + Fmt.count(stats.flows) + " arrow(s)");
        if (!svg)
        {
            io.out.println("open it at https://ui.perfetto.dev (Open trace file) or in chrome://tracing; 1 us = 1 event");
        }
        return Whole.exit(io, 0, extent);
    }
}
