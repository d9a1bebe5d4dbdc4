package palimpsest.replayer.state;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Paging;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.emulator.Scenario;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.recorder.image.LoadedImage;
import palimpsest.trace.DecodeAhead;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;

/**
 * The state of the recorded machine at one event, reconstructed from the trace alone (nothing is
 * re-executed): every node's physical memory and every cpu's registers ({@link CpuRegs}).
 *
 * <p>{@link #initial} is the machine the header describes, loaded but not run: the scenario writes
 * its image (kernel text and data, boot parameters, initrd) straight into RAM before the run, and
 * nothing else exists before event 0. {@link #apply} rolls forward one event; after applying
 * events 0..n-1, {@link #position()} is n and the state is the machine's at the moment event n-1
 * was recorded (the moment a re-execution stopped by the sink of event n-1 would show).
 *
 * <ul>
 *   <li>STORE, RMW (new value), DMA_WRITE: write the value at paddr in the node of the cpu (or
 *       device, {@link EventKind#deviceId});</li>
 *   <li>every cpu event: that cpu's icount and pc (the emulator records a {@code REG_SYNC} where
 *       a core stops running and before timed actions, since some instructions move them silently);</li>
 *   <li>REG: SP, FP, FLAGS, CR3, CPL; {@link Cpu#REG_RESET} (INIT/SIPI); EXCEPTION 14: CR2;</li>
 *   <li>TASK_SWITCH: the fiber the cpu runs.</li>
 * </ul>
 * {@link #apply} allocates nothing. Not thread-safe.
 */
public final class TraceState
{
    private final TraceHeader header;
    private final Machine machine;
    private final MachineConfig config;
    private final PhysicalMemory[] memory;
    /** Instead of memory, in a paged state ({@link #paged}): only the pages touched. */
    private final PagedMemory[] paged;
    private final CpuRegs[] regs;
    private final int cpusPerNode;
    private long position;
    private DirtyPages dirty;

    private TraceState(final TraceHeader header, final Machine machine)
    {
        this.header = header;
        this.machine = machine;
        this.config = machine.config();
        this.cpusPerNode = config.cpusPerNode;
        this.memory = new PhysicalMemory[config.nodes];
        this.paged = null;
        for (int n = 0; n < config.nodes; n++)
        {
            memory[n] = machine.memory(n);
        }
        this.regs = new CpuRegs[config.totalCpus()];
        final long[] entries = new long[config.nodes];
        for (int n = 0; n < config.nodes; n++)
        {
            entries[n] = machine.bootEntry(n);
        }
        boot(entries, machine.nextFiberId());
    }

    private TraceState(final TraceHeader header, final LoadedImage image, final PagedMemory.Source source)
    {
        this.header = header;
        this.machine = null;
        this.config = ScenarioCatalog.configOf(header);
        this.cpusPerNode = config.cpusPerNode;
        this.memory = null;
        this.paged = new PagedMemory[config.nodes];
        for (int n = 0; n < config.nodes; n++)
        {
            paged[n] = new PagedMemory(n, (long)config.memMiB << 20, source);
        }
        this.regs = new CpuRegs[config.totalCpus()];
        final long[] entries = new long[config.nodes];
        for (int n = 0; n < config.nodes; n++)
        {
            entries[n] = image.bootEntry(n);
        }
        boot(entries, image.firstBootFiber());
    }

    private void boot(final long[] bootEntries, final long firstBootFiber)
    {
        for (int c = 0; c < regs.length; c++)
        {
            regs[c] = new CpuRegs(c);
        }
        // Machine.run binds one boot fiber per node, created in node order, to the node's first cpu.
        for (int n = 0; n < config.nodes; n++)
        {
            final CpuRegs boot = regs[n * cpusPerNode];
            boot.pc = bootEntries[n];
            boot.fiber = firstBootFiber + n;
        }
    }

    /**
     * The state before event 0 as a query wants it: no machine is loaded and no RAM is allocated;
     * each page is filled from source when first read or written (the loaded image, or a keyframe's
     * copy: {@link StateIndex#view}). {@link #memory} and {@link #machine} are not available.
     */
    static TraceState paged(final TraceHeader header, final LoadedImage image, final PagedMemory.Source source)
    {
        return new TraceState(header, image, source);
    }

    /** True for a {@link #paged} state: read memory with {@link #readPhys}, not {@link #memory}. */
    public boolean isPaged()
    {
        return paged != null;
    }

    /** Pages a paged state has touched (read or written) so far; 0 for a flat one. */
    public int pagesTouched()
    {
        int n = 0;
        for (int i = 0; paged != null && i < paged.length; i++)
        {
            n += paged[i].pagesTouched();
        }
        return n;
    }

