package palimpsest.kernel.mm;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Lists;
import palimpsest.kernel.patches.LegoSeries;

/**
 * LegoOS's SLOB (issue 14, bug 4; patch {@code lego-slob}): kmalloc on a LegoOS node is a
 * simple list-of-blocks allocator over the buddy allocator, as Linux's mm/slob.c. Small requests
 * (below a page less the header) are carved first-fit from SLOB pages, order-0 buddy pages kept on
 * one of three free lists by request size; larger ones take pages from buddy directly. A kmalloc
 * block starts with an 8-byte header holding the requested size. A page whose blocks are all free
 * goes straight back to buddy. Everything is in emulated memory.
 *
 * <pre>
 * slob state (Globals.LEGO_SLOB)  +0 slob_lock  +8 free_slob_small (&lt; 256)  +24 free_slob_medium (&lt; 1024)
 *                                 +40 free_slob_large  +56 pages taken (lego-slob-count-pages)  +64 frees (lego-slob-count-frees)
 *                                 +72 the spare page (the second of the last pair taken)
 * SLOB page (its struct page)     flags PG_slab | PG_slob_free (on a free list), lru on that list,
 *                                 freelist (+48) the first free block, sp->units (+56) its free units
 * free block (in the page)        +0 u32 units  +4 u32 offset of the next free block in units (512: none)
 * </pre>
 *
 * page->private is buddy's: the order of a free block and of an allocation (read back by
 * {@link PageAlloc#freeBlock}). SLOB takes its pages two at a time (an order-1 block, split_page).
 * With {@code lego-slob-page-private} (the diary's 02/13: "Yutong's code is using set_page_private
 * when slob get a new page from buddy") slob_new_pages records the pair's order (1) in both pages'
 * private, and after giving a page back it clears private again; buddy then frees an empty order-0
 * SLOB page as order 1, and the other page of the pair, a SLOB page still in use, goes to the free
 * lists with it (it is handed out again, and freed twice). {@code lego-slob-units} leaves private to buddy.
 */
public final class Slob
{
    public static final String BUG = "lego-slob-page-private";
    public static final String FIX = "lego-slob-units";

    static final int UNIT = 8;
    static final int UNITS = (int)(Layout.PAGE_SIZE / UNIT);
    /** ARCH_KMALLOC_MINALIGN: the kmalloc header before each small block. */
    static final int ALIGN = 8;
    static final int BREAK1 = 256;
    static final int BREAK2 = 1024;

    static final int S_LOCK = 0;
    static final int S_SMALL = 8;
    static final int S_MEDIUM = 24;
    static final int S_LARGE = 40;
    static final int S_PAGES = 56;
    static final int S_FREES = 64;
    static final int S_SPARE = 72;

    private final Kernel k;
    /** The 02/13 code: SLOB keeps its page count in page->private and clears it after free_page. */
    private final boolean pagePrivate;
    /** The diary's first try: no set_page_private(page, 0) after free_page (the new-page store stays). */
    private final boolean keepAfterFree;
    private final Fn newPagesFn;
    private final Fn allocFn;
    private final Fn pageAllocFn;

    public Slob(final Kernel k)
    {
        this.k = k;
        this.pagePrivate = LegoSeries.active(k.patches, BUG, FIX);
        this.keepAfterFree = k.patches.enabled("lego-slob-no-clear-after-free");
        this.newPagesFn = k.text.fn("slob_new_pages", 0x60);
        this.allocFn = k.text.fn("slob_alloc", 0x1a0);
        this.pageAllocFn = k.text.fn("slob_page_alloc", 0x120);
        k.pages.legoBuddy();
    }

    /** kmem_cache_init's part: the lock and the three free lists. */
    public void init(final Cpu cpu)
    {
        final long s = Globals.LEGO_SLOB;
        cpu.store64(s + S_LOCK, 0);
        Lists.init(cpu, s + S_SMALL);
        Lists.init(cpu, s + S_MEDIUM);
        Lists.init(cpu, s + S_LARGE);
        cpu.store64(s + S_PAGES, 0);
        cpu.store64(s + S_FREES, 0);
        cpu.store64(s + S_SPARE, 0);
    }

