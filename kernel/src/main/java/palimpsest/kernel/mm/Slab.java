package palimpsest.kernel.mm;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Lists;
import palimpsest.kernel.Mark;

/**
 * The slab allocator: named caches of fixed-size objects carved from buddy pages. Slab metadata
 * is kept in the slab's struct page, as SLUB does ({@code slab_cache}, {@code freelist},
 * {@code inuse}, {@code lru} on the cache's partial list). The free pointer of an object sits just
 * past it (stride = size + 8), so a freed object is poisoned whole: 0x6b bytes, last byte 0xa5.
 *
 * <pre>
 * struct kmem_cache (in kernel data, 128 bytes)        object slot (stride = size + 8)
 *   +0   name[24]                                       +0        object (size bytes)
 *   +24  object_size (4)   +28 stride (4)                +size     free pointer
 *   +32  objects per slab (4)  +36 order (4)
 *   +40  lock
 *   +48  partial list_head
 *   +64  nr_slabs   +72 nr_active   +80 id
 * </pre>
 */
public final class Slab
{
    public static final int POISON_FREE = 0x6b;
    public static final int POISON_END = 0xa5;
    public static final long POISON_WORD = 0x6b6b6b6b6b6b6b6bL;

    static final int C_NAME = 0;
    static final int C_SIZE = 24;
    static final int C_STRIDE = 28;
    static final int C_OBJECTS = 32;
    static final int C_ORDER = 36;
    static final int C_LOCK = 40;
    static final int C_PARTIAL = 48;
    static final int C_NR_SLABS = 64;
    static final int C_NR_ACTIVE = 72;
    static final int C_ID = 80;

    /** struct kmem_cache field offsets, for tools that read caches from memory. */
    public static final int C_SIZE_OFFSET = C_SIZE;
    public static final int C_STRIDE_OFFSET = C_STRIDE;
    public static final int C_OBJECTS_OFFSET = C_OBJECTS;
    public static final int C_ORDER_OFFSET = C_ORDER;

    public static final int[] KMALLOC_SIZES = {32, 64, 128, 256, 512, 1024, 2048, 4096};

    private final Kernel k;
    private final Fn createFn;
    private final Fn allocFn;
    private final Fn freeFn;
    private final Fn growFn;
    private final Fn kmallocFn;
    private final Fn kfreeFn;
    private final Fn kzallocFn;
    private final Fn getOrderFn;
    private final String[] names = new String[Globals.MAX_CACHES];
    private final int[] sizes = new int[Globals.MAX_CACHES];
    private int nextId;

    public Slab(final Kernel k)
    {
        this.k = k;
        this.createFn = k.text.fn("kmem_cache_create", 0x80);
        this.allocFn = k.text.fn("kmem_cache_alloc", 0x100);
        this.freeFn = k.text.fn("kmem_cache_free", 0x100);
        this.growFn = k.text.fn("cache_grow", 0x100);
        this.kmallocFn = k.text.fn("__kmalloc", 0x60);
        this.kzallocFn = k.text.fn("kzalloc", 0x40);
        this.kfreeFn = k.text.fn("kfree", 0x60);
        this.getOrderFn = k.text.fn("get_order", 0x20);
        for (final int size : KMALLOC_SIZES)
        {
            define("kmalloc-" + size, size);
        }
    }

    /** Address of the cache with this id (its struct kmem_cache in kernel data). */
    public static long cacheAddr(final int id)
    {
        return Globals.KMEM_CACHES + (long)id * Globals.KMEM_CACHE_SIZE;
    }

    /**
     * The cache id for a name, fixed at image build time (caches are created at boot in this
     * order). Java keeps only the name table, a constant.
     */
    public int define(final String name, final int size)
    {
        final int have = find(name);
        if (have >= 0)
        {
            return have;
        }
        names[nextId] = name;
        sizes[nextId] = size;
        return nextId++;
    }

