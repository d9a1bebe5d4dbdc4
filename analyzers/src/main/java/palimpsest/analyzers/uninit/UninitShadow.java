package palimpsest.analyzers.uninit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import palimpsest.analyzers.AnalysisContext;
import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.CodeRanges;
import palimpsest.analyzers.core.LongLongMap;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.heap.HeapShadow;
import palimpsest.analyzers.owner.Origin;
import palimpsest.analyzers.owner.Owners;
import palimpsest.analyzers.owner.PageBlock;
import palimpsest.analyzers.owner.SlabObject;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.kernel.Mark;
import palimpsest.kernel.Uses;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * KMSAN's semantics rebuilt from a trace: one "uninitialised" bit per physical byte of every
 * allocation (slab objects from SLAB_ALLOC, which covers kmalloc but not the zeroing kzalloc does
 * after it; page-allocator blocks from PAGE_ALLOC, which covers alloc_pages, vmalloc's backing
 * pages and kernel stacks), cleared by every store, read-modify-write and DMA write of the byte,
 * dropped when the memory is freed.
 *
 * <p><b>Use, from the trace.</b> Copying uninitialised bytes is no bug (KMSAN only reports a use),
 * and the Java kernel's registers are not in the trace, so a use is found by data flow through
 * values: a load that read uninitialised bytes puts its value V in its cpu's window of recent
 * uninitialised values; an access of that cpu within the next {@link #WINDOW} accesses (or the
 * exception an access raised) whose address lies in [V, V + 4 KiB) used V as an address (a
 * pointer plus a field offset); when that access is the indirect-call thunk's probe of its target,
 * V was a call target. The window is emptied at interrupts and task switches (another
 * instruction stream). A branch on V or V as a length leaves no address behind: the kernel says
 * it in the trace ({@link Uses}: a {@code VALUE_USE} mark right after the load), and such a use
 * is exact: the marked bytes are still uninitialised in the shadow and the cpu's latest
 * uninitialised load read them.
 *
 * <p><b>Report</b> (KMSAN's shape, one step further): {@code BUG: KMSAN: uninit-value in f+0x..},
 * the use's stack, the load that read the value, {@code Uninit was created at:} with the
 * allocation's stack, {@code Bytes a-b of N are uninitialized} (N = the requested kmalloc size
 * when a KMALLOC mark gave it), the bytes, and where the value really came from: the last write
 * of those bytes before the allocation (slab poison written by the free path, or the previous
 * owner's leftover, with that owner's allocation and free).
 */
public final class UninitShadow implements Analyzer
{
    /** Accesses of the same cpu after an uninitialised load in which a use still counts. */
    static final int WINDOW = 16;
    private static final int RING = 8;
    private static final int MAX_REPORTS = 16;
    private static final long PTR_SPAN = 4096;
    private static final String INDIRECT_THUNK = "__x86_indirect_thunk";

    private final MachineShadow shadow;
    private final Owners owners;
    private final Symbols symbols;
    private final CodeRanges allocator;
    private final CodeRanges thunk;
    /** Physical page key -> index into bits. */
    private final LongLongMap pageIndex = new LongLongMap(1024, -1);
    private final List<long[]> bits = new ArrayList<>();
    /** Object physical key -> kmalloc's requested size. */
    private final LongLongMap requested = new LongLongMap(1024, -1);
    /** Object physical key -> the previous (freed) object at the same place, at its allocation. */
    private final Map<Long, SlabObject> previousOwner = new HashMap<>();
    // Per cpu: the ring of recent uninitialised loads.
    private final long[][] ringValue;
    private final long[][] ringEvent;
    private final long[][] ringVaddr;
    private final long[][] ringKey;
    private final long[][] ringPc;
    private final int[][] ringSize;
    private final long[][] ringAge;
    private final int[] ringPos;
    private final int[] ringCount;
    private final long[] accesses;
    private final List<Use> uses = new ArrayList<>();
    private final Set<Long> reportedLoads = new HashSet<>();
    private final Set<Long> reportedOrigins = new HashSet<>();
    private final List<Finding> findings = new ArrayList<>();
    private long uninitLoads;
    private long allocations;

