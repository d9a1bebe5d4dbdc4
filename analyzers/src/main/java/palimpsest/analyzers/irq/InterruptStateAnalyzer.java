package palimpsest.analyzers.irq;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.regs.RegisterWriters;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.emulator.Console;
import palimpsest.emulator.Cpu;
import palimpsest.emulator.InterruptSource;
import palimpsest.emulator.Machine;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;

/**
 * Why a cpu was in the state its interrupt handler found intolerable: for a hardware interrupt
 * whose handler stopped the machine (a panic or failed assertion while that interrupt was the
 * innermost one being handled on that cpu), it reports the state the interrupt arrived in (CPL
 * and IF) and who put the cpu there: the last write of IF and of CPL before delivery (register
 * provenance, {@link RegisterWriters}) with the writer's call chain, and the gate it came
 * through: an interrupt gate clears IF on delivery, a trap gate (bit 0 of the IDT entry,
 * {@link Cpu#IDT_TRAP_GATE}) leaves it set, so a handler that checks IF sees the gate type.
 *
 * <p>The class of cause is "an interrupt delivered in a state the handler assumed impossible":
 * kernel-mode interrupts enabled by an idle loop's sti, a trap gate where an interrupt gate was
 * meant. Nothing is reported for runs that end cleanly, for exceptions and software interrupts
 * (the oops chain covers faults), or for a panic outside any interrupt handler.
 */
public final class InterruptStateAnalyzer implements Analyzer
{
    private static final int MAX_OPEN = 64;

    /** One delivered interrupt or exception, still being handled. */
    private static final class Open
    {
        long event;
        long icount;
        int vector;
        int source;
        boolean exception;
        int cpl;
        boolean ifAtArrival;
        long ifEvent;
        long ifPc;
        String ifHow;
        long cplEvent;
        long cplPc;
        String cplHow;
        boolean gateSeen;
        long gateAddr;
        long gate;
        long frameSp = -1;
    }

    private final Symbols symbols;
    private final RegisterWriters regs;
    private final List<List<Open>> open = new ArrayList<>();
    private final long[] sp;
    private final StringBuilder[] line;
    private final String[] lastPanicLine;
    private final List<Finding> findings = new ArrayList<>();
    /** Pending second stage: the finding's parts and the writer events whose call chains it wants. */
    private final List<Object[]> pending = new ArrayList<>();

    public InterruptStateAnalyzer(final int cpus, final Symbols symbols)
    {
        this.symbols = symbols;
        this.regs = new RegisterWriters(cpus);
        this.sp = new long[cpus];
        this.line = new StringBuilder[cpus];
        this.lastPanicLine = new String[cpus];
        for (int i = 0; i < cpus; i++)
        {
            open.add(new ArrayList<>());
            line[i] = new StringBuilder();
        }
    }

    @Override
    public String name()
    {
        return "irq-state";
    }

