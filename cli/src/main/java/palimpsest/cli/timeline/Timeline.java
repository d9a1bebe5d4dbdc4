package palimpsest.cli.timeline;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.regs.RegisterWriters;
import palimpsest.emulator.Apic;
import palimpsest.emulator.Cpu;
import palimpsest.emulator.InterruptSource;
import palimpsest.emulator.Scenario;
import palimpsest.kernel.Mark;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceStatus;

/**
 * One pass over a trace that turns its events into a timeline: per cpu, a slice for the task it runs
 * (from TASK_SWITCH events, as the race analyzer tells threads apart; "boot" before a cpu's first
 * switch and after a core reset), and inside it a nested slice for every interrupt and exception
 * until the iret that pops its frame (the trap whose frame SP the iret reads, as the irq-state
 * analyzer pairs them). A trap open when its task is switched out is closed there and reopened when
 * the task runs again, on whatever cpu, so slices always nest. IPIs become arrows from the sender to
 * the delivery of that vector on the destination (INIT/SIPI to the core reset they cause), network
 * frames arrows from the sending NIC to the receiving one (by source node and frame id). Kernel marks
 * for cpu hotplug, suspend/resume, module load/unload, text_poke and oops, core resets and the
 * analyzers' findings become instants at their event.
 *
 * <p>Timestamps are event numbers. Events before the window still update the state, so a window that
 * starts inside a slice opens it at its first timestamp; everything open is closed at the window's
 * end, and an arrow whose far end lies beyond the read events ends there ("not delivered").
 */
public final class Timeline
{
    /** Traps nested deeper than this on one cpu drop their oldest (a runaway fault loop). */
    private static final int MAX_TRAPS = 64;

    /** An interrupt or exception whose handler has not returned. */
    private static final class Trap
    {
        long icount;
        long frameSp = -1;
        String name;
        String category;
        String[] args;
    }

    /** An arrow whose start was seen and whose end was not yet. */
    private static final class Pending
    {
        final long id;
        final long vector;
        final boolean fixed;
        final boolean shown;
        final String name;
        final String category;

        Pending(final long id, final long vector, final boolean fixed, final boolean shown, final String name, final String category)
        {
            this.id = id;
            this.vector = vector;
            this.fixed = fixed;
            this.shown = shown;
            this.name = name;
            this.category = category;
        }
    }

    /** What was drawn. */
    public static final class Stats
    {
        public long slices;
        public long instants;
        public long flows;
        public long findings;
        public long firstEvent = -1;
        public long lastEvent = -1;
        public long eventsRead;
    }

    private final TraceHeader header;
    private final Symbols symbols;
    private final MachineShadow shadow;
    private final TimelineSink sink;
    private Scenario frameNames;
    private final long from;
    private final long to;
    private final List<Finding> findings;
    private final int cpus;
    private final int perNode;
    private final RegisterWriters regs;
    private final boolean[] started;
    private final long[] task;
    private final long[] sp;
    private final List<ArrayDeque<Trap>> traps = new ArrayList<>();
    private final Map<Long, ArrayDeque<Trap>> parked = new HashMap<>();
    private final List<List<Pending>> ipis = new ArrayList<>();
    private final Map<Long, Pending> frames = new HashMap<>();
    private final boolean[] nicNamed;
    private final Stats stats = new Stats();
    private boolean showing;
    private boolean tracksNamed;
    private long last = -1;
    private long nextFlow = 1;
    private int nextFinding;

    /**
     * @param symbols  the scenario's symbols (module symbols follow the shadow), or {@link Symbols#NONE}
     * @param shadow   memory the symbols read module tables from, or null
     * @param findings the analyzers' findings, sorted by event (shown at their event)
     * @param to       last event shown (inclusive), Long.MAX_VALUE for all
     */
    public Timeline(final TraceHeader header, final Symbols symbols, final MachineShadow shadow, final List<Finding> findings,
        final long from, final long to, final TimelineSink sink)
    {
        this.header = header;
        this.symbols = symbols;
        this.shadow = shadow;
        this.findings = findings;
        this.from = from;
        this.to = to;
        this.sink = sink;
        cpus = header.cpuCount();
        perNode = header.cpusPerNode();
        regs = new RegisterWriters(cpus);
        started = new boolean[cpus];
        task = new long[cpus];
        sp = new long[cpus];
        nicNamed = new boolean[header.nodes()];
        for (int c = 0; c < cpus; c++)
        {
            traps.add(new ArrayDeque<>());
            ipis.add(new ArrayList<>());
        }
    }

