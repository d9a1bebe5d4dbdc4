package palimpsest.analyzers.core;

import palimpsest.kernel.Layout;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;

/**
 * What a streaming pass knows about the machine at the current event, from the events alone:
 * per-cpu frame pointer, CR3 and current task, the physical memory the trace wrote
 * ({@link SparseMemory}) and the virtual-to-physical translations the accesses showed. Enough to
 * walk a kernel backtrace at any event, which is what reports need; no keyframes, no re-execution.
 *
 * <p>Physical addresses are keys {@code node << 48 | paddr} (see {@link #physKey}); one node traces
 * have key == paddr. Feed every event to {@link #apply} after the analyzers looked at it, so that
 * they see the state before the event.
 */
public final class MachineShadow
{
    public static final int MAX_FRAMES = 32;
    private static final int NODE_SHIFT = 48;
    private static final long PHYS_MASK = (1L << NODE_SHIFT) - 1;

    private final int cpusPerNode;
    private final boolean keepsMemory;
    private final long[] fp;
    private final long[] sp;
    private final long[] cr3;
    private final long[] task;
    private final long[] lastVpage;
    private final long[] lastPpage;
    private final SparseMemory memory = new SparseMemory();
    /** vpage key (see {@link #vkey}) -> physical page key. */
    private final LongLongMap pages = new LongLongMap(4096, -1);
    /**
     * The translations put into pages most recently, direct-mapped by virtual key: a translation
     * already there is not put again (memcpy alternating two pages changes page at every access).
     * A slot always holds the latest put of its key when it holds that key at all.
     */
    private final long[] recentKey = new long[RECENT];
    private final long[] recentPage = new long[RECENT];
    private static final int RECENT = 1024;
    private final LongLongMap spaces = new LongLongMap(64, -1);

    public MachineShadow(final int cpus, final int cpusPerNode)
    {
        this(cpus, cpusPerNode, true);
    }

    /**
     * keepsMemory false: registers, tasks and translations only, no memory (so no backtraces and no
     * reads): the shadow of analyzers that need no more during the pass, at a fraction of the cost.
     */
    public MachineShadow(final int cpus, final int cpusPerNode, final boolean keepsMemory)
    {
        this.keepsMemory = keepsMemory;
        this.cpusPerNode = Math.max(1, cpusPerNode);
        fp = new long[cpus];
        sp = new long[cpus];
        cr3 = new long[cpus];
        task = new long[cpus];
        lastVpage = new long[cpus];
        lastPpage = new long[cpus];
        java.util.Arrays.fill(lastVpage, -1);
        java.util.Arrays.fill(recentKey, Long.MIN_VALUE); // no virtual key: kernel keys are vpage | node << 56, user ones space << 36 | vpage
    }

    public long physKey(final int cpu, final long paddr)
    {
        final int node = EventKind.isDevice(cpu) ? cpu - 0x8000 : cpu / cpusPerNode;
        return (long)node << NODE_SHIFT | paddr;
    }

    public static long paddrOf(final long physKey)
    {
        return physKey & PHYS_MASK;
    }

    public static int nodeOf(final long physKey)
    {
        return (int)(physKey >>> NODE_SHIFT);
    }

    /**
     * Key of a virtual page: kernel pages by themselves, user pages qualified by address space;
     * both qualified by node (every node's kernel has the same direct map, and page tables at the
     * same physical addresses), node 0 unchanged.
     */
    private long vkey(final int cpu, final long vaddr)
    {
        final long vpage = vaddr >>> 12;
        final long node = cpu / cpusPerNode;
        if (vaddr < 0)
        {
            return vpage | node << 56;
        }
        final long as = cr3[cpu] | node << 56;
        long space = spaces.get(as);
        if (space < 0)
        {
            space = spaces.size() + 1;
            spaces.put(as, space);
        }
        return space << 36 | vpage;
    }

    public void apply(final Event e)
    {
        final int kind = e.kind();
        final int cpu = e.cpu();
        if (kind <= EventKind.DMA_WRITE)
        {
            final long key = physKey(cpu, e.paddr());
            if (kind != EventKind.WALK && kind < EventKind.DMA_READ && cpu < fp.length)
            {
                learn(cpu, e.vaddr(), key);
            }
            if (keepsMemory && EventKind.isWrite(kind))
            {
                memory.write(key, e.size(), e.value());
            }
        }
        else if (kind == EventKind.REG && cpu < fp.length)
        {
            final int reg = (int)e.a();
            if (reg == Reg.FP)
            {
                fp[cpu] = e.b();
            }
            else if (reg == Reg.SP)
            {
                sp[cpu] = e.b();
            }
            else if (reg == Reg.CR3)
            {
                cr3[cpu] = e.b();
                lastVpage[cpu] = -1;
            }
        }
        else if (kind == EventKind.TASK_SWITCH && cpu < fp.length)
        {
            task[cpu] = e.b();
        }
    }

