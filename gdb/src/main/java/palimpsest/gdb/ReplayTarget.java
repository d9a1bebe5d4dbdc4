package palimpsest.gdb;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;

import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.emulator.Paging;
import palimpsest.kernel.Mark;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.state.CpuRegs;
import palimpsest.replayer.state.StateIndex;
import palimpsest.replayer.state.TraceState;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceReader;

/**
 * A recorded run as a debug target that moves in both directions: the machine "at event N" is
 * the trace's state after events 0..N-1 ({@link StateIndex}: keyframes and a roll forward, nothing
 * re-executed). Each event is one instruction step of its cpu.
 *
 * <ul>
 *   <li>Forward ({@link #resume}): events are applied one by one from the current position. A
 *       breakpoint (a cpu arriving at the address) and a step (the stepping cpu's next event) stop
 *       just before that event, as hardware stops before the instruction; a watchpoint (an access to
 *       its bytes) after it, as hardware stops after the instruction that wrote.</li>
 *   <li>Backward ({@link #reverse}): the last hit before the current point is found without
 *       replaying: writes to watched bytes from the who-wrote index (a binary search per page),
 *       breakpoints, read watchpoints and steps by scanning windows of the trace backwards. The
 *       stop stands just <em>before</em> that event (its write not yet in memory, as rr stops), with
 *       the cpu's RIP at the event's pc.</li>
 * </ul>
 * A watchpoint is set on a virtual address but watches the physical bytes it maps to on the
 * current cpu when inserted: a write through any mapping fires it (text_poke's temporary alias, a
 * DMA), which a hardware watchpoint would miss; {@link Stop#note} says so. Breakpoints and
 * watchpoints are kept here and never written into memory.
 */
public final class ReplayTarget implements AutoCloseable
{
    /** Watchpoint types, as the Z packet numbers them. */
    public static final int WRITE = 2;
    public static final int READ = 3;
    public static final int ACCESS = 4;

    private static final int SCAN_WINDOW = 1 << 18;
    private static final int LOOK_BEHIND = 1 << 12;

    /** Why the target stopped. */
    public enum Reason
    {
        BREAKPOINT, WATCHPOINT, STEP, BEGIN, END, INTERRUPT
    }

    /** A stop: why, on which cpu, at which event, and for watchpoints which one and how it was hit. */
    public static final class Stop
    {
        public final Reason reason;
        public final int cpu;
        /** The event that caused the stop (-1 for none: the ends of the trace, an interrupt). */
        public final long event;
        /** The watchpoint's address as gdb set it, and its type (2 write, 3 read, 4 access). */
        public final long watchAddr;
        public final int watchType;
        /** What gdb cannot infer from the packet: a write through another mapping, or null. */
        public final String note;

        Stop(final Reason reason, final int cpu, final long event, final long watchAddr, final int watchType, final String note)
        {
            this.reason = reason;
            this.cpu = cpu;
            this.event = event;
            this.watchAddr = watchAddr;
            this.watchType = watchType;
            this.note = note;
        }
    }

    private static final class Watch
    {
        final int type;
        final long vaddr;
        final int len;
        final int node;
        /** Physical address (in node) of each watched byte. */
        final long[] phys;

        Watch(final int type, final long vaddr, final int len, final int node, final long[] phys)
        {
            this.type = type;
            this.vaddr = vaddr;
            this.len = len;
            this.node = node;
            this.phys = phys;
        }

        /** Offset of the first watched byte [paddr, paddr+size) of node touches, or -1. */
        int hit(final int accessNode, final long paddr, final int size)
        {
            if (accessNode != node)
            {
                return -1;
            }
            for (int i = 0; i < phys.length; i++)
            {
                if (Long.compareUnsigned(phys[i] - paddr, size) < 0)
                {
                    return i;
                }
            }
            return -1;
        }
    }

