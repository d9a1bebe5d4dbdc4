package palimpsest.analyzers.heap;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.CodeRanges;
import palimpsest.analyzers.core.LongLongMap;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.owner.Origin;
import palimpsest.analyzers.owner.Owners;
import palimpsest.analyzers.owner.SlabObject;
import palimpsest.kernel.Mark;
import palimpsest.kernel.mm.Slab;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * KASAN's semantics rebuilt from a trace: a shadow state per 8-byte granule of every slab page
 * (live object, freed object, slab-owned slot: free pointer, padding or never-allocated object),
 * driven by the SLAB_ALLOC/SLAB_FREE marks; every load, store, rmw and DMA access is checked
 * against it.
 *
 * <ul>
 *   <li>access to a freed object: slab-use-after-free;</li>
 *   <li>access to a slab page outside any live or freed object: slab-out-of-bounds;</li>
 *   <li>SLAB_FREE of a freed object: double-free; of an address that starts no object: invalid-free;</li>
 *   <li>a freed object the free path poisoned (0x6b.., last byte 0xa5) that differs from the poison
 *       when it is allocated again or at the end: KFENCE's memory corruption, with the
 *       {@code Corrupted memory at 0x... [ 0xf0 . . . ]} line.</li>
 * </ul>
 * The slab allocator itself legitimately touches free objects (it poisons them, links them through
 * the free pointer past each object, carves new slabs): accesses whose pc is in one of
 * {@link #ALLOCATOR_FUNCTIONS} are its own bookkeeping and never reported.
 */
public final class HeapShadow implements Analyzer
{
    public static final Set<String> ALLOCATOR_FUNCTIONS = Set.of(
        "kmem_cache_create", "kmem_cache_alloc", "kmem_cache_free", "cache_grow", "__kmalloc", "kzalloc", "kfree");

    static final byte NONE = 0;
    static final byte LIVE = 1;
    static final byte FREED = 2;
    static final byte SLOT = 3;
    /** Past kmalloc's requested size, inside the cache's object: KASAN's redzone, SLUB's right redzone. */
    static final byte SLACK = 4;

    private final MachineShadow shadow;
    private final Owners owners;
    private final Symbols symbols;
    private final LongLongMap pageSlots = new LongLongMap(256, -1);
    private final List<byte[]> granules = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();
    private final List<SlabObject> freedPoisoned = new ArrayList<>();
    private final LongLongMap requested = new LongLongMap(256, -1);
    private final CodeRanges allocator;
    private long suppressed;

    public HeapShadow(final MachineShadow shadow, final Owners owners, final Symbols symbols)
    {
        this.shadow = shadow;
        this.owners = owners;
        this.symbols = symbols;
        allocator = new CodeRanges(symbols, ALLOCATOR_FUNCTIONS);
    }

    @Override
    public String name()
    {
        return "heap";
    }

    private byte[] page(final long key, final boolean create)
    {
        final long p = key >>> 12;
        long s = pageSlots.get(p);
        if (s < 0)
        {
            if (!create)
            {
                return null;
            }
            s = granules.size();
            final byte[] g = new byte[512];
            java.util.Arrays.fill(g, SLOT);
            granules.add(g);
            pageSlots.put(p, s);
        }
        return granules.get((int)s);
    }

    private void set(final long key, final int size, final byte state)
    {
        for (long k = key & ~7L; k < key + size; k += 8)
        {
            page(k, true)[(int)((k & 0xfff) >>> 3)] = state;
        }
    }

    private int state(final long key)
    {
        final byte[] g = page(key, false);
        return g == null ? NONE : g[(int)((key & 0xfff) >>> 3)];
    }

    /** The kinds {@link #onEvent} looks at. */
    private static final int KINDS = 1 << EventKind.LOAD | 1 << EventKind.STORE | 1 << EventKind.RMW | 1 << EventKind.DMA_READ | 1 << EventKind.DMA_WRITE | 1 << EventKind.MARK;

    @Override
    public int kinds()
    {
        return KINDS;
    }

    @Override
    public void onEvent(final Event e)
    {
        final int kind = e.kind();
        if (kind == EventKind.MARK)
        {
            onMark(e);
            return;
        }
        // A device's DMA is the dma analyzer's (it names the device, the descriptor and who posted it).
        if (kind > EventKind.DMA_WRITE || kind == EventKind.FETCH || kind == EventKind.WALK || pageSlots.size() == 0 || EventKind.isDevice(e.cpu()))
        {
            return;
        }
        final long key = shadow.physKey(e.cpu(), e.paddr());
        int st = state(key);
        if (st == NONE || st == LIVE)
        {
            st = state(key + e.size() - 1);
            if (st == NONE || st == LIVE)
            {
                return;
            }
        }
        if (allocator.contains(e.pc()))
        {
            return;
        }
        report(e, key, st);
    }

    private void onMark(final Event e)
    {
        final int type = (int)e.a();
        if (type == Mark.SLAB_ALLOC)
        {
            final long key = shadow.translate(e.cpu(), e.b());
            final SlabObject before = owners.objectStartingAt(key);
            if (before != null && !before.live() && !before.reported && freedPoisoned.contains(before))
            {
                checkPoison(before, e.index(), "when it was allocated again at event " + e.index());
                freedPoisoned.remove(before);
            }
            set(key, (int)e.c(), LIVE);
            requested.remove(key);
        }
        else if (type == Mark.KMALLOC)
        {
            final long key = shadow.translate(e.cpu(), e.b());
            final SlabObject o = key < 0 ? null : owners.objectStartingAt(key);
            if (o != null && o.live() && e.c() < o.size)
            {
                // Granule precision: a partly requested granule stays accessible.
                final long end = (e.c() + 7) & ~7L;
                requested.put(key, e.c());
                if (end < o.size)
                {
                    set(key + end, (int)(o.size - end), SLACK);
                }
            }
        }
        else if (type == Mark.SLAB_FREE)
        {
            final long key = shadow.translate(e.cpu(), e.b());
            final SlabObject o = owners.objectStartingAt(key);
            if (o == null || !o.live())
            {
                badFree(e, key, o);
                return;
            }
            set(key, (int)e.c(), FREED);
            if (!freedPoisoned.contains(o))
            {
                freedPoisoned.add(o);
            }
        }
        else if (type == Mark.PAGE_FREE)
        {
            final long key = shadow.physKey(e.cpu(), e.b());
            for (long p = key; p < key + (4096L << (int)e.c()); p += 4096)
            {
                final byte[] g = page(p, false);
                if (g != null)
                {
                    java.util.Arrays.fill(g, NONE);
                }
            }
            freedPoisoned.removeIf(o -> o.physKey >= key && o.physKey < key + (4096L << (int)e.c()));
        }
    }

    @Override
    public void onEnd()
    {
        for (final SlabObject o : freedPoisoned)
        {
            if (!o.reported)
            {
                checkPoison(o, -1, "at the end of the trace");
            }
        }
    }

    /**
     * KFENCE-style check of a freed object: compares its bytes with the slab poison (0x6b..., last
     * byte 0xa5). Only objects the free path did poison are checked: the first byte must hold the
     * poison or a difference must be surrounded by poison, otherwise the kernel runs without
     * slab-poison and there is nothing to compare.
     */
    private void checkPoison(final SlabObject o, final long event, final String when)
    {
        int poisonBytes = 0;
        int first = -1;
        final int[] bad = new int[o.size];
        int nbad = 0;
        for (int i = 0; i < o.size; i++)
        {
            final int want = i == o.size - 1 ? Slab.POISON_END : Slab.POISON_FREE;
            final int have = shadow.memory().read8(o.physKey + i);
            if (have == want)
            {
                poisonBytes++;
            }
            else
            {
                bad[nbad++] = i;
                if (first < 0)
                {
                    first = i;
                }
            }
        }
        if (nbad == 0 || poisonBytes < o.size / 2)
        {
            return;
        }
        o.reported = true;
        final StringBuilder sb = new StringBuilder();
        sb.append("==================================================================\n");
        sb.append("BUG: KFENCE: memory corruption in ").append(symbols.sym(o.freed.pc)).append('\n');
        sb.append("Corrupted memory at 0x").append(Long.toHexString(o.vaddr + first)).append(" [");
        for (int i = first; i < Math.min(o.size, first + 16); i++)
        {
            final int want = i == o.size - 1 ? Slab.POISON_END : Slab.POISON_FREE;
            final int have = shadow.memory().read8(o.physKey + i);
            sb.append(have == want ? " ." : String.format(" 0x%02x", have));
        }
        sb.append(" ] (in the freed object at ").append(Long.toHexString(o.vaddr)).append(", found ").append(when).append(")\n");
        sb.append(owners.describe(o.physKey + first));
        sb.append("==================================================================\n");
        findings.add(new Finding(name(), event < 0 ? o.freed.event : event,
            "KFENCE: memory corruption of a freed " + owners.cacheName(o.cacheId) + " object at " + Long.toHexString(o.vaddr + first), sb.toString(),
            Finding.Role.SYMPTOM, "memory-corruption", "", 60, o.freed.event));
    }

    private void report(final Event e, final long key, final int st)
    {
        final SlabObject o = st == FREED || st == SLACK ? owners.objectAt(key) : owners.objectBefore(key);
        if (o != null && o.reported)
        {
            suppressed++;
            return;
        }
        if (o != null)
        {
            o.reported = true;
        }
        final boolean write = EventKind.isWrite(e.kind());
        final String bug = st == FREED ? "slab-use-after-free" : "slab-out-of-bounds";
        final StringBuilder sb = new StringBuilder();
        sb.append("==================================================================\n");
        sb.append("BUG: KASAN: ").append(bug).append(" in ").append(symbols.sym(e.pc())).append('\n');
        sb.append(write ? "Write" : "Read").append(" of size ").append(e.size()).append(" at addr ").append(Long.toHexString(e.vaddr()))
            .append(" (phys ").append(Long.toHexString(e.paddr())).append(") by task ").append(shadow.task(e.cpu()))
            .append(" on cpu").append(e.cpu()).append(" at event ").append(e.index()).append('\n');
        if (write)
        {
            sb.append("Value written ").append(String.format("0x%x (was 0x%x)", e.value(), e.oldValue())).append('\n');
        }
        sb.append('\n');
        sb.append("Call Trace:\n");
        symbols.stack(sb, e.pc(), shadow.backtrace(e.cpu()));
        sb.append('\n');
        if (o != null)
        {
            sb.append("Allocated by");
            o.allocated.describe(sb, symbols);
            if (o.freed != null)
            {
                sb.append("\nFreed by");
                o.freed.describe(sb, symbols);
            }
            sb.append("\nThe buggy address belongs to the object at ").append(Long.toHexString(o.vaddr))
                .append("\n which belongs to the cache ").append(owners.cacheName(o.cacheId)).append(" of size ").append(o.size).append('\n');
            final long off = key - o.physKey;
            final long req = st == SLACK ? requested.get(o.physKey) : -1;
            if (req >= 0)
            {
                sb.append("The buggy address is located ").append(off - req).append(" bytes to the right of\n allocated ").append(req)
                    .append("-byte region [").append(Long.toHexString(o.vaddr)).append(", ").append(Long.toHexString(o.vaddr + req))
                    .append(") (kmalloc(").append(req).append(") in a ").append(o.size).append("-byte object: the slack is redzone)\n");
                if (write)
                {
                    sb.append('\n').append(rightRedzone(o, key, req, e));
                }
            }
            else
            {
                sb.append("The buggy address is located ").append(off < o.size ? off + " bytes inside of" : (off - o.size) + " bytes to the right of")
                    .append("\n ").append(st == FREED ? "freed " : "allocated ").append(o.size).append("-byte region [")
                    .append(Long.toHexString(o.vaddr)).append(", ").append(Long.toHexString(o.vaddr + o.size)).append(")\n");
            }
            if (write && st == FREED)
            {
                sb.append(corruptedLine(o, key, e));
            }
        }
        sb.append("==================================================================\n");
        findings.add(new Finding(name(), e.index(), "KASAN: " + bug + " " + (write ? "write" : "read") + " of size " + e.size() + " at "
            + Long.toHexString(e.vaddr()) + " by " + symbols.sym(e.pc()), sb.toString(),
            write ? Finding.Role.CAUSE : Finding.Role.SYMPTOM, bug, culprit(e.pc()), write ? 80 : 70));
    }

    /** SLUB's debug report for a write past the requested size, as slub_debug=Z would print it at free. */
    private String rightRedzone(final SlabObject o, final long key, final long req, final Event e)
    {
        final long off = key - o.physKey;
        final StringBuilder sb = new StringBuilder();
        sb.append("=============================================================================\n");
        sb.append("BUG ").append(owners.cacheName(o.cacheId)).append(" (Not tainted): Right Redzone overwritten\n");
        sb.append("-----------------------------------------------------------------------------\n");
        sb.append("INFO: 0x").append(Long.toHexString(o.vaddr + off)).append("-0x").append(Long.toHexString(o.vaddr + off + e.size() - 1))
            .append(" @offset=").append(off).append(". First byte ").append(String.format("0x%x", e.value() & 0xff))
            .append(" instead of the redzone (bytes ").append(req).append("..").append(o.size - 1).append(" of the object)\n");
        sb.append("INFO: Allocated in ").append(symbols.sym(o.allocated.pc)).append(" cpu=").append(o.allocated.cpu).append(" task=")
            .append(o.allocated.task).append(" event=").append(o.allocated.event).append('\n');
        sb.append("INFO: Object 0x").append(Long.toHexString(o.vaddr)).append(" @offset=0, requested ").append(req).append(" of ")
            .append(o.size).append(" bytes\n");
        return sb.toString();
    }

    /** KFENCE's line for a write into a freed, poisoned object: the bytes as they will be, dots where the poison survives. */
    private String corruptedLine(final SlabObject o, final long key, final Event e)
    {
        final int off = (int)(key - o.physKey);
        final StringBuilder sb = new StringBuilder("Corrupted memory at 0x").append(Long.toHexString(o.vaddr + off)).append(" [");
        for (int i = off; i < Math.min(o.size, off + 16); i++)
        {
            final int want = i == o.size - 1 ? Slab.POISON_END : Slab.POISON_FREE;
            int have = shadow.memory().read8(o.physKey + i);
            if (i - off < e.size())
            {
                have = (int)(e.value() >>> (8 * (i - off))) & 0xff;
            }
            sb.append(have == want ? " ." : String.format(" 0x%02x", have));
        }
        return sb.append(" ]\n").toString();
    }

    private void badFree(final Event e, final long key, final SlabObject o)
    {
        final String bug = o != null ? "double-free" : "invalid-free";
        final StringBuilder sb = new StringBuilder();
        sb.append("==================================================================\n");
        sb.append("BUG: KASAN: ").append(bug).append(" in ").append(symbols.sym(e.pc())).append('\n');
        sb.append("Free of addr ").append(Long.toHexString(e.b())).append(" by task ").append(shadow.task(e.cpu()))
            .append(" on cpu").append(e.cpu()).append(" at event ").append(e.index()).append("\n\nCall Trace:\n");
        symbols.stack(sb, e.pc(), shadow.backtrace(e.cpu()));
        if (o != null)
        {
            sb.append("\nAllocated by");
            o.allocated.describe(sb, symbols);
            sb.append("\nFreed by");
            o.freed.describe(sb, symbols);
            sb.append("\nThe buggy address belongs to the object at ").append(Long.toHexString(o.vaddr))
                .append("\n which belongs to the cache ").append(owners.cacheName(o.cacheId)).append(" of size ").append(o.size).append('\n');
        }
        else
        {
            sb.append('\n').append(owners.describe(key));
        }
        sb.append("==================================================================\n");
        findings.add(new Finding(name(), e.index(), "KASAN: " + bug + " of " + Long.toHexString(e.b()) + " in " + symbols.sym(e.pc()), sb.toString(),
            Finding.Role.CAUSE, bug, culprit(e.pc()), 80));
    }

    private String culprit(final long pc)
    {
        final String f = symbols.function(pc);
        return f != null ? f : symbols.sym(pc);
    }

    @Override
    public String checked()
    {
        return pageSlots.size() + " slab pages shadowed, every access checked against them";
    }

    public long suppressed()
    {
        return suppressed;
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    /** Registers this analyzer as {@code heap}. */
    public static final class Factory extends palimpsest.analyzers.ShadowAnalyzerFactory
    {
        public Factory()
        {
            super("heap", "KASAN-style slab shadow: use-after-free, out-of-bounds (past the requested size too), double/invalid free, KFENCE corrupted memory", HeapShadow::new);
        }
    }
}