    /** Names network frames as the scenario reads their payload (pal dump's "ibapi REQ ..."). */
    public Timeline describeFramesWith(final Scenario scenario)
    {
        frameNames = scenario;
        return this;
    }

    /** Reads the trace to its end (or past the window) and finishes the sink. */
    public Stats run(final TraceReader reader, final LongConsumer progress)
    {
        final Event e = new Event();
        while (reader.next(e) && accept(e))
        {
            if (progress != null && (e.index() & 0xfffff) == 0)
            {
                progress.accept(e.index());
            }
        }
        if (reader.status() == TraceStatus.READING)
        {
            reader.verify();   // a window ends early: the rest is still checked, so the file says whether the trace is whole
        }
        return finish(reader.statusMessage());
    }

    /**
     * One event, in trace order.
     *
     * @return false once past the window (the event is not used; call {@link #finish})
     */
    public boolean accept(final Event e)
    {
        nameTracks();
        final long index = e.index();
        if (index > to)
        {
            return false;
        }
        last = index;
        if (!showing && index >= from)
        {
            show(index);
        }
        if (shadow != null)
        {
            symbols.onEvent(e);
            shadow.apply(e);
        }
        onEvent(e);
        return true;
    }

    private void nameTracks()
    {
        if (!tracksNamed)
        {
            tracksNamed = true;
            for (int c = 0; c < cpus; c++)
            {
                sink.track(c / perNode, c, "cpu" + c);
            }
        }
    }

    /** Closes what is open at the end of the events read and finishes the sink with the trace's status line. */
    public Stats finish(final String traceStatus)
    {
        nameTracks();
        stats.eventsRead = last + 1;
        final long end = last + 1;
        if (showing)
        {
            while (nextFinding < findings.size())
            {
                final Finding f = findings.get(nextFinding++);
                if (f.event >= from && f.event <= to)
                {
                    finding(f, 0, -1, end);   // beyond the events read: a global marker at the end
                }
            }
            closeAll(end);
        }
        stats.firstEvent = showing ? Math.max(from, 0) : -1;
        stats.lastEvent = showing ? last : -1;
        sink.finish(showing ? from : 0, showing ? end : 0, traceStatus);
        return stats;
    }

    private void show(final long ts)
    {
        showing = true;
        for (int c = 0; c < cpus; c++)
        {
            if (started[c])
            {
                begin(c, ts, taskName(c, task[c]), "task", "task", Long.toString(task[c]));
                for (final Trap t : traps.get(c))
                {
                    begin(c, ts, t.name, t.category, t.args);
                }
            }
        }
    }

    private void onEvent(final Event e)
    {
        final int cpu = e.cpu();
        final long ts = e.index();
        if (showing)
        {
            findingsUpTo(e);
        }
        if (EventKind.isDevice(cpu))
        {
            device(e);
            return;
        }
        if (cpu >= cpus)
        {
            return;
        }
        if (!started[cpu])
        {
            started[cpu] = true;
            begin(cpu, ts, taskName(cpu, 0), "task", "task", "0");
        }
        final ArrayDeque<Trap> stack = traps.get(cpu);
        final Trap top = stack.peekLast();
        switch (e.kind())
        {
            case EventKind.INTERRUPT:
            case EventKind.EXCEPTION:
                trap(e, stack);
                break;
            case EventKind.REG:
                reg(e, stack, top);
                break;
            case EventKind.TASK_SWITCH:
                switchTask(cpu, ts, e.a(), e.b());
                break;
            case EventKind.IPI:
                ipi(e);
                break;
            case EventKind.MARK:
                mark(e);
                break;
            default:
                break;
        }
        if (e.kind() != EventKind.REG)
        {
            regs.onEvent(e);
        }
    }