    private final Path trace;
    private final StateIndex states;
    private final long end;
    private final int faultCpu;
    private final long faultEvent;
    private final TreeSet<Long> breakpoints = new TreeSet<>(Long::compareUnsigned);
    private final List<Watch> watches = new ArrayList<>();
    private final Event scratch = new Event();
    private final ScenarioCatalog catalog;
    private WhoWroteIndex who;
    private Symbols symbols;
    private Prologue prologue;
    private TraceState st;
    private TraceReader reader;
    private int thread;
    /** The cpu standing just before its event (a reverse stop) and that event's pc; -1 if none. */
    private int pendingCpu = -1;
    private long pendingPc;

    /**
     * Opens a trace, standing at its last event on the cpu that oopsed (if the run ended in an oops)
     * or the cpu of the last event.
     *
     * @throws palimpsest.trace.TraceException for an unreadable trace
     * @throws IllegalArgumentException (one line) for a scenario this pal does not have
     */
    public static ReplayTarget open(final Path trace, final ScenarioCatalog catalog)
    {
        long events = 0;
        int lastCpu = 0;
        int oopsCpu = -1;
        long oopsEvent = -1;
        try (TraceReader r = TraceReader.open(trace))
        {
            final Event e = new Event();
            while (r.next(e))
            {
                events++;
                if (!EventKind.isDevice(e.cpu()))
                {
                    lastCpu = e.cpu();
                    if (e.kind() == EventKind.MARK && e.a() == Mark.OOPS)
                    {
                        oopsCpu = e.cpu();
                        oopsEvent = e.index();
                    }
                }
            }
        }
        return new ReplayTarget(trace, catalog, StateIndex.open(trace, catalog), events, oopsCpu >= 0 ? oopsCpu : lastCpu,
            oopsEvent);
    }

    private ReplayTarget(final Path trace, final ScenarioCatalog catalog, final StateIndex states, final long end,
        final int faultCpu, final long faultEvent)
    {
        this.trace = trace;
        this.catalog = catalog;
        this.states = states;
        this.end = end;
        this.faultCpu = faultCpu;
        this.faultEvent = faultEvent;
        this.thread = faultCpu;
        this.st = states.at(end);
    }

    /** Events the trace holds (readable ones, for a truncated or damaged trace). */
    public long events()
    {
        return end;
    }

    /** The event of the run's oops, or -1. */
    public long faultEvent()
    {
        return faultEvent;
    }

    public int faultCpu()
    {
        return faultCpu;
    }

    /** The current point: the state after events 0..position()-1. */
    public long position()
    {
        return st.position();
    }

    /** The event the current thread is about to execute (a reverse stop), or -1. */
    public long pendingEvent()
    {
        return pendingCpu >= 0 ? st.position() : -1;
    }

    public int cpuCount()
    {
        return st.cpuCount();
    }

    public TraceState state()
    {
        return st;
    }

    public int thread()
    {
        return thread;
    }

    public void thread(final int cpu)
    {
        thread = cpu;
    }

    public CpuRegs regs(final int cpu)
    {
        return st.regs(cpu);
    }

    /**
     * The cpu's RIP: the pc of its last event, or of the event it stands before, moved to the
     * instruction of the prologue or epilogue it is in ({@link Prologue}).
     */
    public long pc(final int cpu)
    {
        final long pc = cpu == pendingCpu ? pendingPc : st.regs(cpu).pc();
        return prologue().instruction(pc, st.regs(cpu).sp(), st.regs(cpu).fp(), a ->
        {
            try
            {
                return st.readVirt(cpu, a, 8);
            }
            catch (final palimpsest.replayer.state.UnmappedAddressException e)
            {
                return null;
            }
        });
    }

    private Prologue prologue()
    {
        if (prologue == null)
        {
            prologue = new Prologue(palimpsest.gdb.elf.SymbolFiles.functions(trace, catalog));
        }
        return prologue;
    }

    public Path trace()
    {
        return trace;
    }

    /**
     * Reads up to len bytes at addr as cpu sees them now (through its page tables; paging off:
     * physical). Returns how many leading bytes were readable (0: none is mapped).
     */
    public int read(final int cpu, final long addr, final byte[] dst, final int len)
    {
        final long ram = st.memory(st.nodeOf(cpu)).size();
        for (int i = 0; i < len; i++)
        {
            final long pa = st.translate(cpu, addr + i);
            if (pa < 0 || Long.compareUnsigned(pa, ram) >= 0)
            {
                return i;
            }
            dst[i] = (byte)st.memory(st.nodeOf(cpu)).read(pa, 1);
        }
        return len;
    }