    private void learn(final int cpu, final long vaddr, final long physKey)
    {
        final long vpage = vaddr >>> 12;
        final long ppage = physKey >>> 12;
        if (vpage == lastVpage[cpu] && ppage == lastPpage[cpu])
        {
            return;
        }
        lastVpage[cpu] = vpage;
        lastPpage[cpu] = ppage;
        final long vk = vkey(cpu, vaddr);
        final int r = (int)(vk ^ vk >>> 36) & (RECENT - 1);
        if (recentKey[r] == vk && recentPage[r] == ppage)
        {
            return;
        }
        recentKey[r] = vk;
        recentPage[r] = ppage;
        pages.put(vk, ppage);
    }

    /**
     * Physical key of a virtual address as this cpu last saw it mapped, falling back on the
     * kernel's fixed formulas (direct map, kernel image); -1 when unknown.
     */
    public long translate(final int cpu, final long vaddr)
    {
        final long ppage = pages.get(vkey(Math.min(cpu, fp.length - 1), vaddr));
        if (ppage >= 0)
        {
            return ppage << 12 | (vaddr & 0xfff);
        }
        final long pa = fixedPa(vaddr);
        return pa < 0 ? -1 : physKey(cpu, pa);
    }

    /** __pa for the direct map and the kernel image; -1 elsewhere. */
    public static long fixedPa(final long vaddr)
    {
        if (Layout.isDirectMap(vaddr))
        {
            return Layout.pa(vaddr);
        }
        if (Layout.isKernelImage(vaddr))
        {
            return vaddr - Layout.START_KERNEL_MAP;
        }
        return -1;
    }

    public long fp(final int cpu)
    {
        return fp[cpu];
    }

    public long sp(final int cpu)
    {
        return cpu < sp.length ? sp[cpu] : 0;
    }

    /**
     * Whether a virtual address is in the live part of the cpu's current kernel stack: from SP up
     * to the end of its THREAD_SIZE-aligned stack. Pushes (call, push rbp) and spills land there;
     * they are the writer's own bookkeeping, never the data it means to write elsewhere. The
     * emulator records every SP change before the store that uses it, so SP here is exact.
     */
    public boolean onStack(final int cpu, final long vaddr)
    {
        if (cpu >= sp.length || sp[cpu] == 0)
        {
            return false;
        }
        final long s = sp[cpu];
        final long top = (s | (Layout.THREAD_SIZE - 1)) + 1;
        return Long.compareUnsigned(vaddr, s) >= 0 && Long.compareUnsigned(vaddr, top) < 0;
    }

    /** The task the cpu runs (id from TASK_SWITCH events; 0 before the first switch). */
    public long task(final int cpu)
    {
        return cpu < task.length ? task[cpu] : 0;
    }

    public int cpusPerNode()
    {
        return cpusPerNode;
    }

    public int cpus()
    {
        return fp.length;
    }

    public SparseMemory memory()
    {
        return memory;
    }

    /** Reads a 64-bit word at a virtual address of a cpu's view; 0 when unmapped. */
    public long readVirt64(final int cpu, final long vaddr)
    {
        final long key = translate(cpu, vaddr);
        return key < 0 ? 0 : memory.read64(key);
    }

    /**
     * The return addresses of the frame-pointer chain of a cpu now: [fp] = caller's fp,
     * [fp + 8] = return address, as the kernel's own oops backtrace walks it.
     *
     * @return how many were written into out.
     */
    public int backtrace(final int cpu, final long[] out)
    {
        if (cpu >= fp.length)
        {
            return 0;
        }
        long f = fp[cpu];
        int n = 0;
        while (n < out.length && f != 0 && (f & 7) == 0)
        {
            final long key = translate(cpu, f);
            if (key < 0 || !memory.known(key + 8))
            {
                break;
            }
            final long ra = memory.read64(key + 8);
            if (ra == 0)
            {
                break;
            }
            out[n++] = ra;
            final long next = memory.read64(key);
            if (Long.compareUnsigned(next, f) <= 0)
            {
                break;
            }
            f = next;
        }
        return n;
    }

    /** A copy of the current backtrace. */
    public long[] backtrace(final int cpu)
    {
        final long[] buf = new long[MAX_FRAMES];
        final int n = backtrace(cpu, buf);
        return java.util.Arrays.copyOf(buf, n);
    }
}