    public int find(final String name)
    {
        for (int i = 0; i < nextId; i++)
        {
            if (names[i].equals(name))
            {
                return i;
            }
        }
        return -1;
    }

    /** kmem_cache_init: creates every defined cache (and, on LegoOS with SLOB, SLOB's lists). */
    public void init(final Cpu cpu)
    {
        for (int i = 0; i < nextId; i++)
        {
            create(cpu, i, sizes[i]);
        }
        if (slob() != null)
        {
            slob().init(cpu);
        }
    }

    /** Whether kmalloc is LegoOS's SLOB (patch lego-slob) rather than this slab's size caches. */
    public boolean isSlob()
    {
        return slob() != null;
    }

    /** LegoOS's SLOB when configured (patch lego-slob): kmalloc and kfree are its. */
    private Slob slob()
    {
        return k.lego == null ? null : k.lego.slob;
    }

    public String name(final int id)
    {
        return id >= 0 && id < nextId ? names[id] : "?";
    }

    public int cacheCount()
    {
        return nextId;
    }

    /** kmem_cache_create at boot: writes the cache descriptor. */
    public void create(final Cpu cpu, final int id, final int size)
    {
        createFn.enter(cpu);
        final long c = cacheAddr(id);
        final String name = names[id];
        for (int i = 0; i < 24; i++)
        {
            cpu.store8(c + C_NAME + i, i < name.length() && i < 23 ? name.charAt(i) : 0);
        }
        final int stride = ((size + 7) & ~7) + 8;
        final int order = stride > 2048 ? (stride > 4096 ? 1 : 1) : 0;
        final int objects = (int)((4096L << order) / stride);
        cpu.store32(c + C_SIZE, size);
        cpu.store32(c + C_STRIDE, stride);
        cpu.store32(c + C_OBJECTS, objects);
        cpu.store32(c + C_ORDER, order);
        cpu.store64(c + C_LOCK, 0);
        Lists.init(cpu, c + C_PARTIAL);
        cpu.store64(c + C_NR_SLABS, 0);
        cpu.store64(c + C_NR_ACTIVE, 0);
        cpu.store64(c + C_ID, id);
        cpu.store64(Globals.NR_CACHES, Math.max(cpu.load64(Globals.NR_CACHES), id + 1));
        createFn.leave(cpu);
    }

    private void poison(final Cpu cpu, final long obj, final int size)
    {
        int i = 0;
        for (; i + 8 <= size; i += 8)
        {
            cpu.store64(obj + i, POISON_WORD);
        }
        for (; i < size; i++)
        {
            cpu.store8(obj + i, POISON_FREE);
        }
        cpu.store8(obj + size - 1, POISON_END);
    }

    /** Slab poisoning: the debug patch, unless this is LegoOS, which has none. */
    private boolean poisoning()
    {
        return k.patches.enabled("slab-poison") && !k.patches.enabled("lego-no-slab-poison");
    }

    /** A new slab: pages from the buddy allocator, every object poisoned and on the freelist. */
    private boolean grow(final Cpu cpu, final long c)
    {
        growFn.enter(cpu);
        final int order = (int)cpu.load32(c + C_ORDER);
        final int stride = (int)cpu.load32(c + C_STRIDE);
        final int size = (int)cpu.load32(c + C_SIZE);
        final int objects = (int)cpu.load32(c + C_OBJECTS);
        final long page = k.pages.allocPages(cpu, order);
        if (page == 0)
        {
            return growFn.leave(cpu, 0) != 0;
        }
        growFn.at(cpu, 0x40);
        final long base = PageAlloc.pageAddress(page);
        final boolean poison = poisoning();
        long free = 0;
        for (int i = objects - 1; i >= 0; i--)
        {
            final long obj = base + (long)i * stride;
            if (poison)
            {
                poison(cpu, obj, size);
            }
            cpu.store64(obj + size, free);
            free = obj;
        }
        cpu.store64(page + Page.FLAGS, cpu.load64(page + Page.FLAGS) | Page.PG_SLAB);
        cpu.store64(page + Page.SLAB_CACHE, c);
        cpu.store64(page + Page.FREELIST, free);
        cpu.store64(page + Page.INUSE, 0);
        Lists.add(cpu, page + Page.LRU, c + C_PARTIAL);
        cpu.store64(c + C_NR_SLABS, cpu.load64(c + C_NR_SLABS) + 1);
        growFn.leave(cpu);
        return true;
    }