    /** Moves to the state after events 0..n-1 (clamped to the trace). */
    public void moveTo(final long n)
    {
        final long to = Math.max(0, Math.min(n, end));
        closeReader();
        st = states.at(to);
        pendingCpu = -1;
    }

    public void addBreakpoint(final long pc)
    {
        breakpoints.add(pc);
    }

    public boolean removeBreakpoint(final long pc)
    {
        return breakpoints.remove(pc);
    }

    /**
     * Watches [vaddr, vaddr+len) through the current thread's page tables as they are now.
     *
     * @return false if a byte of it is not mapped (gdb then says it cannot insert the watchpoint)
     */
    public boolean addWatch(final int type, final long vaddr, final int len)
    {
        final long[] phys = new long[len];
        final long ram = st.memory(st.nodeOf(thread)).size();
        for (int i = 0; i < len; i++)
        {
            phys[i] = st.translate(thread, vaddr + i);
            if (phys[i] < 0 || Long.compareUnsigned(phys[i], ram) >= 0)
            {
                return false;
            }
        }
        watches.add(new Watch(type, vaddr, len, st.nodeOf(thread), phys));
        return true;
    }

    public boolean removeWatch(final int type, final long vaddr, final int len)
    {
        return watches.removeIf(w -> w.type == type && w.vaddr == vaddr && w.len == len);
    }

    /** The physical address (node << 48 | paddr) vaddr maps to on the current thread now, or -1. */
    public long physOf(final long vaddr)
    {
        final long pa = st.translate(thread, vaddr);
        return pa < 0 ? -1 : (long)st.nodeOf(thread) << 48 | pa;
    }

    /**
     * Runs forward: a step of cpu stepCpu (step), or until a breakpoint, a watchpoint, the end of
     * the trace, or interrupted says stop (polled every few thousand events).
     */
    public Stop resume(final boolean step, final int stepCpu, final BooleanSupplier interrupted)
    {
        final boolean fromPending = pendingCpu >= 0;
        final long from = st.position();
        // standing before an event of the stepping cpu: that event is the step, the stop is before the next
        int skip = fromPending && pendingCpu == stepCpu ? 1 : 0;
        pendingCpu = -1;
        if (st.position() >= end)
        {
            return new Stop(Reason.END, thread, -1, 0, 0, null);
        }
        final TraceReader r = reader();
        final Event e = scratch;
        final int perNode = st.config().cpusPerNode;
        long polled = 0;
        while (st.position() < end && r.next(e))
        {
            final int cpu = e.cpu();
            final int kind = e.kind();
            final boolean device = EventKind.isDevice(cpu);
            final boolean real = !device && !(kind == EventKind.INPUT && e.icount() == 0 && e.pc() == 0);
            if (real && step && cpu == stepCpu)
            {
                if (skip == 0)
                {
                    return standBefore(e, Reason.STEP);
                }
                skip--;
            }
            // a breakpoint is a cpu arriving at its address; the event we stand before does not hit again
            if (real && !breakpoints.isEmpty() && !(fromPending && e.index() == from) && st.regs(cpu).pc() != e.pc() &&
                breakpoints.contains(e.pc()))
            {
                return standBefore(e, Reason.BREAKPOINT);
            }
            st.apply(e);
            if (!watches.isEmpty() && EventKind.isAccess(kind))
            {
                final Stop s = watchHit(e, device ? cpu - EventKind.deviceId(0) : cpu / perNode, device);
                if (s != null)
                {
                    return s;
                }
            }
            if ((++polled & 0xfff) == 0 && interrupted.getAsBoolean())
            {
                return new Stop(Reason.INTERRUPT, thread, -1, 0, 0, null);
            }
        }
        return new Stop(Reason.END, thread, -1, 0, 0, null);
    }

