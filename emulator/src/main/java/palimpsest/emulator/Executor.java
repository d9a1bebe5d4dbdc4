package palimpsest.emulator;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.LockSupport;

import palimpsest.emulator.input.InputSource;
import palimpsest.trace.EventKind;
import palimpsest.trace.EventSink;
import palimpsest.trace.InputKind;

/**
 * The deterministic executor. Exactly one fiber runs at a time; it holds the baton. The running
 * core executes a slice whose length comes from the {@link InputSource}; at its end the source
 * picks the next runnable core and the baton moves to that core's current fiber. Virtual time
 * advances by one tick per instruction retired by the running core, and jumps forward when every
 * core is halted. Timers, IPIs, device completions and stimuli are timed entries in one queue
 * ordered by (due, sequence).
 *
 * <p>There is no executor thread: executor code runs on the thread of the fiber holding the
 * baton. Every answer of the input source is recorded as an INPUT event, so a run is reproducible
 * from its recorded inputs even when the source was not deterministic.
 */
final class Executor
{
    final Machine machine;
    final EventSink sink;
    final InputSource input;
    final CpuCore[] cores;

    volatile boolean stopping;
    private Outcome outcome;
    private final CountDownLatch done = new CountDownLatch(1);
    private final List<Fiber> fibers = new ArrayList<>();
    private final PriorityQueue<Timed> timers = new PriorityQueue<>();
    private long timedSeq;
    private long nextFiberId = 1;

    CpuCore running;
    private CpuCore lastRan;
    private long nowBase;
    long limit = Long.MAX_VALUE;

    Executor(final Machine machine, final EventSink sink, final InputSource input, final CpuCore[] cores)
    {
        this.machine = machine;
        this.sink = sink;
        this.input = input;
        this.cores = cores;
    }

    // ------------------------------------------------------------------ time and timed entries

    long now()
    {
        final CpuCore r = running;
        return r == null ? nowBase : nowBase + (r.icount - r.sliceStartIcount);
    }

    static final class Timed implements Comparable<Timed>
    {
        final long due;
        final long seq;
        final Runnable action;

        Timed(final long due, final long seq, final Runnable action)
        {
            this.due = due;
            this.seq = seq;
            this.action = action;
        }

