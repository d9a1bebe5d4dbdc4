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
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.trace.TraceHeader;

@Command(name = "who-wrote", mixinStandardHelpOptions = true,
    description = {"The last writer (or all writers) of [ADDR, ADDR+LEN) before an event, from the who-wrote index",
        "(TRACE/who-wrote.idx, built on first use and rebuilt when stale). ADDR is virtual unless --phys.",
        "Exit 0 when a writer was found, 1 when nobody wrote those bytes, 2 for bad input."})
final class WhoWroteCommand implements Callable<Integer>
{
    private final Io io;

    @Parameters(index = "0", paramLabel = "TRACE", description = "Trace directory.")
    Path trace;

    @Option(names = "--addr", paramLabel = "ADDR", required = true, description = "Address (hex, 0x optional).")
    String addr;

    @Option(names = "--phys", description = "ADDR is physical.")
    boolean phys;

    @Option(names = "--len", paramLabel = "N", defaultValue = "1", description = "Bytes (1..64, default 1).")
    int len;

    @Option(names = "--before", paramLabel = "EVENT", description = "Only writes before this event (default: end).")
    Long before;

    @Option(names = "--all", description = "Every writer, newest first, not only the last one per byte.")
    boolean all;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    WhoWroteCommand(final Io io)
    {
        this.io = io;
    }

    static long parseHex(final String s)
    {
        final String t = s.startsWith("0x") || s.startsWith("0X") ? s.substring(2) : s;
        try
        {
            return Long.parseUnsignedLong(t.replace("_", ""), 16);
        }
        catch (final NumberFormatException e)
        {
            throw new UserError("--addr: not a hex address: " + s);
        }
    }

    @Override
    public Integer call()
    {
        if (len < 1 || len > 64)
        {
            throw new UserError("--len must be 1..64, got " + len);
        }
        if (before != null && before < 0)
        {
            throw new UserError("--before must be >= 0, got " + before);
        }
        final long a = parseHex(addr);
        final TraceHeader h;
        try (var r = DumpCommand.open(trace))
        {
            h = r.header();
        }
        final PassProgress progress = new PassProgress(io, "building the who-wrote index");
        final WhoWroteIndex idx = WhoWroteIndex.openOrBuild(trace, progress);
        progress.done();
        final long end = before == null ? Long.MAX_VALUE : before;
        final long key = phys ? a : idx.translate(a, end);
        final PrintStream out = io.out;
        if (key < 0)
        {
            out.println("no access of the trace maps virtual " + Long.toHexString(a) + " before event " + (before == null ? "the end" : before));
            return 1;
        }
        if (((key & 0xfff) + len) > 4096)
        {
            throw new UserError("[ADDR, ADDR+LEN) must not cross a page");
        }
        final long t0 = System.nanoTime();
        final List<WhoWroteIndex.Write> ws = idx.writers(key, len, end, all);
        final long queryMicros = (System.nanoTime() - t0) / 1000;
        out.println("who wrote " + (phys ? "phys " : "virt ") + Long.toHexString(a) + (phys ? "" : " (phys " + Long.toHexString(key & ((1L << 48) - 1)) + ")")
            + " len " + len + " before " + (before == null ? "the end" : "event " + before) + ": " + ws.size() + " write(s) (index query " + queryMicros + " us)");
        if (ws.isEmpty())
        {
            return 1;
        }
        final Symbols symbols = Symbols.of(h, plugins.catalog());
        final List<Long> evs = new ArrayList<>();
        for (final WhoWroteIndex.Write w : ws)
        {
            evs.add(w.event);
        }
        final List<Probe.Sight> sights = Probe.look(trace, symbols, evs);
        for (int i = 0; i < ws.size(); i++)
        {
            final Probe.Sight s = sights.get(i);
            final var e = s.event;
            out.println();
            out.println("#" + e.index() + " cpu" + e.cpu() + " task " + s.task + " " + palimpsest.trace.EventKind.name(e.kind()) + "." + e.size()
                + " virt " + Long.toHexString(e.vaddr()) + " phys " + Long.toHexString(e.paddr()) + " by " + symbols.sym(e.pc()));
            out.println("  " + String.format("0x%x -> 0x%x", e.oldValue(), e.value()));
            out.println("  writer: " + symbols.chain(e.pc(), s.stack));
            final StringBuilder st = symbols.stack(new StringBuilder(), e.pc(), s.stack);
            out.print(st.toString().replaceAll("(?m)^", "  "));
            out.print(s.owner.replaceAll("(?m)^", "  "));
        }
        return 0;
    }
}