    /** __kmalloc's SLOB body: a small block after its size header, or whole pages. */
    public long kmalloc(final Cpu cpu, final long size)
    {
        if (size < Layout.PAGE_SIZE - ALIGN)
        {
            final long m = slobAlloc(cpu, (int)size + ALIGN);
            if (m == 0)
            {
                return 0;
            }
            cpu.store32(m, size);
            return m + ALIGN;
        }
        int order = 0;
        while ((Layout.PAGE_SIZE << order) < size)
        {
            order++;
        }
        final long page = k.pages.allocPages(cpu, order);
        return page == 0 ? 0 : PageAlloc.pageAddress(page);
    }

    /** kfree's SLOB body (slob_free inlined): a block back to its page, or pages back to buddy. */
    public void kfree(final Cpu cpu, final long block)
    {
        final long sp = PageAlloc.virtToPage(block);
        if (k.patches.enabled("lego-slob-count-frees"))
        {
            cpu.xadd(k.spin.atomicSite(), Globals.LEGO_SLOB + S_FREES, 8, 1);
        }
        if ((cpu.load64(sp + Page.FLAGS) & Page.PG_SLAB) != 0)
        {
            final long m = block - ALIGN;
            slobFree(cpu, m, (int)cpu.load32(m) + ALIGN);
        }
        else
        {
            k.pages.freeBlock(cpu, sp);
        }
    }

    /** ksize: a small block's requested size, or the pages of a large one (buddy's order). */
    public long ksize(final Cpu cpu, final long block)
    {
        final long sp = PageAlloc.virtToPage(block);
        if ((cpu.load64(sp + Page.FLAGS) & Page.PG_SLAB) != 0)
        {
            return cpu.load32(block - ALIGN);
        }
        return Layout.PAGE_SIZE << cpu.load64(sp + Page.PRIVATE);
    }

    /**
     * slob_new_pages: a SLOB page. SLOB takes pages from buddy two at a time (an order-1 block,
     * split_page into two order-0 pages, each with its own reference) and keeps the second for its
     * next new page. With the bug it records the pair's order in both pages' private, where buddy
     * keeps each page's own order.
     */
    private long newPages(final Cpu cpu)
    {
        newPagesFn.enter(cpu);
        final long spare = Globals.LEGO_SLOB + S_SPARE;
        final long lock = Globals.LEGO_SLOB + S_LOCK;
        boolean f = k.spin.lockIrqSave(cpu, lock);
        long page = cpu.load64(spare);
        cpu.store64(spare, 0);
        k.spin.unlockIrqRestore(cpu, lock, f);
        if (page != 0)
        {
            return newPagesFn.leave(cpu, page);
        }
        page = k.pages.allocPages(cpu, 1);
        if (page == 0)
        {
            return newPagesFn.leave(cpu, 0);
        }
        if (k.patches.enabled("lego-slob-count-pages"))
        {
            cpu.xadd(k.spin.atomicSite(), Globals.LEGO_SLOB + S_PAGES, 8, 2);
        }
        newPagesFn.at(cpu, 0x20);
        final long second = page + Page.SIZE;
        k.pages.splitPage(cpu, page, 1);
        if (pagePrivate)
        {
            // set_page_private(page, order): the pair's order, so that it can go back whole.
            newPagesFn.at(cpu, 0x30);
            cpu.store64(page + Page.PRIVATE, 1);
            cpu.store64(second + Page.PRIVATE, 1);
        }
        f = k.spin.lockIrqSave(cpu, lock);
        if (cpu.load64(spare) == 0)
        {
            cpu.store64(spare, second);
            k.spin.unlockIrqRestore(cpu, lock, f);
        }
        else
        {
            k.spin.unlockIrqRestore(cpu, lock, f);
            k.pages.freeBlock(cpu, second);
        }
        return newPagesFn.leave(cpu, page);
    }