    /** Stops just before e, which was read but not applied (as a breakpoint stops before its instruction). */
    private Stop standBefore(final Event e, final Reason why)
    {
        closeReader(); // it is one event ahead of the state now
        pendingCpu = e.cpu();
        pendingPc = e.pc();
        return new Stop(why, e.cpu(), e.index(), 0, 0, null);
    }

    private Stop watchHit(final Event e, final int node, final boolean device)
    {
        final boolean write = EventKind.isWrite(e.kind());
        for (final Watch w : watches)
        {
            if (write ? w.type == READ : w.type == WRITE)
            {
                continue;
            }
            final int off = w.hit(node, e.paddr(), e.size());
            if (off >= 0)
            {
                return new Stop(Reason.WATCHPOINT, device ? thread : e.cpu(), e.index(), w.vaddr, w.type, note(w, e, off, device));
            }
        }
        return null;
    }

    private static String note(final Watch w, final Event e, final int off, final boolean device)
    {
        if (device)
        {
            return String.format("watchpoint %x (phys %x) written by DMA of device %d at event %d", w.vaddr + off,
                w.phys[off], e.cpu() - EventKind.deviceId(0), e.index());
        }
        final long watched = w.vaddr + off;
        final long touched = e.vaddr() + (w.phys[off] - e.paddr());
        if (touched == watched)
        {
            return null;
        }
        return String.format("watchpoint %x (phys %x) %s through another mapping, %x, by cpu%d at event %d " +
            "(a hardware watchpoint would have missed it)", watched, w.phys[off],
            EventKind.isWrite(e.kind()) ? "written" : "read", touched, e.cpu(), e.index());
    }

    /**
     * Runs backward to the last hit before the current point (a step: the stepping cpu's previous
     * event) and stands just before it; at no hit, at event 0 (BEGIN).
     */
    public Stop reverse(final boolean step, final int stepCpu)
    {
        final long limit = st.position();
        long best = -1;
        if (!step)
        {
            best = lastIndexedWrite(limit);
        }
        final boolean scan = step || !breakpoints.isEmpty() || watches.stream().anyMatch(w -> w.type != WRITE);
        if (scan)
        {
            best = Math.max(best, scanBack(limit, best, step, stepCpu));
        }
        if (best < 0)
        {
            moveTo(0);
            return new Stop(Reason.BEGIN, thread, -1, 0, 0, null);
        }
        final Event e = eventAt(best);
        moveTo(best);
        final int cpu = EventKind.isDevice(e.cpu()) ? thread : e.cpu();
        if (!EventKind.isDevice(e.cpu()))
        {
            pendingCpu = cpu;
            pendingPc = e.pc();
        }
        if (step)
        {
            return new Stop(Reason.STEP, cpu, best, 0, 0, null);
        }
        final int perNode = st.config().cpusPerNode;
        if (!watches.isEmpty() && EventKind.isAccess(e.kind()))
        {
            final boolean device = EventKind.isDevice(e.cpu());
            final Stop s = watchHit(e, device ? e.cpu() - EventKind.deviceId(0) : e.cpu() / perNode, device);
            if (s != null)
            {
                return s;
            }
        }
        return new Stop(Reason.BREAKPOINT, cpu, best, 0, 0, null);
    }

    /** The last write to a watched byte before event limit, from the who-wrote index; -1 if none. */
    private long lastIndexedWrite(final long limit)
    {
        long best = -1;
        for (final Watch w : watches)
        {
            if (w.type == READ)
            {
                continue;
            }
            final WhoWroteIndex index = index();
            int i = 0;
            while (i < w.phys.length)
            {
                // one query per run of bytes contiguous in one physical page
                int j = i + 1;
                while (j < w.phys.length && w.phys[j] == w.phys[j - 1] + 1 && (w.phys[j] & Paging.PAGE_MASK) != 0)
                {
                    j++;
                }
                for (final WhoWroteIndex.Write x : index.writers((long)w.node << 48 | w.phys[i], j - i, limit, false))
                {
                    best = Math.max(best, x.event);
                }
                i = j;
            }
        }
        return best;
    }