    /** A use found in the pass, reported in {@link #afterPass}. */
    static final class Use
    {
        long event;
        int cpu;
        long task;
        long pc;
        long addr;
        boolean callTarget;
        boolean fault;
        /** 0: an address (or call target); {@link Uses#BRANCH} or {@link Uses#LENGTH}: a recorded VALUE_USE. */
        int kind;
        long[] stack;
        long loadEvent;
        long loadPc;
        long loadVaddr;
        long loadKey;
        int loadSize;
        long value;
        int uninitMask;
        SlabObject object;
        PageBlock block;
        long requestedSize = -1;
        SlabObject previous;
    }

    public UninitShadow(final MachineShadow shadow, final Owners owners, final Symbols symbols)
    {
        this.shadow = shadow;
        this.owners = owners;
        this.symbols = symbols;
        this.allocator = new CodeRanges(symbols, HeapShadow.ALLOCATOR_FUNCTIONS);
        this.thunk = new CodeRanges(symbols, List.of(INDIRECT_THUNK));
        final int n = shadow.cpus();
        ringValue = new long[n][RING];
        ringEvent = new long[n][RING];
        ringVaddr = new long[n][RING];
        ringKey = new long[n][RING];
        ringPc = new long[n][RING];
        ringSize = new int[n][RING];
        ringAge = new long[n][RING];
        ringPos = new int[n];
        ringCount = new int[n];
        accesses = new long[n];
    }

    @Override
    public String name()
    {
        return "kmsan";
    }

    // ------------------------------------------------------------------ shadow bits

    private long[] page(final long key, final boolean create)
    {
        final long p = key >>> 12;
        long i = pageIndex.get(p);
        if (i < 0)
        {
            if (!create)
            {
                return null;
            }
            i = bits.size();
            bits.add(new long[64]);
            pageIndex.put(p, i);
        }
        return bits.get((int)i);
    }

    private void mark(final long key, final long size, final boolean uninit)
    {
        long k = key;
        final long end = key + size;
        while (k < end)
        {
            final long[] b = page(k, uninit);
            final long pageEnd = (k | 0xfff) + 1;
            if (b == null)
            {
                k = pageEnd;
                continue;
            }
            final long stop = Math.min(end, pageEnd);
            for (; k < stop; k++)
            {
                final int off = (int)(k & 0xfff);
                if (uninit)
                {
                    b[off >>> 6] |= 1L << off;
                }
                else
                {
                    b[off >>> 6] &= ~(1L << off);
                }
            }
        }
    }

    /** Bit i set: byte i of [key, key + size) is uninitialised (size <= 8). */
    private int uninitMask(final long key, final int size)
    {
        int m = 0;
        long[] b = page(key, false);
        long bp = key >>> 12;
        for (int i = 0; i < size; i++)
        {
            final long k = key + i;
            if (k >>> 12 != bp)
            {
                bp = k >>> 12;
                b = page(k, false);
            }
            if (b != null)
            {
                final int off = (int)(k & 0xfff);
                if ((b[off >>> 6] & 1L << off) != 0)
                {
                    m |= 1 << i;
                }
            }
        }
        return m;
    }

    private void clear(final long key, final int size)
    {
        final long[] b = page(key, false);
        if (b == null && page(key + size - 1, false) == null)
        {
            return;
        }
        mark(key, size, false);
    }

    // ------------------------------------------------------------------ the pass

    /** The kinds {@link #onEvent} looks at. */
    private static final int KINDS = 1 << EventKind.LOAD | 1 << EventKind.FETCH | 1 << EventKind.STORE | 1 << EventKind.RMW | 1 << EventKind.DMA_WRITE | 1 << EventKind.EXCEPTION | 1 << EventKind.INTERRUPT | 1 << EventKind.TASK_SWITCH | 1 << EventKind.MARK;

