package palimpsest.analyzers.stack;

import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.regs.RegisterWriters;
import palimpsest.emulator.InterruptSource;
import palimpsest.kernel.Layout;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;

/**
 * SP and FP out of step when an interrupt arrives: in kernel mode a frame pointer always points
 * at or above the stack pointer (the current frame is on the live part of the stack). An
 * interrupt taken while FP points <em>below</em> SP on the same stack (code that moved SP and has
 * not yet moved FP, e.g. a stack reset done SP first) runs its handler on exactly the bytes the
 * stale frame chain lives in: the handler's pushes overwrite them, and anything that walks the
 * interrupted context's frames (a profiler, a backtrace) reads the handler's data as frames.
 *
 * <p>For each such interrupt it reports where it was taken, the last SP and FP writes before it
 * (register provenance: the code that left them inconsistent), the first store by the handler
 * into the stale frame's two words ([fp] = saved FP, [fp+8] = return address) and the first read
 * of those words after it. Nothing is reported while FP is 0, at or above SP, or on another stack.
 */
public final class StaleFramePointerAnalyzer implements Analyzer
{
    private static final int MAX_FINDINGS = 4;

    private static final class Window
    {
        int cpu;
        long event;
        long pc;
        int vector;
        int source;
        long sp;
        long fp;
        long spEvent;
        long spPc;
        long fpEvent;
        long fpPc;
        long clobberEvent = -1;
        long clobberPc;
        /** Per word of the stale frame (0: [fp], the saved FP; 1: [fp+8], the return address): first store and first read after it. */
        final long[] storeEvent = {-1, -1};
        final long[] storePc = new long[2];
        final long[] storeOld = new long[2];
        final long[] storeNew = new long[2];
        final long[] loadEvent = {-1, -1};
        final long[] loadPc = new long[2];
        final long[] loadValue = new long[2];
        long readEvent = -1;
        long readPc;
        int windows = 1;
    }

    private final Symbols symbols;
    private final RegisterWriters regs;
    private final long[] sp;
    private final long[] fp;
    private final Window[] open;
    private final List<Window> done = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();
    private int windowsSeen;

    public StaleFramePointerAnalyzer(final int cpus, final Symbols symbols)
    {
        this.symbols = symbols;
        this.regs = new RegisterWriters(cpus);
        this.sp = new long[cpus];
        this.fp = new long[cpus];
        this.open = new Window[cpus];
    }

    @Override
    public String name()
    {
        return "stale-fp";
    }

    /** The kinds {@link #onEvent} looks at (its register writers' too). */
    private static final int KINDS = 1 << EventKind.INTERRUPT | 1 << EventKind.EXCEPTION | 1 << EventKind.STORE | 1 << EventKind.LOAD | 1 << EventKind.REG;

    @Override
    public int kinds()
    {
        return KINDS;
    }

