package palimpsest.analyzers.stack;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.kernel.Layout;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * Stack integrity of frame walks: code that walks a frame-pointer chain (an unwinder, a
 * profiler's backtracer, an oops printer) reads the return address at fp+8, then the next frame
 * pointer at fp, then uses it (reads next+8). The chain of a kernel stack only goes up, and
 * never leaves its THREAD_SIZE-aligned stack. This recognises that access pattern on each cpu
 * and reports a walk that follows a link going the wrong way (next &lt;= fp) or off the stack,
 * with Linux's unwinder warning ({@code WARNING: kernel stack frame pointer at .. has bad value ..})
 * and who wrote the bad link (the who-wrote index). A walker that checks links before using
 * them never shows the pattern; nothing is reported for good chains or for chains ending at 0.
 */
public final class FrameWalkAnalyzer implements Analyzer
{
    private static final int MAX_FINDINGS = 4;

    private final MachineShadow shadow;
    private final Symbols symbols;
    /** Per cpu, the last two 8-byte loads: vaddr, value, paddr, event, pc. */
    private final long[][] last;
    private final List<long[]> bad = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();

    public FrameWalkAnalyzer(final MachineShadow shadow, final Symbols symbols)
    {
        this.shadow = shadow;
        this.symbols = symbols;
        this.last = new long[shadow.cpus()][10];
    }

    @Override
    public String name()
    {
        return "frame-walk";
    }

    /** The kinds {@link #onEvent} looks at (its register writers' too). */
    private static final int KINDS = 1 << EventKind.LOAD | 1 << EventKind.EXCEPTION;

    @Override
    public int kinds()
    {
        return KINDS;
    }

    @Override
    public void onEvent(final Event e)
    {
        final int cpu = e.cpu();
        if (cpu >= last.length)
        {
            return;
        }
        final int kind = e.kind();
        final long[] l = last[cpu];
        if (kind == EventKind.LOAD || kind == EventKind.EXCEPTION)
        {
            // The use of a link: an access at next + 8, where next was just loaded from fp and the
            // load before it read fp + 8.
            final long addr = kind == EventKind.LOAD ? e.vaddr() : e.c();
            final long fp = l[5];
            final long next = l[6];
            if (l[0] == fp + 8 && addr == next + 8 && fp < 0 && next != 0 && (fp & 7) == 0)
            {
                final boolean offStack = (next & -Layout.THREAD_SIZE) != (fp & -Layout.THREAD_SIZE);
                if ((offStack || Long.compareUnsigned(next, fp) <= 0) && bad.size() < MAX_FINDINGS)
                {
                    bad.add(new long[] {e.index(), e.pc(), fp, next, l[7], l[8], l[9], offStack ? 1 : 0, cpu});
                }
            }
            if (kind == EventKind.LOAD && e.size() == 8)
            {
                System.arraycopy(l, 5, l, 0, 5);
                l[5] = e.vaddr();
                l[6] = e.value();
                l[7] = shadow.physKey(cpu, e.paddr());
                l[8] = e.index();
                l[9] = e.pc();
            }
        }
    }

    /** Second stage: who wrote each bad link. */
    public void explain(final Path trace, final WhoWroteIndex idx)
    {
        explain(Probe.of(trace, symbols), idx);
    }

    /** {@link #explain(Path, WhoWroteIndex)} with the probes from a looker. */
    public void explain(final Probe.Looker looker, final WhoWroteIndex idx)
    {
        for (final long[] b : bad)
        {
            final List<WhoWroteIndex.Write> ws = idx.writers(b[4], 8, b[5], false);
            final long writer = ws.isEmpty() ? -1 : ws.get(0).event;
            final Probe.Sight s = writer < 0 ? null : looker.look(List.of(writer)).get(0);
            findings.add(finding(b, s));
        }
        bad.clear();
    }

    public void afterPass(final palimpsest.analyzers.AnalysisContext context)
    {
        if (sawBadWalk())
        {
            explain(context.looker(), context.whoWrote());
        }
    }

    /** The writer of every bad link. */
    @Override
    public java.util.Collection<Long> probes(final palimpsest.analyzers.AnalysisContext context)
    {
        final List<Long> evs = new java.util.ArrayList<>();
        for (final long[] b : bad)
        {
            final List<WhoWroteIndex.Write> ws = context.whoWrote().writers(b[4], 8, b[5], false);
            if (!ws.isEmpty())
            {
                evs.add(ws.get(0).event);
            }
        }
        return evs;
    }

    public boolean sawBadWalk()
    {
        return !bad.isEmpty();
    }

    private Finding finding(final long[] b, final Probe.Sight writer)
    {
        final long event = b[0];
        final long fp = b[2];
        final long next = b[3];
        final boolean offStack = b[7] != 0;
        final String warning = String.format("WARNING: kernel stack frame pointer at %016x in %s has bad value %016x", fp,
            symbols.function(b[6]) != null ? symbols.function(b[6]) : symbols.sym(b[6]), next);
        final StringBuilder t = new StringBuilder(warning);
        t.append(offStack ? " (off the stack)" : " (goes the wrong way)");
        if (writer != null)
        {
            t.append(", written by ").append(symbols.sym(writer.event.pc())).append(" (event ").append(writer.event.index()).append(")");
        }
        final StringBuilder sb = new StringBuilder();
        sb.append("==================================================================\n");
        sb.append(warning).append('\n');
        sb.append(String.format("cpu%d: %s read the link at event %d and used it at event %d (%s)%n", b[8], symbols.sym(b[6]), b[5], event,
            symbols.sym(b[1])));
        sb.append(offStack ? "the next frame pointer is not on the stack the frame is on\n" :
            "the next frame pointer is not above the frame: a chain only goes up\n");
        if (writer != null)
        {
            sb.append(String.format("the link was last written at event %d by %s: 0x%x -> 0x%x%n", writer.event.index(),
                symbols.sym(writer.event.pc()), writer.event.oldValue(), writer.event.value()));
            sb.append("  writer: ").append(symbols.chain(writer.event.pc(), writer.stack)).append('\n');
        }
        else
        {
            sb.append("nobody wrote the link during the trace\n");
        }
        // A symptom: the walk tripped over a bad link; the cause is whoever wrote it (linked).
        return writer == null
            ? new Finding(name(), event, t.toString(), sb.toString(), Finding.Role.SYMPTOM, "frame-walk", "", 60, b[5])
            : new Finding(name(), event, t.toString(), sb.toString(), Finding.Role.SYMPTOM, "frame-walk", "", 60, b[5], writer.event.index());
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    /** {@code pal analyze --only frame-walk}. */
    public static final class Factory extends palimpsest.analyzers.ShadowAnalyzerFactory
    {
        public Factory()
        {
            super("frame-walk", "a frame-pointer walk that leaves its stack or goes the wrong way, and who wrote the bad link",
                (shadow, owners, symbols) -> new FrameWalkAnalyzer(shadow, symbols));
        }
    }
}