    @Override
    public int kinds()
    {
        return KINDS;
    }

    @Override
    public void onEvent(final Event e)
    {
        final int kind = e.kind();
        final int cpu = e.cpu();
        switch (kind)
        {
            case EventKind.LOAD:
            case EventKind.FETCH:
                if (cpu < ringPos.length)
                {
                    use(e, e.vaddr(), false);
                    if (kind == EventKind.LOAD && pageIndex.size() > 0)
                    {
                        load(e);
                    }
                }
                break;
            case EventKind.STORE:
            case EventKind.RMW:
                if (cpu < ringPos.length)
                {
                    use(e, e.vaddr(), false);
                }
                if (pageIndex.size() > 0)
                {
                    clear(shadow.physKey(cpu, e.paddr()), e.size());
                }
                break;
            case EventKind.DMA_WRITE:
                if (pageIndex.size() > 0)
                {
                    clear(shadow.physKey(cpu, e.paddr()), e.size());
                }
                break;
            case EventKind.EXCEPTION:
                if (cpu < ringPos.length && (e.a() == 13 || e.a() == 14))
                {
                    use(e, e.c(), true);
                }
                break;
            case EventKind.INTERRUPT:
            case EventKind.TASK_SWITCH:
                if (cpu < ringPos.length)
                {
                    ringCount[cpu] = 0;
                }
                break;
            case EventKind.MARK:
                onMark(e);
                break;
            default:
                break;
        }
    }

    private void onMark(final Event e)
    {
        final int type = (int)e.a();
        switch (type)
        {
            case Mark.SLAB_ALLOC:
            {
                final long key = shadow.translate(e.cpu(), e.b());
                if (key < 0)
                {
                    return;
                }
                final int size = (int)e.c();
                mark(key, size, true);
                requested.remove(key);
                final SlabObject before = owners.objectStartingAt(key);
                if (before != null && !before.live())
                {
                    previousOwner.put(key, before);
                }
                else
                {
                    previousOwner.remove(key);
                }
                allocations++;
                break;
            }
            case Mark.KMALLOC:
            {
                final long key = shadow.translate(e.cpu(), e.b());
                if (key >= 0)
                {
                    requested.put(key, e.c());
                }
                break;
            }
            case Mark.SLAB_FREE:
            {
                final long key = shadow.translate(e.cpu(), e.b());
                if (key >= 0)
                {
                    clear(key, (int)e.c());
                }
                break;
            }
            case Mark.VALUE_USE:
                valueUse(e);
                break;
            case Mark.PAGE_ALLOC:
                mark(shadow.physKey(e.cpu(), e.b()), 4096L << (int)e.c(), true);
                allocations++;
                break;
            case Mark.PAGE_FREE:
            {
                final long key = shadow.physKey(e.cpu(), e.b());
                for (long p = key; p < key + (4096L << (int)e.c()); p += 4096)
                {
                    final long[] b = page(p, false);
                    if (b != null)
                    {
                        java.util.Arrays.fill(b, 0);
                    }
                }
                break;
            }
            default:
                break;
        }
    }

    private void load(final Event e)
    {
        final long key = shadow.physKey(e.cpu(), e.paddr());
        final int m = uninitMask(key, e.size());
        if (m == 0 || allocator.contains(e.pc()))
        {
            return;
        }
        uninitLoads++;
        final int cpu = e.cpu();
        final int i = ringPos[cpu]++ & (RING - 1);
        ringValue[cpu][i] = e.value();
        ringEvent[cpu][i] = e.index();
        ringVaddr[cpu][i] = e.vaddr();
        ringKey[cpu][i] = key;
        ringPc[cpu][i] = e.pc();
        ringSize[cpu][i] = e.size() | m << 8;
        ringAge[cpu][i] = accesses[cpu];
        ringCount[cpu] = Math.min(RING, ringCount[cpu] + 1);
    }