    private void trap(final Event e, final ArrayDeque<Trap> stack)
    {
        final int cpu = e.cpu();
        final long ts = e.index();
        final Trap t = new Trap();
        t.icount = e.icount();
        final int vector = (int)e.a();
        final String at = symbols.sym(e.pc());
        if (e.kind() == EventKind.EXCEPTION)
        {
            t.name = exceptionName(vector);
            t.category = "exception";
            t.args = new String[] {"vector", Integer.toString(vector), "error", "0x" + Long.toHexString(e.b()),
                "address", Symbols.hex16(e.c()), "at", at, "event", Long.toString(ts)};
        }
        else
        {
            final int source = (int)e.b();
            t.name = (source == InterruptSource.SOFTWARE ? "int" : InterruptSource.name(source)) + " 0x" + Integer.toHexString(vector);
            t.category = "irq-" + InterruptSource.name(source);
            t.args = new String[] {"vector", "0x" + Integer.toHexString(vector), "source", InterruptSource.name(source), "at", at,
                "event", Long.toString(ts)};
        }
        if (stack.size() == MAX_TRAPS)
        {
            // Keep nesting strict: close everything, drop the oldest, reopen the rest.
            closeTraps(cpu, ts, stack);
            stack.removeFirst();
            reopen(cpu, ts, stack);
        }
        stack.addLast(t);
        begin(cpu, ts, t.name, t.category, t.args);
        if (e.kind() == EventKind.INTERRUPT && e.b() == InterruptSource.IPI)
        {
            arrive(cpu, ts, true, vector);
        }
    }

    private void reg(final Event e, final ArrayDeque<Trap> stack, final Trap top)
    {
        final int cpu = e.cpu();
        final long ts = e.index();
        final int reg = (int)e.a();
        if (reg == Cpu.REG_RESET)
        {
            regs.onEvent(e);
            closeTraps(cpu, ts, stack);
            stack.clear();
            end(cpu, ts);
            task[cpu] = 0;
            begin(cpu, ts, taskName(cpu, 0), "task", "task", "0");
            instant(cpu, ts, "reset", "hotplug", "at", symbols.sym(e.pc()));
            arrive(cpu, ts, false, -1);
            return;
        }
        if (reg != Reg.SP)
        {
            regs.onEvent(e);
            return;
        }
        if (top != null && top.frameSp < 0 && top.icount + 1 == e.icount())
        {
            top.frameSp = e.b();   // delivery pushed the trap frame here
        }
        regs.onEvent(e);
        if (regs.how(cpu, Reg.SP) == RegisterWriters.BY_IRET)
        {
            // iret read the frame at the old SP: that trap, and any left open above it, are done.
            int depth = 0;
            Trap hit = null;
            final Iterator<Trap> it = stack.descendingIterator();
            while (it.hasNext())
            {
                final Trap t = it.next();
                depth++;
                if (t.frameSp == sp[cpu])
                {
                    hit = t;
                    break;
                }
            }
            if (hit != null)
            {
                for (int i = 0; i < depth; i++)
                {
                    stack.removeLast();
                    end(cpu, ts);
                }
            }
        }
        sp[cpu] = e.b();
    }

    private void switchTask(final int cpu, final long ts, final long fromTask, final long toTask)
    {
        final ArrayDeque<Trap> stack = traps.get(cpu);
        closeTraps(cpu, ts, stack);
        if (!stack.isEmpty())
        {
            parked.put(fromTask, new ArrayDeque<>(stack));
            stack.clear();
        }
        end(cpu, ts);
        task[cpu] = toTask;
        begin(cpu, ts, taskName(cpu, toTask), "task", "task", Long.toString(toTask));
        final ArrayDeque<Trap> back = parked.remove(toTask);
        if (back != null)
        {
            stack.addAll(back);
            reopen(cpu, ts, stack);
        }
    }

    private void ipi(final Event e)
    {
        final int cpu = e.cpu();
        final long ts = e.index();
        final long dest = e.a();
        if (dest < 0 || dest >= cpus)
        {
            return;
        }
        final int mode = (int)e.b();
        final String name = "ipi " + Apic.modeName(mode) + (mode == Apic.MODE_FIXED ? " 0x" + Long.toHexString(e.c()) : "");
        final Pending p = new Pending(nextFlow++, e.c(), mode == Apic.MODE_FIXED, showing, name, "ipi");
        ipis.get((int)dest).add(p);
        if (showing)
        {
            sink.flow(true, p.id, nodeOf(cpu), cpu, ts, name, "ipi");
            stats.flows++;
        }
    }