        @Override
        public int compareTo(final Timed o)
        {
            final int c = Long.compare(due, o.due);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    void schedule(final long due, final Runnable action)
    {
        timers.add(new Timed(due, timedSeq++, action));
        final CpuCore r = running;
        if (r != null)
        {
            recomputeCheck(r);
        }
    }

    /** Fires every timed entry that is due by now. */
    void runDue()
    {
        final long t = now();
        if (t >= limit)
        {
            stop(new Outcome(Outcome.Kind.LIMIT, 0, "instruction limit " + limit + " reached", null));
        }
        Timed head = timers.peek();
        final CpuCore r = running;
        if (head != null && head.due <= t && r != null)
        {
            // Timed actions may record device events (NIC DMA, frames) stamped with virtual time
            // only; this says where the running core is first, so a trace alone knows its icount
            // and pc at every event (instructions like compute move them without an event).
            sink.event(EventKind.REG, r.id, r.icount, r.pc, Cpu.REG_SYNC, 0, 0);
        }
        while ((head = timers.peek()) != null && head.due <= t)
        {
            timers.poll();
            head.action.run();
        }
    }

    void recomputeCheck(final CpuCore c)
    {
        if (c != running)
        {
            return;
        }
        long at = Math.min(c.sliceEnd, c.perfDue);
        final Timed head = timers.peek();
        final long now = now();
        if (head != null)
        {
            at = Math.min(at, c.icount + Math.max(0, head.due - now));
        }
        if (limit != Long.MAX_VALUE)
        {
            at = Math.min(at, c.icount + Math.max(0, limit - now));
        }
        if (c.interruptsEnabled() && c.deliverableVector() >= 0)
        {
            at = c.icount == c.stiShadow ? c.icount + 1 : c.icount;
        }
        c.checkAt = at;
    }

    // ------------------------------------------------------------------ recorded inputs

    private long record(final int kind, final long value)
    {
        // While every core is halted (time jumping to the next timed entry) the choice is
        // attributed to the core that ran last.
        final CpuCore r = running != null ? running : lastRan;
        if (r != null)
        {
            sink.event(EventKind.INPUT, r.id, r.icount, r.pc, kind, value, 0);
        }
        else
        {
            sink.event(EventKind.INPUT, 0, 0, 0, kind, value, 0);
        }
        return value;
    }

    long irqDelay(final CpuCore target, final int vector)
    {
        return Math.max(0, record(InputKind.IRQ_DELAY, input.irqDelay(target.id, vector)));
    }

    long random(final CpuCore c)
    {
        return record(InputKind.RANDOM, input.random());
    }

    long netLatency(final int src, final int dst, final int length)
    {
        return Math.max(1, record(InputKind.NET_LATENCY, input.netLatency(src, dst, length)));
    }

    boolean netDrop(final int src, final int dst, final int length)
    {
        return record(InputKind.NET_DROP, input.netDrop(src, dst, length) ? 1 : 0) != 0;
    }

    long stimulus(final int id, final long nominal)
    {
        return record(InputKind.STIMULUS, input.stimulus(id, nominal));
    }

    // ------------------------------------------------------------------ interrupts

    void raise(final CpuCore c, final int vector, final int source)
    {
        c.raise(vector);
        c.irqSource[vector] = (byte)source;
        if (c == running)
        {
            recomputeCheck(c);
        }
    }

    int sourceOf(final CpuCore c, final int vector)
    {
        return c.irqSource[vector];
    }

    // ------------------------------------------------------------------ slices and the baton

    private long runnableMask()
    {
        long m = 0;
        for (final CpuCore c : cores)
        {
            if (c.runnable())
            {
                m |= 1L << c.id;
            }
        }
        return m;
    }

    /** Picks the next core to run; when none is runnable, jumps time to the next timed entry. */
    private CpuCore pickNext(final int previous)
    {
        while (true)
        {
            checkStop();
            final long mask = runnableMask();
            if (mask != 0)
            {
                final int id = (int)record(InputKind.PICK_CPU, input.pickCpu(mask, previous));
                if (id < 0 || id >= cores.length || (mask & (1L << id)) == 0)
                {
                    stop(new Outcome(Outcome.Kind.INTERNAL_ERROR, 0, "input source picked cpu " + id +
                        " which is not runnable (runnable mask " + Long.toHexString(mask) + ")", null));
                }
                return cores[id];
            }
            Timed head = timers.peek();
            if (head == null)
            {
                stop(new Outcome(Outcome.Kind.IDLE, 0, "every cpu halted and nothing pending", null));
            }
            nowBase = Math.max(nowBase, head.due);
            if (nowBase >= limit)
            {
                stop(new Outcome(Outcome.Kind.LIMIT, 0, "instruction limit " + limit + " reached", null));
            }
            while ((head = timers.peek()) != null && head.due <= nowBase)
            {
                timers.poll();
                head.action.run();
            }
        }
    }

    private void startSlice(final CpuCore c)
    {
        running = c;
        c.sliceStartIcount = c.icount;
        final long len = record(InputKind.SLICE, input.slice(c.id));
        c.sliceEnd = c.icount + Math.max(1, len);
        recomputeCheck(c);
    }

    private void leaveRunning()
    {
        final CpuCore r = running;
        if (r != null)
        {
            // Where the core stops (instructions such as compute or hlt move icount and pc
            // without an event of their own): so a trace alone knows them while it is off.
            sink.event(EventKind.REG, r.id, r.icount, r.pc, Cpu.REG_SYNC, 0, 0);
        }
        nowBase = now();
        lastRan = running != null ? running : lastRan;
        running = null;
    }

    /**
     * Ends the running core's slice (it reached its length, or halted): picks the next core and
     * hands it the baton. Returns on the caller's thread when its core is picked again.
     */
    void endSlice(final CpuCore c)
    {
        leaveRunning();
        final CpuCore next = pickNext(c.id);
        if (next != c)
        {
            sink.event(EventKind.CPU_SWITCH, next.id, next.icount, next.pc, c.id, 0, 0);
        }
        startSlice(next);
        if (next != c)
        {
            final Fiber me = c.current;
            next.current.giveBaton();
            me.awaitBaton();
        }
    }

    void checkStop()
    {
        if (stopping)
        {
            throw MachineStopped.INSTANCE;
        }
        final Outcome requested = stopRequest;
        if (requested != null)
        {
            stop(requested);
        }
    }

    /** Set from another thread; acted on by the running fiber at its next {@link #checkStop}. */
    private volatile Outcome stopRequest;

    void requestStop(final Outcome o)
    {
        stopRequest = o;
    }

    // ------------------------------------------------------------------ fibers

    long nextFiberId()
    {
        return nextFiberId;
    }

    Fiber newFiber(final String name, final Routine entry)
    {
        final Fiber f = new Fiber(this, nextFiberId++, name, entry);
        synchronized (fibers)
        {
            fibers.add(f);
        }
        return f;
    }

    static void bind(final CpuCore c, final Fiber f)
    {
        f.cpu.core = c;
        c.current = f;
    }

    private void checkSwitchable(final CpuCore c, final Fiber next)
    {
        if (next.finished)
        {
            stop(new Outcome(Outcome.Kind.INTERNAL_ERROR, 0, "cpu" + c.id + ": switch to finished " + next, null));
        }
        final CpuCore other = next.cpu.core;
        if (other != null && other != c && other.current == next)
        {
            stop(new Outcome(Outcome.Kind.INTERNAL_ERROR, 0,
                "cpu" + c.id + ": switch to " + next + " which is running on cpu" + other.id, null));
        }
    }

    void switchFiber(final CpuCore c, final Fiber from, final Fiber to)
    {
        if (to == from)
        {
            return;
        }
        checkSwitchable(c, to);
        sink.event(EventKind.TASK_SWITCH, c.id, c.icount, c.pc, from.id, to.id, 0);
        bind(c, to);
        to.giveBaton();
        from.awaitBaton();
    }

    void exitFiber(final CpuCore c, final Fiber from, final Fiber to)
    {
        checkSwitchable(c, to);
        from.finished = true;
        sink.event(EventKind.TASK_SWITCH, c.id, c.icount, c.pc, from.id, to.id, 1);
        bind(c, to);
        to.giveBaton();
        throw FiberExit.INSTANCE;
    }

    /** A fiber's entry routine returned: its core has nothing left to run and goes offline. */
    void fiberReturned(final Fiber f)
    {
        final CpuCore c = f.cpu.core;
        if (c == null || c.current != f)
        {
            return;
        }
        c.current = null;
        c.online = false;
        c.halted = false;
        leaveRunning();
        final CpuCore next = pickNext(c.id);
        sink.event(EventKind.CPU_SWITCH, next.id, next.icount, next.pc, c.id, 0, 0);
        startSlice(next);
        next.current.giveBaton();
    }

    // ------------------------------------------------------------------ APIC

    void apicWrite(final CpuCore c, final int reg, final long value)
    {
        sink.event(EventKind.IO, c.id, c.icount, c.pc, 0xFEE0_0000L + reg, value, 1);
        switch (reg)
        {
            case Apic.EOI:
            {
                final int v = CpuCore.highest(c.isr);
                if (v >= 0)
                {
                    c.isr[v >>> 6] &= ~(1L << (v & 63));
                }
                recomputeCheck(c);
                break;
            }
            case Apic.ICR_HI:
                c.icrHi = value;
                break;
            case Apic.ICR_LO:
                sendIpi(c, value);
                break;
            case Apic.LVT_TIMER:
                c.lvtTimer = value;
                break;
            case Apic.TIMER_DIV:
                c.timerDiv = 1L << (value & 7);
                break;
            case Apic.TIMER_INIT:
                armTimer(c, value);
                break;
            case Apic.LVT_PERF:
                c.lvtPerf = value;
                break;
            case Apic.PERF_PERIOD:
                c.perfPeriod = value;
                c.perfDue = value > 0 ? c.icount + value : Long.MAX_VALUE;
                recomputeCheck(c);
                break;
            default:
                break;
        }
    }

    long apicRead(final CpuCore c, final int reg)
    {
        final long v;
        switch (reg)
        {
            case Apic.ID: v = (long)c.apicId << 24; break;
            case Apic.LVT_TIMER: v = c.lvtTimer; break;
            case Apic.TIMER_INIT: v = c.timerInit; break;
            case Apic.TIMER_CUR: v = c.timerDue == Long.MAX_VALUE ? 0 : Math.max(0, (c.timerDue - now()) / c.timerDiv); break;
            case Apic.LVT_PERF: v = c.lvtPerf; break;
            case Apic.PERF_PERIOD: v = c.perfPeriod; break;
            case Apic.ICR_HI: v = c.icrHi; break;
            default: v = 0; break;
        }
        sink.event(EventKind.IO, c.id, c.icount, c.pc, 0xFEE0_0000L + reg, v, 0);
        return v;
    }

    private void armTimer(final CpuCore c, final long count)
    {
        c.timerInit = count;
        final long gen = ++c.timerGen;
        if (count <= 0)
        {
            c.timerDue = Long.MAX_VALUE;
            return;
        }
        final long due = now() + count * c.timerDiv + irqDelay(c, (int)(c.lvtTimer & 0xFF));
        c.timerDue = due;
        schedule(due, () -> timerFired(c, gen));
    }

    private void timerFired(final CpuCore c, final long gen)
    {
        if (gen != c.timerGen || !c.online)
        {
            return;
        }
        c.timerDueFired = c.timerDue;
        c.timerDue = Long.MAX_VALUE;
        if ((c.lvtTimer & Apic.LVT_MASKED) == 0)
        {
            raise(c, (int)(c.lvtTimer & 0xFF), InterruptSource.TIMER);
        }
        if ((c.lvtTimer & Apic.LVT_PERIODIC) != 0 && c.timerInit > 0)
        {
            final long due = Math.max(now(), c.timerDueBase()) + c.timerInit * c.timerDiv + irqDelay(c, (int)(c.lvtTimer & 0xFF));
            c.timerDue = due;
            schedule(due, () -> timerFired(c, gen));
        }
    }

    private void sendIpi(final CpuCore c, final long icr)
    {
        final int vector = (int)(icr & 0xFF);
        final int mode = (int)(icr >>> 8) & 7;
        final int shorthand = (int)(icr >>> 18) & 3;
        final int dest = (int)(c.icrHi >>> 24) & 0xFF;
        final int base = c.node * machine.config().cpusPerNode;
        for (int i = 0; i < machine.config().cpusPerNode; i++)
        {
            final CpuCore t = cores[base + i];
            final boolean hit;
            switch (shorthand)
            {
                case Apic.DEST_SELF: hit = t == c; break;
                case Apic.DEST_ALL: hit = true; break;
                case Apic.DEST_OTHERS: hit = t != c; break;
                default: hit = t.apicId == dest; break;
            }
            if (!hit)
            {
                continue;
            }
            sink.event(EventKind.IPI, c.id, c.icount, c.pc, t.id, mode, vector);
            // Interrupt messages from one local APIC to another arrive in the order they were sent
            // (the delay may vary, the order may not): without this, a chaos delay once delivered
            // a SIPI before the INIT sent ahead of it and the AP never started.
            final long due = Math.max(now() + irqDelay(t, vector), c.ipiLastDue[i]);
            c.ipiLastDue[i] = due;
            switch (mode)
            {
                case Apic.MODE_INIT:
                    schedule(due, () -> initCore(t));
                    break;
                case Apic.MODE_SIPI:
                    schedule(due, () -> startupCore(t, vector));
                    break;
                default:
                    schedule(due, () -> raise(t, vector, InterruptSource.IPI));
                    break;
            }
        }
    }

    private void initCore(final CpuCore t)
    {
        if (!t.online)
        {
            t.initReceived = true;
        }
    }

    /** SIPI: an AP that got INIT starts executing the code at page (vector << 12). */
    private void startupCore(final CpuCore t, final int vector)
    {
        if (t.online || !t.initReceived)
        {
            return;
        }
        final long entry = (long)vector << 12;
        final Routine r = machine.code().routineAt(entry);
        if (r == null)
        {
            return;
        }
        t.initReceived = false;
        resetCore(t, entry);
        final Fiber f = newFiber("cpu" + t.id + "-boot", r);
        bind(t, f);
        // The reset changes registers no instruction wrote: say so, so a trace alone knows them.
        sink.event(EventKind.REG, t.id, t.icount, t.pc, Cpu.REG_RESET, entry, f.id());
        t.online = true;
    }

    static void resetCore(final CpuCore t, final long entry)
    {
        t.pc = entry;
        t.sp = 0;
        t.fp = 0;
        t.flags = 0;
        t.cr3 = 0;
        t.cpl = 0;
        t.idtr = 0;
        t.halted = false;
        java.util.Arrays.fill(t.irr, 0);
        java.util.Arrays.fill(t.isr, 0);
        t.flushTlb();
        t.lvtTimer = Apic.LVT_MASKED;
        t.timerGen++;
        t.timerDue = Long.MAX_VALUE;
        t.lvtPerf = Apic.LVT_MASKED;
        t.perfPeriod = 0;
        t.perfDue = Long.MAX_VALUE;
    }

    /** Takes a core offline (the software parked it for good, e.g. cpu hot-unplug): it needs INIT+SIPI again. */
    void offline(final CpuCore t)
    {
        t.online = false;
        t.initReceived = false;
    }

    // ------------------------------------------------------------------ run and stop

    Outcome run(final CpuCore[] boot, final Fiber[] bootFibers, final long limit)
    {
        this.limit = limit;
        for (int i = 0; i < boot.length; i++)
        {
            bind(boot[i], bootFibers[i]);
            boot[i].online = true;
        }
        try
        {
            final CpuCore first = pickNext(-1);
            startSlice(first);
            first.current.giveBaton();
        }
        catch (final MachineStopped stopped)
        {
            // stopped before it started
        }
        try
        {
            done.await();
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            stopQuietly(new Outcome(Outcome.Kind.INTERNAL_ERROR, 0, "interrupted", e));
        }
        return outcome;
    }

    /** Stops the machine and unwinds the caller's fiber. */
    void stop(final Outcome o)
    {
        stopQuietly(o);
        throw MachineStopped.INSTANCE;
    }

    void stopQuietly(final Outcome o)
    {
        synchronized (this)
        {
            if (stopping)
            {
                return;
            }
            outcome = o;
            stopping = true;
        }
        synchronized (fibers)
        {
            for (final Fiber f : fibers)
            {
                if (f.started)
                {
                    LockSupport.unpark(f.thread);
                }
            }
        }
        done.countDown();
    }

    void internalError(final Fiber f, final Throwable t)
    {
        stopQuietly(new Outcome(Outcome.Kind.INTERNAL_ERROR, 0, t + " in " + f.name, t));
    }
}