    /**
     * A recorded use (branch condition, length) of the value the cpu just loaded from [a, a + size):
     * a use of uninitialised bytes when the shadow of that memory is still uninitialised (nothing
     * wrote it since the load: the value in the register is what the memory holds). The load is
     * the cpu's latest uninitialised load of that address.
     */
    private void valueUse(final Event e)
    {
        final int cpu = e.cpu();
        if (cpu >= ringPos.length || pageIndex.size() == 0 || allocator.contains(e.pc()))
        {
            return;
        }
        final long key = shadow.translate(cpu, e.b());
        final int size = Uses.size(e.c());
        if (key < 0 || size == 0 || size > 8 || uninitMask(key, size) == 0)
        {
            return;
        }
        for (int k = 0; k < RING; k++)
        {
            final int i = (ringPos[cpu] - 1 - k) & (RING - 1);
            if (k < ringPos[cpu] && ringKey[cpu][i] == key && ringEvent[cpu][i] < e.index() && (ringSize[cpu][i] & 0xff) == size)
            {
                found(e, e.b(), false, cpu, i, Uses.kind(e.c()));
                return;
            }
        }
    }

    /** Does this access (or fault) use a recent uninitialised value of its cpu as an address? */
    private void use(final Event e, final long addr, final boolean fault)
    {
        final int cpu = e.cpu();
        final long now = accesses[cpu]++;
        final int n = ringCount[cpu];
        if (n == 0)
        {
            return;
        }
        for (int k = 0; k < n; k++)
        {
            final int i = (ringPos[cpu] - 1 - k) & (RING - 1);
            if (now - ringAge[cpu][i] > WINDOW)
            {
                ringCount[cpu] = k;
                return;
            }
            final long v = ringValue[cpu][i];
            final int size = ringSize[cpu][i] & 0xff;
            // A pointer is loaded whole; the uninitialised bytes must be of the value (not a
            // neighbour's byte of a wider load that happens to match).
            if (size == 8 && Long.compareUnsigned(addr - v, PTR_SPAN) < 0 && ringEvent[cpu][i] != e.index()
                && !allocator.contains(e.pc()))
            {
                found(e, addr, fault, cpu, i, 0);
                ringCount[cpu] = 0;
                return;
            }
        }
    }

    private void found(final Event e, final long addr, final boolean fault, final int cpu, final int i, final int kind)
    {
        final long loadEvent = ringEvent[cpu][i];
        if (uses.size() >= MAX_REPORTS || !reportedLoads.add(loadEvent))
        {
            return;
        }
        final Use u = new Use();
        u.event = e.index();
        u.cpu = cpu;
        u.task = shadow.task(cpu);
        u.pc = e.pc();
        u.addr = addr;
        u.fault = fault;
        u.kind = kind;
        u.callTarget = kind == 0 && thunk.contains(e.pc()) && addr == ringValue[cpu][i];
        u.stack = shadow.backtrace(cpu);
        u.loadEvent = loadEvent;
        u.loadPc = ringPc[cpu][i];
        u.loadVaddr = ringVaddr[cpu][i];
        u.loadKey = ringKey[cpu][i];
        u.loadSize = ringSize[cpu][i] & 0xff;
        u.uninitMask = ringSize[cpu][i] >>> 8;
        u.value = ringValue[cpu][i];
        u.object = owners.objectAt(u.loadKey);
        if (u.object != null && u.object.live())
        {
            u.requestedSize = requested.get(u.object.physKey);
            u.previous = previousOwner.get(u.object.physKey);
            if (!reportedOrigins.add(u.object.allocated.event))
            {
                return; // the first use per allocation only
            }
        }
        else
        {
            u.object = null;
            u.block = owners.blockAt(u.loadKey);
            if (u.block != null && !reportedOrigins.add(u.block.allocated.event))
            {
                return;
            }
        }
        uses.add(u);
    }

    @Override
    public String checked()
    {
        return allocations + " allocations shadowed, " + uninitLoads + " loads of uninitialised bytes, " + uses.size() + " used";
    }