    /** kmem_cache_alloc: an object of cache id, or 0. */
    public long alloc(final Cpu cpu, final int id)
    {
        allocFn.enter(cpu);
        final long c = cacheAddr(id);
        final boolean f = k.spin.lockIrqSave(cpu, c + C_LOCK);
        if (Lists.empty(cpu, c + C_PARTIAL) && !grow(cpu, c))
        {
            k.spin.unlockIrqRestore(cpu, c + C_LOCK, f);
            return allocFn.leave(cpu, 0);
        }
        allocFn.at(cpu, 0x50);
        final long page = cpu.load64(c + C_PARTIAL) - Page.LRU;
        final long obj = cpu.load64(page + Page.FREELIST);
        final int size = (int)cpu.load32(c + C_SIZE);
        allocFn.at(cpu, 0x60);
        final long next = cpu.load64(obj + size);
        cpu.store64(page + Page.FREELIST, next);
        final long inuse = cpu.load64(page + Page.INUSE) + 1;
        cpu.store64(page + Page.INUSE, inuse);
        if (next == 0)
        {
            Lists.del(cpu, page + Page.LRU);
        }
        cpu.store64(c + C_NR_ACTIVE, cpu.load64(c + C_NR_ACTIVE) + 1);
        k.spin.unlockIrqRestore(cpu, c + C_LOCK, f);
        cpu.mark(Mark.SLAB_ALLOC, obj, (long)id << 32 | size);
        return allocFn.leave(cpu, obj);
    }

    public long zalloc(final Cpu cpu, final int id)
    {
        final long obj = alloc(cpu, id);
        if (obj != 0)
        {
            zero(cpu, obj, (int)cpu.load32(cacheAddr(id) + C_SIZE));
        }
        return obj;
    }

    private static void zero(final Cpu cpu, final long obj, final int size)
    {
        for (int i = 0; i < size; i += 8)
        {
            cpu.store64(obj + i, 0);
        }
    }

    /** kmem_cache_free: poisons the object and returns it to its slab (which goes back to buddy when empty). */
    public void free(final Cpu cpu, final long obj)
    {
        freeFn.enter(cpu);
        final long page = PageAlloc.virtToPage(obj);
        if ((cpu.load64(page + Page.FLAGS) & Page.PG_SLAB) == 0)
        {
            // slab-err-args: the report carries its arguments (before it, a bare format string).
            k.oops.bug(cpu, k.patches.enabled("slab-err-args") ?
                "kernel BUG at mm/slab.c: kfree of non-slab object " + Long.toHexString(obj) + " (page " + Long.toHexString(page) +
                    " flags " + Long.toHexString(cpu.load64(page + Page.FLAGS)) + ")" :
                "kernel BUG at mm/slab.c: kfree of non-slab object " + Long.toHexString(obj));
        }
        final long c = cpu.load64(page + Page.SLAB_CACHE);
        final int size = (int)cpu.load32(c + C_SIZE);
        final int id = (int)cpu.load64(c + C_ID);
        cpu.mark(Mark.SLAB_FREE, obj, (long)id << 32 | size);
        if (poisoning())
        {
            freeFn.at(cpu, 0x30);
            poison(cpu, obj, size);
        }
        final boolean f = k.spin.lockIrqSave(cpu, c + C_LOCK);
        freeFn.at(cpu, 0x60);
        final long head = cpu.load64(page + Page.FREELIST);
        cpu.store64(obj + size, head);
        cpu.store64(page + Page.FREELIST, obj);
        final long inuse = cpu.load64(page + Page.INUSE) - 1;
        cpu.store64(page + Page.INUSE, inuse);
        cpu.store64(c + C_NR_ACTIVE, cpu.load64(c + C_NR_ACTIVE) - 1);
        if (head == 0)
        {
            Lists.add(cpu, page + Page.LRU, c + C_PARTIAL);
        }
        long release = 0;
        if (inuse == 0 && cpu.load64(c + C_NR_SLABS) > 1)
        {
            Lists.del(cpu, page + Page.LRU);
            cpu.store64(c + C_NR_SLABS, cpu.load64(c + C_NR_SLABS) - 1);
            cpu.store64(page + Page.FLAGS, cpu.load64(page + Page.FLAGS) & ~Page.PG_SLAB);
            cpu.store64(page + Page.SLAB_CACHE, 0);
            release = page;
        }
        k.spin.unlockIrqRestore(cpu, c + C_LOCK, f);
        if (release != 0)
        {
            k.pages.freePages(cpu, release, (int)cpu.load32(c + C_ORDER));
        }
        freeFn.leave(cpu);
    }