    @Override
    public void onEvent(final Event e)
    {
        final int cpu = e.cpu();
        if (cpu >= sp.length)
        {
            return;
        }
        final int kind = e.kind();
        final Window w = open[cpu];
        if ((kind == EventKind.INTERRUPT || kind == EventKind.EXCEPTION) && w == null && regs.value(cpu, Reg.CPL) == 0)
        {
            final long s = sp[cpu];
            final long f = fp[cpu];
            // leave = mov rsp, rbp; pop rbp is one instruction on hardware; here its pop moves SP
            // before FP is loaded (FP = SP - 8, both by the same pc): not a window.
            final boolean inLeave = s - f == 8 && regs.pc(cpu, Reg.SP) == e.pc();
            if (f != 0 && s != 0 && Long.compareUnsigned(f, s) < 0 && region(f) == region(s) && !inLeave)
            {
                windowsSeen++;
                final Window n = new Window();
                n.cpu = cpu;
                n.event = e.index();
                n.pc = e.pc();
                n.vector = (int)e.a();
                n.source = kind == EventKind.EXCEPTION ? -1 : (int)e.b();
                n.sp = s;
                n.fp = f;
                n.spEvent = regs.event(cpu, Reg.SP);
                n.spPc = regs.pc(cpu, Reg.SP);
                n.fpEvent = regs.event(cpu, Reg.FP);
                n.fpPc = regs.pc(cpu, Reg.FP);
                open[cpu] = n;
            }
        }
        else if (w != null && kind == EventKind.STORE && overlaps(e.vaddr(), e.size(), w.fp))
        {
            final int word = Long.compareUnsigned(e.vaddr(), w.fp + 8) >= 0 ? 1 : 0;
            if (w.storeEvent[word] < 0)
            {
                w.storeEvent[word] = e.index();
                w.storePc[word] = e.pc();
                w.storeOld[word] = e.oldValue();
                w.storeNew[word] = e.value();
            }
            if (w.clobberEvent < 0)
            {
                w.clobberEvent = e.index();
                w.clobberPc = e.pc();
            }
        }
        else if (w != null && kind == EventKind.LOAD && w.clobberEvent >= 0 && overlaps(e.vaddr(), e.size(), w.fp))
        {
            final int word = Long.compareUnsigned(e.vaddr(), w.fp + 8) >= 0 ? 1 : 0;
            if (w.loadEvent[word] < 0 && w.storeEvent[word] >= 0)
            {
                w.loadEvent[word] = e.index();
                w.loadPc[word] = e.pc();
                w.loadValue[word] = e.value();
            }
            if (w.readEvent < 0)
            {
                w.readEvent = e.index();
                w.readPc = e.pc();
            }
        }
        else if (kind == EventKind.REG)
        {
            final int reg = (int)e.a();
            if (reg == Reg.SP)
            {
                sp[cpu] = e.b();
                // Back in the interrupted context (iret restored its SP): the window is over.
                if (w != null && Long.compareUnsigned(e.b(), w.sp) >= 0 && region(e.b()) == region(w.sp))
                {
                    close(cpu);
                }
            }
            else if (reg == Reg.FP)
            {
                fp[cpu] = e.b();
            }
            else if (reg == palimpsest.emulator.Cpu.REG_RESET)
            {
                sp[cpu] = 0;
                fp[cpu] = 0;
                open[cpu] = null;
            }
        }
        regs.onEvent(e);
    }

    /** The THREAD_SIZE-aligned stack an SP or FP value is on (an empty stack's SP is its top: the stack below). */
    private static long region(final long spOrFp)
    {
        return (spOrFp - 1) & -Layout.THREAD_SIZE;
    }

    private static boolean overlaps(final long addr, final int size, final long fp)
    {
        return Long.compareUnsigned(addr + size, fp) > 0 && Long.compareUnsigned(addr, fp + 16) < 0;
    }

    private void close(final int cpu)
    {
        final Window w = open[cpu];
        open[cpu] = null;
        keep(w);
    }

    private void keep(final Window w)
    {
        // The damaging windows first; of the harmless ones only the first, counted.
        if (w.clobberEvent >= 0 && done.size() < MAX_FINDINGS)
        {
            done.removeIf(d -> d.clobberEvent < 0);
            done.add(w);
        }
        else if (done.isEmpty())
        {
            done.add(w);
        }
    }

    @Override
    public void onEnd()
    {
        for (int c = 0; c < open.length; c++)
        {
            if (open[c] != null)
            {
                close(c);
            }
        }
        for (final Window w : done)
        {
            findings.add(finding(w));
        }
    }