    // ------------------------------------------------------------------ reports

    @Override
    public void afterPass(final AnalysisContext context)
    {
        for (final Use u : uses)
        {
            report(context, u);
        }
    }

    /** For each use, the last write of its bytes before their allocation (the leftover line). */
    @Override
    public java.util.Collection<Long> probes(final AnalysisContext context)
    {
        final List<Long> evs = new ArrayList<>();
        for (final Use u : uses)
        {
            final Origin alloc = allocation(u);
            if (alloc != null)
            {
                long last = -1;
                for (final WhoWroteIndex.Write w : context.whoWrote().writers(u.loadKey, u.loadSize, alloc.event, false))
                {
                    last = Math.max(last, w.event);
                }
                if (last >= 0)
                {
                    evs.add(last);
                }
            }
        }
        return evs;
    }

    private Origin allocation(final Use u)
    {
        return u.object != null ? u.object.allocated : u.block != null ? u.block.allocated : null;
    }

    /** The allocating function: the first frame of the allocation's stack that is not the allocator. */
    private String allocatingFunction(final Origin o)
    {
        if (o == null)
        {
            return "";
        }
        if (!allocator.contains(o.pc) && symbols.function(o.pc) != null)
        {
            return symbols.function(o.pc);
        }
        for (final long ra : o.stack)
        {
            if (!allocator.contains(ra))
            {
                final String f = symbols.function(ra);
                // Module code is not in the code map: its name is the symbol without the offset.
                return f != null ? f : symbols.sym(ra).replaceFirst("\\+0x[0-9a-f]+/0x[0-9a-f]+", "");
            }
        }
        return symbols.sym(o.pc);
    }

    private void report(final AnalysisContext context, final Use u)
    {
        final Origin alloc = allocation(u);
        final String creator = allocatingFunction(alloc);
        final String how = u.object != null ? "kmalloc" : "alloc_pages";
        final StringBuilder sb = new StringBuilder();
        sb.append("=====================================================\n");
        sb.append("BUG: KMSAN: uninit-value in ").append(symbols.sym(u.pc)).append('\n');
        symbols.stack(sb, u.pc, u.stack);
        sb.append('\n');
        sb.append("The value ").append(String.format("0x%016x", u.value)).append(" was loaded from ").append(Long.toHexString(u.loadVaddr))
            .append(" by ").append(symbols.sym(u.loadPc)).append(" at event ").append(u.loadEvent).append(",\n")
            .append("and used as ").append(useName(u, true)).append(" at event ").append(u.event)
            .append(u.kind != 0 ? " (by " + symbols.sym(u.pc) + ")" : u.fault ? " (the access faulted at " + Symbols.hex16(u.addr) + ")"
                : " (access at " + Long.toHexString(u.addr) + ")")
            .append('\n');
        sb.append('\n');
        sb.append("Uninit was created at:\n");
        if (alloc != null)
        {
            symbols.stack(sb, alloc.pc, alloc.stack);
            sb.append(" (").append(how).append(" by ").append(creator).append(", task ").append(alloc.task).append(" on cpu").append(alloc.cpu)
                .append(" at event ").append(alloc.event).append(")\n");
        }
        else
        {
            sb.append(" (the trace does not say who allocated phys ").append(Long.toHexString(MachineShadow.paddrOf(u.loadKey))).append(")\n");
        }
        sb.append('\n');
        final int first = Integer.numberOfTrailingZeros(u.uninitMask);
        final int last = 31 - Integer.numberOfLeadingZeros(u.uninitMask);
        if (u.object != null)
        {
            final long off = u.loadKey - u.object.physKey;
            final long n = u.requestedSize > 0 ? u.requestedSize : u.object.size;
            sb.append("Bytes ").append(off + first).append('-').append(off + last).append(" of ").append(n).append(" are uninitialized")
                .append(u.requestedSize > 0 ? " (kmalloc(" + u.requestedSize + ") from the " + owners.cacheName(u.object.cacheId) + " cache)"
                    : " (" + owners.cacheName(u.object.cacheId) + ")").append('\n');
        }
        else
        {
            sb.append("Bytes ").append(first).append('-').append(last).append(" of the ").append(u.loadSize).append("-byte load are uninitialized\n");
        }
        sb.append("Memory access of size ").append(u.loadSize).append(" starts at ").append(Long.toHexString(u.loadVaddr)).append('\n');
        sb.append("The bytes:");
        for (int i = 0; i < u.loadSize; i++)
        {
            sb.append(String.format(" %02x", (u.value >>> (8 * i)) & 0xff));
        }
        sb.append('\n');
        leftover(context, u, alloc, sb);
        sb.append("CPU: ").append(u.cpu).append(" task ").append(u.task).append('\n');
        sb.append("=====================================================\n");
        final String title = "KMSAN: uninit-value in " + symbols.sym(u.pc) + ": " + String.format("0x%x", u.value) + " from "
            + Long.toHexString(u.loadVaddr) + " used as " + useName(u, false) + "; created by " + creator
            + "'s " + how + (alloc != null ? " at event " + alloc.event : "");
        final long[] links = {u.loadEvent, u.event};
        findings.add(new Finding(name(), alloc != null ? alloc.event : u.loadEvent, title, sb.toString(), Finding.Role.CAUSE, "uninit-value",
            creator.isEmpty() ? symbols.sym(u.loadPc) : creator + "'s " + how, 85, links));
    }