    /** The kinds {@link #onEvent} looks at (its register writers' too). */
    private static final int KINDS = 1 << EventKind.INTERRUPT | 1 << EventKind.EXCEPTION | 1 << EventKind.LOAD | 1 << EventKind.REG | 1 << EventKind.IO;

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
        final List<Open> stack = open.get(cpu);
        final Open top = stack.isEmpty() ? null : stack.get(stack.size() - 1);
        final boolean atDelivery = top != null && top.icount + 1 == e.icount();   // delivery retires one instruction
        if (kind == EventKind.INTERRUPT || kind == EventKind.EXCEPTION)
        {
            final Open o = new Open();
            o.event = e.index();
            o.icount = e.icount();
            o.vector = (int)e.a();
            o.exception = kind == EventKind.EXCEPTION;
            o.source = o.exception ? -1 : (int)e.b();
            o.cpl = (int)regs.value(cpu, Reg.CPL);
            o.ifAtArrival = RegisterWriters.ifSet(regs.value(cpu, Reg.FLAGS));
            o.ifEvent = regs.event(cpu, Reg.FLAGS);
            o.ifPc = regs.pc(cpu, Reg.FLAGS);
            o.ifHow = regs.describe(cpu, Reg.FLAGS);
            o.cplEvent = regs.event(cpu, Reg.CPL);
            o.cplPc = regs.pc(cpu, Reg.CPL);
            o.cplHow = regs.describe(cpu, Reg.CPL);
            if (stack.size() == MAX_OPEN)
            {
                stack.remove(0);
            }
            stack.add(o);
        }
        else if (kind == EventKind.LOAD && atDelivery && !top.gateSeen && e.size() == 8)
        {
            // The cpu's first 8-byte read at delivery is the IDT entry.
            top.gateSeen = true;
            top.gateAddr = e.vaddr();
            top.gate = e.value();
        }
        else if (kind == EventKind.REG && e.a() == Reg.SP)
        {
            if (atDelivery)
            {
                top.frameSp = e.b();
            }
            regs.onEvent(e);
            if (regs.how(cpu, Reg.SP) == RegisterWriters.BY_IRET)
            {
                // iret reads the frame at SP: the trap whose frame sits there is done.
                for (int i = stack.size() - 1; i >= 0; i--)
                {
                    if (stack.get(i).frameSp == sp[cpu])
                    {
                        stack.remove(i);
                        break;
                    }
                }
            }
            sp[cpu] = e.b();
            return;
        }
        else if (kind == EventKind.IO && e.c() == 1)
        {
            if (e.a() == Console.PORT)
            {
                console(cpu, (char)(e.b() & 0xFF));
            }
            else if (e.a() == Machine.POWER_PORT && e.b() != 0)
            {
                stopped(cpu, e.index());
            }
        }
        regs.onEvent(e);
    }

    private void console(final int cpu, final char ch)
    {
        final StringBuilder sb = line[cpu];
        if (ch == '\n')
        {
            final String l = sb.toString();
            if (l.toLowerCase(java.util.Locale.ROOT).contains("panic") || l.contains("assert") || l.startsWith("BUG"))
            {
                lastPanicLine[cpu] = l.replaceFirst("^\\[[ 0-9.]+\\] ", "");
            }
            sb.setLength(0);
        }
        else if (sb.length() < 240)
        {
            sb.append(ch);
        }
    }

    /** The machine was stopped by software on cpu: a panic. Report if an interrupt handler did it. */
    private void stopped(final int cpu, final long stopEvent)
    {
        final List<Open> stack = open.get(cpu);
        if (stack.isEmpty() || !findings.isEmpty() || !pending.isEmpty())
        {
            return;
        }
        final Open o = stack.get(stack.size() - 1);
        if (o.exception || o.source == InterruptSource.SOFTWARE)
        {
            return;
        }
        pending.add(new Object[] {o, cpu, stopEvent, lastPanicLine[cpu] == null ? "the machine was stopped" : lastPanicLine[cpu]});
    }

    /** Second stage: the call chains of the writers, then the finding. */
    public void explain(final Path trace)
    {
        explain(Probe.of(trace, symbols));
    }

    /** {@link #explain(Path)} with the probes from a looker. */
    public void explain(final Probe.Looker looker)
    {
        for (final Object[] p : pending)
        {
            final Open o = (Open)p[0];
            final int cpu = (Integer)p[1];
            final String what = (String)p[3];
            final List<Long> evs = new ArrayList<>();
            if (o.ifEvent >= 0)
            {
                evs.add(o.ifEvent);
            }
            if (o.cplEvent >= 0 && o.cplEvent != o.ifEvent)
            {
                evs.add(o.cplEvent);
            }
            final List<Probe.Sight> sights = looker.look(evs);
            final long[] ifStack = o.ifEvent >= 0 ? sights.get(0).stack : new long[0];
            final long[] cplStack = o.cplEvent >= 0 ? (o.cplEvent == o.ifEvent ? ifStack : sights.get(sights.size() - 1).stack) : new long[0];
            findings.add(finding(o, cpu, what, ifStack, cplStack));
        }
        pending.clear();
    }

    private Finding finding(final Open o, final int cpu, final String what, final long[] ifStack, final long[] cplStack)
    {
        final String vec = "vector 0x" + Integer.toHexString(o.vector) + " (" + InterruptSource.name(o.source) + " interrupt)";
        final boolean trapGate = o.gateSeen && (o.gate & Cpu.IDT_TRAP_GATE) != 0;
        final String ifWriter = o.ifEvent < 0 ? "never written (reset state)" :
            "the " + o.ifHow + " at " + symbols.sym(o.ifPc) + " (event " + o.ifEvent + ")";
        final String title;
        if (trapGate)
        {
            title = vec + " on cpu" + cpu + " came through a trap gate (IDT entry " + Long.toHexString(o.gateAddr) +
                " = " + Long.toHexString(o.gate) + ", bit 0 set): delivery left IF set (IF set by " + ifWriter +
                "); its handler then failed: " + what;
        }
        else
        {
            title = vec + " arrived on cpu" + cpu + " in " + (o.cpl == 3 ? "user" : "kernel") + " mode (CPL " + o.cpl + ") with IF set by " +
                ifWriter + "; its handler then failed: " + what;
        }
        final StringBuilder sb = new StringBuilder();
        sb.append("==================================================================\n");
        sb.append("interrupt state: ").append(what).append('\n');
        sb.append("while handling ").append(vec).append(" delivered at event ").append(o.event).append(" on cpu").append(cpu).append('\n');
        sb.append("it arrived at CPL ").append(o.cpl).append(o.cpl == 0 ? " (kernel mode)" : " (user mode)").append(" with IF ")
            .append(o.ifAtArrival ? "set" : "clear").append('\n');
        sb.append("IF last written before delivery by ").append(ifWriter).append(o.ifEvent >= 0 ? ":" : "").append('\n');
        symbols.stack(sb, o.ifEvent >= 0 ? o.ifPc : 0, ifStack);
        if (o.cplEvent >= 0)
        {
            sb.append("CPL last written before delivery by the ").append(o.cplHow).append(" at ").append(symbols.sym(o.cplPc))
                .append(" (event ").append(o.cplEvent).append("):\n");
            symbols.stack(sb, o.cplPc, cplStack);
        }
        else
        {
            sb.append("CPL never written before delivery: the cpu was in kernel mode since reset\n");
        }
        if (o.gateSeen)
        {
            sb.append("gate: IDT entry at ").append(Long.toHexString(o.gateAddr)).append(" = ").append(Long.toHexString(o.gate))
                .append(trapGate ? ": a trap gate, delivery does not clear IF (the handler ran with IF set)\n" :
                    ": an interrupt gate, delivery cleared IF\n");
        }
        sb.append("A handler that asserts this state cannot happen is wrong, or the code that made it (the writers above) is.\n");
        // A cause: the code that put the cpu in the state its handler could not take (the IF writer).
        return new Finding(name(), o.event, title, sb.toString(), Finding.Role.CAUSE, "irq-state",
            o.ifEvent >= 0 ? symbols.sym(o.ifPc) : "", 75, o.ifEvent >= 0 ? o.ifEvent : o.event, o.cplEvent >= 0 ? o.cplEvent : o.event);
    }

    @Override
    public void afterPass(final palimpsest.analyzers.AnalysisContext context)
    {
        explain(context.looker());
    }

    /** The IF and CPL writers of every interrupt whose handler failed. */
    @Override
    public java.util.Collection<Long> probes(final palimpsest.analyzers.AnalysisContext context)
    {
        final List<Long> evs = new ArrayList<>();
        for (final Object[] p : pending)
        {
            final Open o = (Open)p[0];
            if (o.ifEvent >= 0)
            {
                evs.add(o.ifEvent);
            }
            if (o.cplEvent >= 0)
            {
                evs.add(o.cplEvent);
            }
        }
        return evs;
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    /** {@code pal analyze --only irq-state}. */
    public static final class Factory extends palimpsest.analyzers.ShadowAnalyzerFactory
    {
        public Factory()
        {
            super((palimpsest.analyzers.AnalysisContext c) -> new InterruptStateAnalyzer(c.header.cpuCount(), c.symbols), "irq-state",
                "an interrupt whose handler failed: why the cpu was in that state (who set IF, CPL; the gate type)");
        }
    }
}