    private static long listFor(final int size)
    {
        return Globals.LEGO_SLOB + (size < BREAK1 ? S_SMALL : size < BREAK2 ? S_MEDIUM : S_LARGE);
    }

    /** slob_alloc: first fit over the size's free list, else a new SLOB page. */
    private long slobAlloc(final Cpu cpu, final int size)
    {
        allocFn.enter(cpu);
        final int units = (size + UNIT - 1) / UNIT;
        final long list = listFor(size);
        final long lock = Globals.LEGO_SLOB + S_LOCK;
        boolean f = k.spin.lockIrqSave(cpu, lock);
        long b = 0;
        for (long node = cpu.load64(list + Lists.NEXT); node != list; node = cpu.load64(node + Lists.NEXT))
        {
            allocFn.at(cpu, 0x40);
            final long sp = node - Page.LRU;
            if (cpu.load64(sp + Page.INUSE) < units)
            {
                continue;
            }
            b = pageAlloc(cpu, sp, units);
            if (b != 0)
            {
                break;
            }
        }
        if (b == 0)
        {
            k.spin.unlockIrqRestore(cpu, lock, f);
            allocFn.at(cpu, 0xc0);
            final long sp = newPages(cpu);
            if (sp == 0)
            {
                return allocFn.leave(cpu, 0);
            }
            f = k.spin.lockIrqSave(cpu, lock);
            final long base = PageAlloc.pageAddress(sp);
            cpu.store64(sp + Page.FLAGS, cpu.load64(sp + Page.FLAGS) | Page.PG_SLAB);
            cpu.store32(base, UNITS);
            cpu.store32(base + 4, UNITS);
            cpu.store64(sp + Page.FREELIST, base);
            cpu.store64(sp + Page.INUSE, UNITS);
            setFree(cpu, sp, list);
            b = pageAlloc(cpu, sp, units);
        }
        k.spin.unlockIrqRestore(cpu, lock, f);
        return allocFn.leave(cpu, b);
    }

    /** slob_page_alloc: the first free block of the page with room, split; under slob_lock. */
    private long pageAlloc(final Cpu cpu, final long sp, final int units)
    {
        pageAllocFn.enter(cpu);
        final long base = PageAlloc.pageAddress(sp);
        long prev = 0;
        long cur = cpu.load64(sp + Page.FREELIST);
        while (cur != 0)
        {
            pageAllocFn.at(cpu, 0x30);
            final long avail = cpu.load32(cur);
            final long nextOff = cpu.load32(cur + 4);
            if (avail >= units)
            {
                long next;
                if (avail == units)
                {
                    next = nextOff == UNITS ? 0 : base + nextOff * UNIT;
                }
                else
                {
                    next = cur + (long)units * UNIT;
                    cpu.store32(next, avail - units);
                    cpu.store32(next + 4, nextOff);
                }
                link(cpu, sp, base, prev, next);
                final long left = cpu.load64(sp + Page.INUSE) - units;
                cpu.store64(sp + Page.INUSE, left);
                if (left == 0)
                {
                    clearFree(cpu, sp);
                }
                return pageAllocFn.leave(cpu, cur);
            }
            prev = cur;
            cur = nextOff == UNITS ? 0 : base + nextOff * UNIT;
        }
        return pageAllocFn.leave(cpu, 0);
    }

    /** prev's next (or the page's freelist) := block (0: none). */
    private static void link(final Cpu cpu, final long sp, final long base, final long prev, final long block)
    {
        if (prev == 0)
        {
            cpu.store64(sp + Page.FREELIST, block);
        }
        else
        {
            cpu.store32(prev + 4, block == 0 ? UNITS : (block - base) / UNIT);
        }
    }

    private static void setFree(final Cpu cpu, final long sp, final long list)
    {
        cpu.store64(sp + Page.FLAGS, cpu.load64(sp + Page.FLAGS) | Page.PG_SLOB_FREE);
        Lists.add(cpu, sp + Page.LRU, list);
    }