    private static String useName(final Use u, final boolean longForm)
    {
        switch (u.kind)
        {
            case Uses.BRANCH: return "a branch condition";
            case Uses.LENGTH: return "a length";
            default: return u.callTarget ? longForm ? "an indirect call target" : "a call target" : "an address";
        }
    }

    /** What the uninitialised bytes really held and why: the last write before the allocation. */
    private void leftover(final AnalysisContext context, final Use u, final Origin alloc, final StringBuilder sb)
    {
        if (alloc == null)
        {
            return;
        }
        final List<WhoWroteIndex.Write> ws = context.whoWrote().writers(u.loadKey, u.loadSize, alloc.event, false);
        if (ws.isEmpty())
        {
            sb.append("Nobody wrote these bytes during the trace before the allocation (memory as it was at boot)\n");
            return;
        }
        long firstEv = Long.MAX_VALUE;
        long lastEv = -1;
        for (final WhoWroteIndex.Write w : ws)
        {
            firstEv = Math.min(firstEv, w.event);
            lastEv = Math.max(lastEv, w.event);
        }
        final Probe.Sight s = context.looker().look(List.of(lastEv)).get(0);
        final boolean poison = allocator.contains(s.event.pc());
        sb.append(poison ? "They are slab poison, " : "They are the previous owner's leftover, ").append("last written at event")
            .append(firstEv == lastEv ? " " + lastEv : "s " + firstEv + ".." + lastEv).append(" by ")
            .append(symbols.chain(s.event.pc(), s.stack)).append(", before the allocation\n");
        if (u.previous != null)
        {
            sb.append("The previous owner: a ").append(owners.cacheName(u.previous.cacheId)).append(" object allocated by ")
                .append(allocatingFunction(u.previous.allocated)).append(" at event ").append(u.previous.allocated.event);
            if (u.previous.freed != null)
            {
                sb.append(", freed by ").append(symbols.chain(u.previous.freed.pc, u.previous.freed.stack)).append(" at event ")
                    .append(u.previous.freed.event);
            }
            sb.append('\n');
        }
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    /** Registers this analyzer as {@code kmsan}. */
    public static final class Factory extends palimpsest.analyzers.ShadowAnalyzerFactory
    {
        public Factory()
        {
            super("kmsan", "KMSAN-style uninitialised values: bytes of kmalloc/alloc_pages never written, loaded, then used as an address, call target, branch condition or length", UninitShadow::new);
        }
    }
}
