package palimpsest.analyzers.uninit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.AnalysisContext;
import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.kernel.Mark;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * Zero-fill memory that is not zero: the user-visible uninitialised state a loader leaves when it
 * maps the last page of a file's data and does not clear the rest of it (.bss, which C promises
 * reads 0). The kernel states the promise with {@link Mark#ZERO_FILL} (kernel address, length)
 * where its loader is done with the bytes; this analyzer reads those bytes as the trace wrote them
 * at that moment, and for any that are not zero names the loader path that promised them (the
 * mark's call chain: where the clear belonged) and who last wrote them (the who-wrote index: the
 * copy of the file's following bytes), with the bytes. Nothing is reported when every promised
 * byte is zero, whatever the kernel or the program.
 */
public final class ZeroFill implements Analyzer
{
    private static final int MAX_REPORTS = 8;

    /** One broken promise found in the pass. */
    private static final class Dirty
    {
        long event;
        int cpu;
        long pc;
        long vaddr;
        long key;
        long len;
        int nonZero;
        long firstOff = -1;
        final StringBuilder bytes = new StringBuilder();
    }

    private final MachineShadow shadow;
    private final Symbols symbols;
    private final Path trace;
    private final List<Dirty> dirty = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();
    private long promises;

    public ZeroFill(final MachineShadow shadow, final Symbols symbols, final Path trace)
    {
        this.shadow = shadow;
        this.symbols = symbols;
        this.trace = trace;
    }

    @Override
    public String name()
    {
        return "zero-fill";
    }

    /** Only the kinds onEvent looks at (only ZERO_FILL marks): the pass calls it for nothing else. */
    @Override
    public int kinds()
    {
        return 1 << EventKind.MARK;
    }

    @Override
    public void onEvent(final Event e)
    {
        if (e.kind() != EventKind.MARK || e.a() != Mark.ZERO_FILL || e.cpu() >= shadow.cpus())
        {
            return;
        }
        promises++;
        final long key = shadow.translate(e.cpu(), e.b());
        if (key < 0 || dirty.size() == MAX_REPORTS)
        {
            return;
        }
        Dirty d = null;
        for (long i = 0; i < e.c(); i++)
        {
            final int v = shadow.memory().read8(key + i);
            if (v == 0)
            {
                continue;
            }
            if (d == null)
            {
                d = new Dirty();
                d.event = e.index();
                d.cpu = e.cpu();
                d.pc = e.pc();
                d.vaddr = e.b();
                d.key = key;
                d.len = e.c();
                d.firstOff = i;
            }
            d.nonZero++;
            if (i - d.firstOff < 32)
            {
                d.bytes.append(String.format(" %02x", v));
            }
        }
        if (d != null)
        {
            dirty.add(d);
        }
    }

    @Override
    public void afterPass(final AnalysisContext context)
    {
        for (final Dirty d : dirty)
        {
            report(context, d);
        }
    }

    private void report(final AnalysisContext context, final Dirty d)
    {
        final long firstKey = d.key + d.firstOff;
        final List<WhoWroteIndex.Write> ws = context.whoWrote().writers(firstKey, 1, d.event, false);
        final List<Long> at = new ArrayList<>();
        at.add(d.event);
        if (!ws.isEmpty())
        {
            at.add(ws.get(0).event);
        }
        final List<Probe.Sight> sights = Probe.look(trace, symbols, at);
        final Probe.Sight promise = sights.get(0);
        final String loader = symbols.function(d.pc) != null ? symbols.function(d.pc) : symbols.sym(d.pc);
        final StringBuilder sb = new StringBuilder();
        sb.append("=====================================================\n");
        sb.append("BUG: zero-fill memory not zero: ").append(d.nonZero).append(" of ").append(d.len)
            .append(" bytes that ").append(loader).append(" maps as .bss (zero-fill) hold data\n");
        sb.append("The loader stated them zero at event ").append(d.event).append(" on cpu").append(d.cpu).append(", kernel address ")
            .append(Long.toHexString(d.vaddr)).append(" (phys ").append(Long.toHexString(MachineShadow.paddrOf(d.key))).append(" node ")
            .append(MachineShadow.nodeOf(d.key)).append("), with nothing clearing them before:\n");
        symbols.stack(sb, d.pc, promise.stack);
        sb.append("The first of them, at offset ").append(d.firstOff).append(", reads:").append(d.bytes).append('\n');
        long writer = -1;
        if (ws.isEmpty())
        {
            sb.append("No store wrote them in the trace (left from before it began).\n");
        }
        else
        {
            final Probe.Sight w = sights.get(1);
            writer = ws.get(0).event;
            sb.append("They were last written at event ").append(writer).append(" by ").append(symbols.chain(w.event.pc(), w.stack))
                .append(" (what the page held before the .bss began), and never cleared after.\n");
        }
        sb.append("=====================================================\n");
        final String title = "zero-fill: " + d.nonZero + " .bss bytes left non-zero by " + loader + " (no clear after " +
            (writer >= 0 ? symbols.function(sights.get(1).event.pc()) + "'s copy at event " + writer : "the page was mapped") + ")";
        findings.add(new Finding(name(), d.event, title, sb.toString(), Finding.Role.CAUSE, "dirty-bss",
            loader + "'s .bss tail never cleared", 80, writer));
    }

    @Override
    public String checked()
    {
        return promises + " zero-fill ranges checked";
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    /** The factory ({@code pal analyze --only zero-fill}). */
    public static final class Factory extends palimpsest.analyzers.ShadowAnalyzerFactory
    {
        public Factory()
        {
            super((AnalysisContext c) -> new ZeroFill(c.shadow, c.symbols, c.trace), "zero-fill",
                "zero-fill (.bss) bytes a loader left non-zero: the loader path that promised them, who wrote what they hold");
        }
    }
}