    public int kmallocCache(final long size)
    {
        for (int i = 0; i < KMALLOC_SIZES.length; i++)
        {
            if (size <= KMALLOC_SIZES[i])
            {
                return i;
            }
        }
        return -1;
    }

    /** kmalloc: contents are whatever the last user (or the poison) left. */
    public long kmalloc(final Cpu cpu, final long size)
    {
        kmallocFn.enter(cpu);
        final int id = kmallocCache(size);
        long obj;
        if (slob() != null)
        {
            obj = slob().kmalloc(cpu, size);
        }
        else if (id < 0)
        {
            int order = 0;
            if (k.patches.enabled("kmalloc-large-warn"))
            {
                // get_order(), out of line.
                getOrderFn.enter(cpu);
                order = 64 - Long.numberOfLeadingZeros((size - 1) >>> 12);
                getOrderFn.leave(cpu);
            }
            else
            {
                while ((4096L << order) < size)
                {
                    order++;
                }
            }
            final long page = k.pages.allocPages(cpu, order);
            obj = page == 0 ? 0 : PageAlloc.pageAddress(page);
        }
        else
        {
            obj = alloc(cpu, id);
        }
        if (obj != 0)
        {
            cpu.mark(Mark.KMALLOC, obj, size);
        }
        return kmallocFn.leave(cpu, obj);
    }

    public long kzalloc(final Cpu cpu, final long size)
    {
        kzallocFn.enter(cpu);
        final long obj = kmalloc(cpu, size);
        if (obj != 0)
        {
            zero(cpu, obj, (int)size);
        }
        return kzallocFn.leave(cpu, obj);
    }

    public void kfree(final Cpu cpu, final long obj)
    {
        if (obj == 0)
        {
            return;
        }
        kfreeFn.enter(cpu);
        final long page = PageAlloc.virtToPage(obj);
        if (slob() != null && ((cpu.load64(page + Page.FLAGS) & Page.PG_SLAB) == 0 || cpu.load64(page + Page.SLAB_CACHE) == 0))
        {
            // SLOB's block or pages (a named cache's object still goes back to its cache).
            slob().kfree(cpu, obj);
            kfreeFn.leave(cpu);
            return;
        }
        if ((cpu.load64(page + Page.FLAGS) & Page.PG_SLAB) == 0)
        {
            k.pages.freePages(cpu, page, (int)cpu.load64(page + Page.PRIVATE));
        }
        else
        {
            free(cpu, obj);
        }
        kfreeFn.leave(cpu);
    }

    /** Object size of a slab object (ksize). */
    public long ksize(final Cpu cpu, final long obj)
    {
        if (slob() != null)
        {
            return slob().ksize(cpu, obj);
        }
        final long page = PageAlloc.virtToPage(obj);
        return cpu.load32(cpu.load64(page + Page.SLAB_CACHE) + C_SIZE);
    }
}