    /** The keyframe a paged state was built on (-1: the loaded image), for reuse by a later view. */
    int baseKeyframe = -1;

    /**
     * The state before event 0 of the trace in dir.
     *
     * @throws palimpsest.trace.TraceException for an unreadable trace
     * @throws IllegalArgumentException (one line) for a scenario this pal does not have
     */
    public static TraceState initial(final Path dir, final ScenarioCatalog catalog)
    {
        try (TraceReader r = TraceReader.open(dir))
        {
            return initial(r.header(), catalog);
        }
    }

    /** The state before event 0 of a trace with this header. */
    public static TraceState initial(final TraceHeader header, final ScenarioCatalog catalog)
    {
        final Scenario scenario = catalog.find(header.scenario());
        if (scenario == null)
        {
            throw new IllegalArgumentException("the trace was recorded with scenario '" + header.scenario() +
                "', which this pal does not have (a plugin? pass --plugin JAR)");
        }
        return new TraceState(header, ScenarioCatalog.loadWithoutRunning(scenario, header));
    }

    /** Rolls forward over one event (the one at {@link #position()}). */
    public void apply(final Event e)
    {
        final int kind = e.kind();
        final int cpu = e.cpu();
        position++;
        if (EventKind.isDevice(cpu))
        {
            if (kind == EventKind.DMA_WRITE)
            {
                write(cpu - EventKind.deviceId(0), e.paddr(), e.size(), e.value());
            }
            return;
        }
        final CpuRegs r = regs[cpu];
        if (kind == EventKind.INPUT && cpu == 0 && e.icount() == 0 && e.pc() == 0)
        {
            // A choice made before any core ran is attributed to no core (see Executor.record).
            return;
        }
        r.icount = e.icount();
        r.pc = e.pc();
        switch (kind)
        {
            case EventKind.STORE:
            case EventKind.RMW:
                write(cpu / cpusPerNode, e.paddr(), e.size(), e.value());
                break;
            case EventKind.REG:
                reg(r, (int)e.a(), e.b(), e.c());
                break;
            case EventKind.EXCEPTION:
                if (e.a() == Paging.VEC_PF)
                {
                    r.cr2 = e.c();
                }
                break;
            case EventKind.TASK_SWITCH:
                r.fiber = e.b();
                break;
            default:
                break;
        }
    }

    private void write(final int node, final long paddr, final int size, final long value)
    {
        if (paged != null)
        {
            paged[node].write(paddr, size, value);
        }
        else
        {
            memory[node].write(paddr, size, value);
        }
        if (dirty != null)
        {
            dirty.mark(node, paddr, size);
        }
    }

    private static void reg(final CpuRegs r, final int id, final long value, final long c)
    {
        switch (id)
        {
            case Reg.SP: r.sp = value; break;
            case Reg.FP: r.fp = value; break;
            case Reg.FLAGS: r.flags = value; break;
            case Reg.CR3: r.cr3 = value; break;
            case Reg.CR2: r.cr2 = value; break;
            case Reg.CPL: r.cpl = (int)value; break;
            case Reg.PC: r.pc = value; break;
            case Cpu.REG_RESET:
                r.pc = value;
                r.sp = 0;
                r.fp = 0;
                r.flags = 0;
                r.cr3 = 0;
                r.cpl = 0;
                r.fiber = c;
                break;
            default:
                break;
        }
    }

    /** Reads events from the reader and applies them until position() == n or the trace ends. */
    public long advanceTo(final palimpsest.trace.EventCursor reader, final Event scratch, final long n)
    {
        while (position < n && reader.next(scratch))
        {
            apply(scratch);
        }
        return position;
    }

    /** As {@link #advanceTo(palimpsest.trace.EventCursor, Event, long)}, with the events decoded on the decode-ahead thread. */
    public long advanceTo(final DecodeAhead reader, final long n)
    {
        Event e;
        while (position < n && (e = reader.next()) != null)
        {
            apply(e);
        }
        return position;
    }

    /** Index of the next event to apply = number of events applied so far. */
    public long position()
    {
        return position;
    }

    /** Sets the position (a keyframe restored into this state). */
    public void position(final long position)
    {
        this.position = position;
    }

    public TraceHeader header()
    {
        return header;
    }

    /** The machine the trace was recorded on, loaded but never run: its memory is this state's (null when paged). */
    public Machine machine()
    {
        return machine;
    }

    public MachineConfig config()
    {
        return config;
    }

    public int cpuCount()
    {
        return regs.length;
    }

    public int nodeOf(final int cpu)
    {
        return cpu / cpusPerNode;
    }

    /**
     * A node's flat memory.
     *
     * @throws IllegalStateException for a {@link #isPaged paged} state (use {@link #readPhys})
     */
    public PhysicalMemory memory(final int node)
    {
        if (memory == null)
        {
            throw new IllegalStateException("a paged state has no flat memory: read it with readPhys");
        }
        return memory[node];
    }