    /** An IPI's effect on cpu: the delivery of a fixed vector, or the core reset INIT/SIPI cause. */
    private void arrive(final int cpu, final long ts, final boolean fixed, final long vector)
    {
        final Iterator<Pending> it = ipis.get(cpu).iterator();
        while (it.hasNext())
        {
            final Pending p = it.next();
            if (p.fixed == fixed && (!fixed || p.vector == vector))
            {
                it.remove();
                if (p.shown && showing)
                {
                    sink.flow(false, p.id, nodeOf(cpu), cpu, ts, p.name, p.category);
                }
            }
        }
    }

    private void device(final Event e)
    {
        final int node = e.cpu() - EventKind.deviceId(0);
        if (node < 0 || node >= nicNamed.length)
        {
            return;
        }
        final int kind = e.kind();
        if (kind != EventKind.NET_SEND && kind != EventKind.NET_DELIVER)
        {
            return;
        }
        final int tid = e.cpu();
        if (!nicNamed[node])
        {
            nicNamed[node] = true;
            sink.track(node, tid, "nic" + node);
        }
        final long ts = e.index();
        final long peer = e.a();
        final long frame = e.b();
        final String what = showing && frameNames != null ? frameNames.describeFrame(e.payload(), e.payloadLength()) : null;
        if (kind == EventKind.NET_SEND)
        {
            final Pending p = new Pending(nextFlow++, peer, false, showing, "frame " + frame + " to node" + peer, "net");
            frames.put((long)node << 40 | (frame & 0xff_ffff_ffffL), p);
            if (showing)
            {
                sink.complete(node, tid, ts, 1, "send " + frame + (what == null ? "" : " " + what), "net", "frame", Long.toString(frame),
                    "to", "node" + peer, "bytes", Integer.toString(e.payloadLength()), "payload", what);
                sink.flow(true, p.id, node, tid, ts, p.name, "net");
                stats.slices++;
                stats.flows++;
            }
        }
        else if (showing)
        {
            sink.complete(node, tid, ts, 1, "deliver " + frame + (what == null ? "" : " " + what), "net", "frame", Long.toString(frame),
                "from", "node" + peer, "bytes", Integer.toString(e.payloadLength()), "payload", what);
            stats.slices++;
            final Pending p = frames.remove(peer << 40 | (frame & 0xff_ffff_ffffL));
            if (p != null && p.shown)
            {
                sink.flow(false, p.id, node, tid, ts, p.name, "net");
            }
        }
        else
        {
            frames.remove(peer << 40 | (frame & 0xff_ffff_ffffL));
        }
    }

    private void mark(final Event e)
    {
        final long type = e.a();
        final int cpu = e.cpu();
        final long ts = e.index();
        final String at = symbols.sym(e.pc());
        if (type == Mark.CPU_UP || type == Mark.CPU_DOWN)
        {
            instant(cpu, ts, Mark.name(type) + " " + e.b(), "hotplug", "cpu", Long.toString(e.b()), "at", at);
        }
        else if (type == Mark.SUSPEND || type == Mark.RESUME)
        {
            instant(cpu, ts, Mark.name(type), "power", "at", at);
        }
        else if (type == Mark.MODULE_LOAD || type == Mark.MODULE_UNLOAD)
        {
            // The module's name is what its text symbolizes to: "e1000_probe+0x0/0x80 [e1000]".
            final String text = symbols.sym(e.c());
            final int open = text.lastIndexOf(" [");
            final String module = open >= 0 && text.endsWith("]") ? " " + text.substring(open + 2, text.length() - 1) : "";
            instant(cpu, ts, Mark.name(type) + module, "module", "module", Symbols.hex16(e.b()), "text", Symbols.hex16(e.c()),
                "text symbol", text, "at", at);
        }
        else if (type == Mark.TEXT_POKE)
        {
            instant(cpu, ts, "text_poke 0x" + Long.toHexString(e.c() & 0xFF) + " at " + symbols.sym(e.b()), "text_poke",
                "address", Symbols.hex16(e.b()), "opcode", "0x" + Long.toHexString(e.c() & 0xFF), "length",
                Long.toString(e.c() >>> 8), "at", at);
        }
        else if (type == Mark.OOPS)
        {
            final String function = symbols.function(e.c());
            instant(cpu, ts, "oops in " + (function != null ? function : Symbols.hex16(e.c())), "oops", "address", Symbols.hex16(e.b()), "pc", symbols.sym(e.c()));
        }
        else if (type == Mark.ALT_SMP_SWITCH)
        {
            instant(cpu, ts, "alternatives " + (e.b() != 0 ? "smp" : "up"), "text_poke", "online cpus", Long.toString(e.c()), "at", at);
        }
    }