    private static void clearFree(final Cpu cpu, final long sp)
    {
        Lists.del(cpu, sp + Page.LRU);
        cpu.store64(sp + Page.FLAGS, cpu.load64(sp + Page.FLAGS) & ~Page.PG_SLOB_FREE);
    }

    /** slob_free: the block back into its page's address-ordered free list, merged with its neighbours. */
    private void slobFree(final Cpu cpu, final long b, final int size)
    {
        final long sp = PageAlloc.virtToPage(b);
        final long base = PageAlloc.pageAddress(sp);
        final int units = (size + UNIT - 1) / UNIT;
        final long lock = Globals.LEGO_SLOB + S_LOCK;
        final boolean f = k.spin.lockIrqSave(cpu, lock);
        final long free = cpu.load64(sp + Page.INUSE);
        if (free + units == UNITS)
        {
            // Every block of the page is free: straight back to the page allocator.
            if ((cpu.load64(sp + Page.FLAGS) & Page.PG_SLOB_FREE) != 0 && pagePrivate)
            {
                // The 02/13 code: off its free list now, PG_slob_free cleared with PG_slab after free_page.
                Lists.del(cpu, sp + Page.LRU);
            }
            else if ((cpu.load64(sp + Page.FLAGS) & Page.PG_SLOB_FREE) != 0)
            {
                clearFree(cpu, sp);
            }
            k.spin.unlockIrqRestore(cpu, lock, f);
            releasePage(cpu, sp);
            return;
        }
        if ((cpu.load64(sp + Page.FLAGS) & Page.PG_SLOB_FREE) == 0)
        {
            // The page was full: this block is its free list now.
            cpu.store32(b, units);
            cpu.store32(b + 4, UNITS);
            cpu.store64(sp + Page.FREELIST, b);
            cpu.store64(sp + Page.INUSE, units);
            setFree(cpu, sp, listFor(size));
            k.spin.unlockIrqRestore(cpu, lock, f);
            return;
        }
        cpu.store64(sp + Page.INUSE, free + units);
        long prev = 0;
        long cur = cpu.load64(sp + Page.FREELIST);
        while (cur != 0 && Long.compareUnsigned(cur, b) < 0)
        {
            prev = cur;
            final long off = cpu.load32(cur + 4);
            cur = off == UNITS ? 0 : base + off * UNIT;
        }
        long merged = units;
        long nextOff = cur == 0 ? UNITS : (cur - base) / UNIT;
        if (cur != 0 && b + (long)units * UNIT == cur)
        {
            merged += cpu.load32(cur);
            nextOff = cpu.load32(cur + 4);
        }
        if (prev != 0 && prev + cpu.load32(prev) * UNIT == b)
        {
            cpu.store32(prev, cpu.load32(prev) + merged);
            cpu.store32(prev + 4, nextOff);
        }
        else
        {
            cpu.store32(b, merged);
            cpu.store32(b + 4, nextOff);
            link(cpu, sp, base, prev, b);
        }
        k.spin.unlockIrqRestore(cpu, lock, f);
    }

    /** An empty SLOB page back to buddy: its SLOB state cleared first, or (the 02/13 code) after free_page. */
    private void releasePage(final Cpu cpu, final long sp)
    {
        if (!pagePrivate)
        {
            cpu.store64(sp + Page.FLAGS, cpu.load64(sp + Page.FLAGS) & ~(Page.PG_SLAB | Page.PG_SLOB_FREE));
            cpu.store64(sp + Page.FREELIST, 0);
            cpu.store64(sp + Page.INUSE, 0);
            k.pages.freeBlock(cpu, sp);
            return;
        }
        k.pages.freeBlock(cpu, sp);
        cpu.store64(sp + Page.FLAGS, cpu.load64(sp + Page.FLAGS) & ~(Page.PG_SLAB | Page.PG_SLOB_FREE));
        if (!keepAfterFree)
        {
            // set_page_private(page, 0) after free_page: over buddy's order if the page heads a free block now.
            cpu.store64(sp + Page.PRIVATE, 0);
        }
    }
}