    /** Reads 1, 2, 4 or 8 bytes of node's physical memory, zero-extended (all ones beyond its RAM). */
    public long readPhys(final int node, final long paddr, final int size)
    {
        return paged != null ? paged[node].read(paddr, size) : memory[node].read(paddr, size);
    }

    /** Whether [paddr, paddr+size) is in node's RAM. */
    public boolean backed(final int node, final long paddr, final int size)
    {
        return paged != null ? paged[node].backed(paddr, size) : memory[node].backed(paddr, size);
    }

    /** Bytes of RAM of a node. */
    public long ramSize(final int node)
    {
        return paged != null ? paged[node].size() : memory[node].size();
    }

    public CpuRegs regs(final int cpu)
    {
        return regs[cpu];
    }

    /** Tracks the pages written from now on (for keyframe deltas); null to stop. */
    public void trackDirty(final DirtyPages pages)
    {
        this.dirty = pages;
    }

    /**
     * Translates vaddr through cpu's page tables (its CR3) in this state's memory, as the MMU
     * would (no TLB: the tables as they are). CR3 = 0 means paging off: virtual = physical.
     *
     * @return the physical address, or -1 if unmapped (or non-canonical)
     */
    public long translate(final int cpu, final long vaddr)
    {
        final long cr3 = regs[cpu].cr3;
        if (cr3 == 0)
        {
            return vaddr;
        }
        if (!Paging.canonical(vaddr))
        {
            return -1;
        }
        final int node = nodeOf(cpu);
        long table = cr3 & Paging.ADDR_MASK;
        for (int level = 4; level >= 1; level--)
        {
            final long e = readPhys(node, table + Paging.index(vaddr, level) * 8L, 8);
            if ((e & Paging.P) == 0)
            {
                return -1;
            }
            table = e & Paging.ADDR_MASK;
        }
        return table | (vaddr & Paging.PAGE_MASK);
    }

    /**
     * Reads 1, 2, 4 or 8 bytes (little-endian) at vaddr as cpu would see them.
     *
     * @throws UnmappedAddressException if a byte of it is not mapped
     */
    public long readVirt(final int cpu, final long vaddr, final int size)
    {
        final int node = nodeOf(cpu);
        final long pa = translate(cpu, vaddr);
        if (pa < 0)
        {
            throw new UnmappedAddressException(cpu, vaddr);
        }
        if ((vaddr & Paging.PAGE_MASK) + size <= Paging.PAGE_SIZE)
        {
            return readPhys(node, pa, size);
        }
        long v = 0;
        for (int i = 0; i < size; i++)
        {
            final long b = translate(cpu, vaddr + i);
            if (b < 0)
            {
                throw new UnmappedAddressException(cpu, vaddr + i);
            }
            v |= readPhys(node, b, 1) << (8 * i);
        }
        return v;
    }

    /** Reads len bytes at vaddr (virtual through cpu's CR3, or physical in cpu's node if phys). */
    public void read(final int cpu, final long addr, final byte[] dst, final int len, final boolean phys)
    {
        final int node = nodeOf(cpu);
        for (int i = 0; i < len; i++)
        {
            final long pa = phys ? addr + i : translate(cpu, addr + i);
            if (pa < 0)
            {
                throw new UnmappedAddressException(cpu, addr + i);
            }
            dst[i] = (byte)readPhys(node, pa, 1);
        }
    }

    /**
     * The cpu's call chain, innermost first: its pc, then the return address of each frame on the
     * frame-pointer chain in memory ({@code [fp] = caller's fp, [fp+8] = return address}: the
     * prologue of {@code Fn.enter}; trap entry builds the same shape with the interrupted pc). Stops
     * at fp 0, an unmapped frame, a chain that does not go up the stack, or maxFrames.
     */
    public List<Long> backtrace(final int cpu, final int maxFrames)
    {
        final List<Long> frames = new ArrayList<>();
        final CpuRegs r = regs[cpu];
        if (maxFrames <= 0)
        {
            return frames;
        }
        frames.add(r.pc);
        long fp = r.fp;
        while (frames.size() < maxFrames && fp != 0)
        {
            final long ra;
            final long next;
            try
            {
                next = readVirt(cpu, fp, 8);
                ra = readVirt(cpu, fp + 8, 8);
            }
            catch (final UnmappedAddressException e)
            {
                break;
            }
            if (ra == 0)
            {
                break;
            }
            frames.add(ra);
            if (next != 0 && Long.compareUnsigned(next, fp) <= 0)
            {
                break;
            }
            fp = next;
        }
        return frames;
    }
}