    /**
     * The last event in (floor, limit) that is a breakpoint arrival, a read of read/access-watched
     * bytes, or (step) an event of stepCpu: windows of the trace read backwards from limit.
     */
    private long scanBack(final long limit, final long floor, final boolean step, final int stepCpu)
    {
        final int perNode = st.config().cpusPerNode;
        final long[] lastPc = new long[st.cpuCount()];
        long hi = limit;
        while (hi > floor + 1 && hi > 0)
        {
            final long lo = Math.max(Math.max(0, floor + 1), hi - SCAN_WINDOW);
            long found = -1;
            java.util.Arrays.fill(lastPc, -1);
            // read a little before lo too: a cpu's pc before the window tells an arrival from a stay
            final long from = Math.max(0, lo - LOOK_BEHIND);
            try (TraceReader r = TraceReader.open(trace))
            {
                if (from > 0 && !r.seek(from))
                {
                    return -1;
                }
                final Event e = new Event();
                while (r.next(e) && e.index() < hi)
                {
                    if (e.index() < lo)
                    {
                        if (!EventKind.isDevice(e.cpu()))
                        {
                            lastPc[e.cpu()] = e.pc();
                        }
                        continue;
                    }
                    final int cpu = e.cpu();
                    final boolean device = EventKind.isDevice(cpu);
                    if (device || (e.kind() == EventKind.INPUT && e.icount() == 0 && e.pc() == 0))
                    {
                        if (device && !step && readHit(e, cpu - EventKind.deviceId(0)))
                        {
                            found = e.index();
                        }
                        continue;
                    }
                    if (step)
                    {
                        if (cpu == stepCpu)
                        {
                            found = e.index();
                        }
                        continue;
                    }
                    if (lastPc[cpu] != e.pc() && breakpoints.contains(e.pc()))
                    {
                        found = e.index();
                    }
                    lastPc[cpu] = e.pc();
                    if (readHit(e, cpu / perNode))
                    {
                        found = e.index();
                    }
                }
            }
            if (found >= 0)
            {
                return found;
            }
            hi = lo;
        }
        return -1;
    }

    private boolean readHit(final Event e, final int node)
    {
        if (e.kind() == EventKind.STORE || e.kind() == EventKind.DMA_WRITE || !EventKind.isAccess(e.kind()))
        {
            return false;
        }
        for (final Watch w : watches)
        {
            if (w.type != WRITE && w.hit(node, e.paddr(), e.size()) >= 0)
            {
                return true;
            }
        }
        return false;
    }

    private Event eventAt(final long n)
    {
        try (TraceReader r = TraceReader.open(trace))
        {
            if (n > 0 && !r.seek(n) || !r.next(scratch))
            {
                throw new IllegalStateException("event " + n + " is not readable");
            }
            return scratch;
        }
    }

    /** The kernel's symbols and the run's modules' (as they stood at the end), built on first use. */
    public Symbols symbols()
    {
        if (symbols == null)
        {
            symbols = Symbols.withModules(trace, st.header(), catalog, Long.MAX_VALUE);
        }
        return symbols;
    }

    /** The state after events 0..n-1, apart from the current one (for monitor answers). */
    public TraceState stateAt(final long n)
    {
        return states.at(n);
    }

    /** The event at index n (a copy). */
    public Event event(final long n)
    {
        return new Event().copyFrom(eventAt(n));
    }

    /** The who-wrote index of the trace, built on first use (and kept beside it). */
    public WhoWroteIndex index()
    {
        if (who == null)
        {
            who = WhoWroteIndex.openOrBuild(trace, n -> { });
        }
        return who;
    }

    private TraceReader reader()
    {
        if (reader == null)
        {
            reader = TraceReader.open(trace);
            if (st.position() > 0 && !reader.seek(st.position()))
            {
                throw new IllegalStateException("event " + st.position() + " is not readable");
            }
        }
        return reader;
    }

    private void closeReader()
    {
        if (reader != null)
        {
            reader.close();
            reader = null;
        }
    }

    @Override
    public void close()
    {
        closeReader();
    }
}