    private void findingsUpTo(final Event e)
    {
        while (nextFinding < findings.size() && findings.get(nextFinding).event <= e.index())
        {
            final Finding f = findings.get(nextFinding++);
            if (f.event < from)
            {
                continue;
            }
            final int cpu = e.cpu();
            final int nic = cpu - EventKind.deviceId(0);
            if (EventKind.isDevice(cpu))
            {
                final boolean named = nic < nicNamed.length && nicNamed[nic];
                finding(f, named ? nic : 0, named ? cpu : -1, e.index());
            }
            else
            {
                finding(f, cpu < cpus ? nodeOf(cpu) : 0, cpu < cpus && started[cpu] ? cpu : -1, e.index());
            }
        }
    }

    private void finding(final Finding f, final int node, final int tid, final long ts)
    {
        sink.instant(node, tid, ts, "[" + f.analyzer + "] " + f.title, "finding", "analyzer", f.analyzer, "class",
            f.bugClass, "culprit", f.culprit, "role", String.valueOf(f.role), "event", Long.toString(f.event));
        stats.instants++;
        stats.findings++;
    }

    private void closeAll(final long ts)
    {
        for (int c = 0; c < cpus; c++)
        {
            if (started[c])
            {
                closeTraps(c, ts, traps.get(c));
                end(c, ts);
            }
            for (final Pending p : ipis.get(c))
            {
                if (p.shown)
                {
                    // Still pending when the window ends: the arrow ends there, on a slice saying so (after
                    // the cpu's slices closed, so it nests in none of them).
                    sink.complete(nodeOf(c), c, ts, 1, p.name + " not delivered", p.category);
                    sink.flow(false, p.id, nodeOf(c), c, ts, p.name, p.category);
                    stats.slices++;
                }
            }
            ipis.get(c).clear();
        }
        for (final Map.Entry<Long, Pending> f : frames.entrySet().stream()
            .sorted(Map.Entry.comparingByValue((x, y) -> Long.compare(x.id, y.id))).toList())
        {
            final Pending p = f.getValue();
            if (p.shown)
            {
                final int node = (int)Math.max(0, Math.min(p.vector, nicNamed.length - 1));
                final int tid = EventKind.deviceId(node);
                if (!nicNamed[node])
                {
                    nicNamed[node] = true;
                    sink.track(node, tid, "nic" + node);
                }
                sink.complete(node, tid, ts, 1, p.name + " not delivered", "net");
                sink.flow(false, p.id, node, tid, ts, p.name, "net");
                stats.slices++;
            }
        }
        frames.clear();
    }

    private void closeTraps(final int cpu, final long ts, final ArrayDeque<Trap> stack)
    {
        for (int i = 0; i < stack.size(); i++)
        {
            end(cpu, ts);
        }
    }

    private void reopen(final int cpu, final long ts, final ArrayDeque<Trap> stack)
    {
        for (final Trap t : stack)
        {
            begin(cpu, ts, t.name, t.category, t.args);
        }
    }

    private void begin(final int cpu, final long ts, final String name, final String category, final String... args)
    {
        if (showing)
        {
            sink.begin(nodeOf(cpu), cpu, ts, name, category, args);
            stats.slices++;
        }
    }

    private void end(final int cpu, final long ts)
    {
        if (showing)
        {
            sink.end(nodeOf(cpu), cpu, ts);
        }
    }

    private void instant(final int cpu, final long ts, final String name, final String category, final String... args)
    {
        if (showing)
        {
            sink.instant(nodeOf(cpu), cpu, ts, name, category, args);
            stats.instants++;
        }
    }

    private int nodeOf(final int cpu)
    {
        return cpu / perNode;
    }

    private static String taskName(final int cpu, final long task)
    {
        return task == 0 ? "boot cpu" + cpu : "task " + task;
    }

    static String exceptionName(final int vector)
    {
        switch (vector)
        {
            case 0: return "#DE";
            case 1: return "#DB";
            case 2: return "NMI";
            case 3: return "#BP";
            case 6: return "#UD";
            case 8: return "#DF";
            case 13: return "#GP";
            case 14: return "#PF";
            default: return "exception " + vector;
        }
    }
}