    private Finding finding(final Window w)
    {
        final String what = w.source < 0 ? "exception 0x" + Integer.toHexString(w.vector) :
            "interrupt 0x" + Integer.toHexString(w.vector) + " (" + InterruptSource.name(w.source) + ")";
        final long below = w.sp - w.fp;
        final StringBuilder t = new StringBuilder();
        t.append(what).append(" taken at ").append(symbols.sym(w.pc)).append(" on cpu").append(w.cpu)
            .append(" after the SP write at ").append(symbols.sym(w.spPc)).append(" (event ").append(w.spEvent)
            .append(") and before FP followed: FP ").append(Long.toHexString(w.fp)).append(" points 0x").append(Long.toHexString(below))
            .append(" below the SP ").append(Long.toHexString(w.sp)).append(" the handler runs on");
        if (w.clobberEvent >= 0)
        {
            t.append("; the handler's ").append(symbols.function(w.clobberPc) != null ? symbols.function(w.clobberPc) : symbols.sym(w.clobberPc))
                .append(" overwrote the stale frame (event ").append(w.clobberEvent).append(")");
            if (w.readEvent >= 0)
            {
                t.append(" and ").append(symbols.function(w.readPc) != null ? symbols.function(w.readPc) : symbols.sym(w.readPc))
                    .append(" read it as a frame (event ").append(w.readEvent).append(")");
            }
        }
        final StringBuilder sb = new StringBuilder();
        sb.append("==================================================================\n");
        sb.append("stale frame pointer at ").append(what).append(", cpu").append(w.cpu).append(", event ").append(w.event).append('\n');
        sb.append("interrupted at ").append(symbols.sym(w.pc)).append(" with SP ").append(Long.toHexString(w.sp)).append(" and FP ")
            .append(Long.toHexString(w.fp)).append(": FP is 0x").append(Long.toHexString(below)).append(" bytes below SP, on the same stack\n");
        sb.append("SP last written by ").append(symbols.sym(w.spPc)).append(" (event ").append(w.spEvent).append(")\n");
        sb.append("FP last written by ").append(symbols.sym(w.fpPc)).append(" (event ").append(w.fpEvent).append(")")
            .append(w.fpEvent < w.spEvent ? ", before that SP write: FP was left stale\n" : "\n");
        sb.append("the handler's frames go below SP, over the bytes the stale frame chain lives in:\n");
        final String[] word = {"saved FP", "return address"};
        for (int i = 0; i < 2; i++)
        {
            if (w.storeEvent[i] >= 0)
            {
                sb.append(String.format("  [%x] (%s): overwritten at event %d by %s, 0x%x -> 0x%x%n", w.fp + 8L * i, word[i], w.storeEvent[i],
                    symbols.sym(w.storePc[i]), w.storeOld[i], w.storeNew[i]));
                if (w.loadEvent[i] >= 0)
                {
                    sb.append(String.format("      then read at event %d by %s as the %s: 0x%x%n", w.loadEvent[i], symbols.sym(w.loadPc[i]),
                        i == 0 ? "next frame pointer" : "return address", w.loadValue[i]));
                }
            }
        }
        if (w.clobberEvent < 0)
        {
            sb.append("  (none of the handler's stores reached the stale frame this time)\n");
        }
        sb.append("windows like this in the trace: ").append(windowsSeen).append('\n');
        sb.append("Fix: zero (or move) FP before SP, with interrupts disabled across the pair.\n");
        // A cause: the interrupted site, where SP and FP were out of step when the interrupt came.
        return new Finding(name(), w.event, t.toString(), sb.toString(), Finding.Role.CAUSE, "stale-fp", symbols.sym(w.pc), 80,
            w.spEvent, w.fpEvent, w.clobberEvent >= 0 ? w.clobberEvent : w.event);
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    /** {@code pal analyze --only stale-fp}. */
    public static final class Factory extends palimpsest.analyzers.ShadowAnalyzerFactory
    {
        public Factory()
        {
            super((palimpsest.analyzers.AnalysisContext c) -> new StaleFramePointerAnalyzer(c.header.cpuCount(), c.symbols), "stale-fp",
                "an interrupt taken with FP below SP on the same stack: the handler's frames clobber the stale chain");
        }
    }
}
