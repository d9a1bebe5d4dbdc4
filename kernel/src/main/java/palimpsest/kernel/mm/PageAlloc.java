package palimpsest.kernel.mm;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Lists;
import palimpsest.kernel.Mark;

/**
 * The buddy page allocator. The struct page array lives at {@link Layout#VMEMMAP_START}; the free
 * lists ({@code free_area[order]}, orders 0..10) are list_heads in kernel data linking the
 * {@code lru} fields of the first page of each free block, whose {@code private} holds the order
 * and whose flags carry PG_buddy. All under the zone lock.
 */
public final class PageAlloc
{
    public static final int MAX_ORDER = Globals.MAX_ORDER;

    private final Kernel k;
    private final Fn allocFn;
    private final Fn freeFn;
    private final Fn memmapInitFn;
    private final Fn getPageFn;
    private final Fn putPageFn;
    private final Fn clearPageFn;
    private final Fn copyPageFn;
    /** LegoOS's buddy ({@link #legoBuddy}): PageBuddy in _mapcount, flags left alone, put_page_testzero on every free. */
    private boolean buddyMapcount;
    private Fn splitFn;

    public PageAlloc(final Kernel k)
    {
        this.k = k;
        this.allocFn = k.text.fn("__alloc_pages", 0x180);
        this.freeFn = k.text.fn("__free_pages", 0x140);
        this.memmapInitFn = k.text.fn("memmap_init", 0x80);
        this.getPageFn = k.text.fn("get_page", 0x20);
        this.putPageFn = k.text.fn("put_page", 0x40);
        this.clearPageFn = k.text.fn("clear_page", 0x30);
        this.copyPageFn = k.text.fn("copy_page", 0x30);
    }

    public static long pfnToPage(final long pfn)
    {
        return Layout.VMEMMAP_START + pfn * Page.SIZE;
    }

    public static long pageToPfn(final long page)
    {
        return (page - Layout.VMEMMAP_START) / Page.SIZE;
    }

    public long physToPage(final long phys)
    {
        return pfnToPage(phys >>> Layout.PAGE_SHIFT);
    }

    /** page_address(): the page's direct-map address. */
    public static long pageAddress(final long page)
    {
        return Layout.PAGE_OFFSET + (pageToPfn(page) << Layout.PAGE_SHIFT);
    }

    public static long pagePhys(final long page)
    {
        return pageToPfn(page) << Layout.PAGE_SHIFT;
    }

    /**
     * virt_to_page() as x86-64 Linux computes it: __pa() is {@code x - PAGE_OFFSET} in the direct map
     * and {@code x - __START_KERNEL_map} for anything above it (kernel image, and wrongly, modules).
     */
    public static long virtToPage(final long addr)
    {
        final long pa = Long.compareUnsigned(addr, Layout.START_KERNEL_MAP) >= 0 ?
            addr - Layout.START_KERNEL_MAP : addr - Layout.PAGE_OFFSET;
        return pfnToPage(pa >>> Layout.PAGE_SHIFT);
    }

    private static long freeArea(final int order)
    {
        return Globals.FREE_AREA + order * (long)Globals.FREE_AREA_SIZE;
    }

    /** Boot: initialises every struct page (reserved), the free lists, then frees [lo, hi) ranges. */
    public void memmapInit(final Cpu cpu, final long maxPfn)
    {
        memmapInitFn.enter(cpu);
        for (int o = 0; o < MAX_ORDER; o++)
        {
            Lists.init(cpu, freeArea(o));
            cpu.store64(freeArea(o) + 16, 0);
        }
        for (long pfn = 0; pfn < maxPfn; pfn++)
        {
            final long p = pfnToPage(pfn);
            cpu.store64(p + Page.FLAGS, Page.PG_RESERVED);
            cpu.store64(p + Page.COUNT, 1);
        }
        cpu.store64(Globals.MAX_PFN, maxPfn);
        memmapInitFn.leave(cpu);
    }

    /** Boot: hands the pages [lo, hi) (pfns) to the buddy allocator in maximal aligned blocks. */
    public void freeRange(final Cpu cpu, final long lo, final long hi)
    {
        long pfn = lo;
        while (pfn < hi)
        {
            int order = MAX_ORDER - 1;
            while (order > 0 && ((pfn & ((1L << order) - 1)) != 0 || pfn + (1L << order) > hi))
            {
                order--;
            }
            for (long i = 0; i < (1L << order); i++)
            {
                cpu.store64(pfnToPage(pfn + i) + Page.FLAGS, 0);
                cpu.store32(pfnToPage(pfn + i) + Page.COUNT, 0);
            }
            final boolean f = k.spin.lockIrqSave(cpu, Globals.ZONE_LOCK);
            addFree(cpu, pfnToPage(pfn), order);
            k.spin.unlockIrqRestore(cpu, Globals.ZONE_LOCK, f);
            pfn += 1L << order;
        }
    }

    /**
     * LegoOS's buddy (its SLOB configuration): free blocks are marked the Linux 4 way,
     * _mapcount = PAGE_BUDDY_MAPCOUNT_VALUE, page->flags are left as found, every free checks the
     * count (put_page_testzero) and split_page exists (its function registered here, last).
     */
    public void legoBuddy()
    {
        buddyMapcount = true;
        splitFn = k.text.fn("split_page", 0x40);
        k.oops.legoPanic();
    }

    private void addFree(final Cpu cpu, final long page, final int order)
    {
        if (buddyMapcount)
        {
            // __SetPageBuddy: Linux 4's mark; LegoOS's buddy leaves page->flags as it finds them.
            cpu.store32(page + Page.MAPCOUNT, Page.PAGE_BUDDY_MAPCOUNT_VALUE);
        }
        else
        {
            cpu.store64(page + Page.FLAGS, Page.PG_BUDDY);
        }
        cpu.store64(page + Page.PRIVATE, order);
        Lists.add(cpu, page + Page.LRU, freeArea(order));
        cpu.store64(freeArea(order) + 16, cpu.load64(freeArea(order) + 16) + 1);
        cpu.store64(Globals.NR_FREE_PAGES, cpu.load64(Globals.NR_FREE_PAGES) + (1L << order));
    }

    private void delFree(final Cpu cpu, final long page, final int order)
    {
        Lists.del(cpu, page + Page.LRU);
        cpu.store64(freeArea(order) + 16, cpu.load64(freeArea(order) + 16) - 1);
        cpu.store64(Globals.NR_FREE_PAGES, cpu.load64(Globals.NR_FREE_PAGES) - (1L << order));
        if (buddyMapcount)
        {
            cpu.store32(page + Page.MAPCOUNT, 0);
        }
        else
        {
            cpu.store64(page + Page.FLAGS, 0);
        }
    }

    private boolean isBuddy(final Cpu cpu, final long page)
    {
        return buddyMapcount ? (int)cpu.load32(page + Page.MAPCOUNT) == Page.PAGE_BUDDY_MAPCOUNT_VALUE :
            (cpu.load64(page + Page.FLAGS) & Page.PG_BUDDY) != 0;
    }

    /** alloc_pages(): the struct page of a 2^order block with refcount 1, or 0 when out of memory. */
    public long allocPages(final Cpu cpu, final int order)
    {
        allocFn.enter(cpu);
        final boolean f = k.spin.lockIrqSave(cpu, Globals.ZONE_LOCK);
        int o = order;
        while (o < MAX_ORDER && cpu.load64(freeArea(o) + 16) == 0)
        {
            o++;
        }
        if (o == MAX_ORDER)
        {
            k.spin.unlockIrqRestore(cpu, Globals.ZONE_LOCK, f);
            return allocFn.leave(cpu, 0);
        }
        allocFn.at(cpu, 0x60);
        final long page = cpu.load64(freeArea(o)) - Page.LRU;
        delFree(cpu, page, o);
        while (o > order)
        {
            o--;
            allocFn.at(cpu, 0x90);
            addFree(cpu, page + (1L << o) * Page.SIZE, o);
        }
        if (buddyMapcount)
        {
            cpu.store64(page + Page.FLAGS, cpu.load64(page + Page.FLAGS) & ~Page.PG_HEAD | (order > 0 ? Page.PG_HEAD : 0));
            // prep_compound_page: the tail pages of a block hold no reference of their own.
            for (long i = 1; i < (1L << order); i++)
            {
                cpu.store32(page + i * Page.SIZE + Page.COUNT, 0);
            }
        }
        else
        {
            cpu.store64(page + Page.FLAGS, order > 0 ? Page.PG_HEAD : 0);
        }
        cpu.store64(page + Page.PRIVATE, order);
        cpu.store32(page + Page.COUNT, 1);
        cpu.store32(page + Page.MAPCOUNT, 0);
        k.spin.unlockIrqRestore(cpu, Globals.ZONE_LOCK, f);
        cpu.mark(Mark.PAGE_ALLOC, pagePhys(page), order);
        return allocFn.leave(cpu, page);
    }

    public long allocPage(final Cpu cpu)
    {
        return allocPages(cpu, 0);
    }

    /** __free_pages(): returns a block, merging it with its buddies. */
    public void freePages(final Cpu cpu, final long page, final int order)
    {
        freeFn.enter(cpu);
        if (!buddyMapcount || putPageTestzero(cpu, page))
        {
            freeBody(cpu, page, order);
        }
        freeFn.leave(cpu);
    }

    /**
     * LegoOS's put_page_testzero() at the top of every __free_pages(): VM_BUG_ON_PAGE on a count
     * already 0 (a page freed twice: {@link palimpsest.kernel.Oops#vmBugOnPage}); true when this
     * was the last reference.
     */
    private boolean putPageTestzero(final Cpu cpu, final long page)
    {
        freeFn.at(cpu, 0x10);
        if (cpu.load32(page + Page.COUNT) == 0)
        {
            k.oops.vmBugOnPage(cpu, dumpPage(cpu, page), "VM_BUG_ON_PAGE(page_ref_count(page) == 0)",
                "./include/lego/mm.h:251/put_page_testzero()");
        }
        return (cpu.xadd(k.spin.atomicSite(), page + Page.COUNT, 4, -1) & 0xFFFF_FFFFL) == 1;
    }

    /**
     * LegoOS's __free_pages(page): put_page_testzero() (VM_BUG_ON_PAGE on a count already 0:
     * {@link palimpsest.kernel.Oops#vmBugOnPage}), then, for the last reference, frees the block
     * with the order buddy recorded in page->private when it allocated it.
     */
    public void freeBlock(final Cpu cpu, final long page)
    {
        freeFn.enter(cpu);
        if (putPageTestzero(cpu, page))
        {
            freeFn.at(cpu, 0x2e0);
            freeBody(cpu, page, (int)cpu.load64(page + Page.PRIVATE));
        }
        freeFn.leave(cpu);
    }

    /** split_page(): a block of 2^order pages becomes 2^order order-0 pages, each with its own reference. */
    public void splitPage(final Cpu cpu, final long page, final int order)
    {
        splitFn.enter(cpu);
        for (long i = 0; i < (1L << order); i++)
        {
            final long p = page + i * Page.SIZE;
            cpu.store64(p + Page.PRIVATE, 0);
            cpu.store32(p + Page.COUNT, 1);
            if (buddyMapcount || i == 0)
            {
                cpu.store64(p + Page.FLAGS, cpu.load64(p + Page.FLAGS) & ~Page.PG_HEAD);
            }
        }
        cpu.mark(Mark.PAGE_SPLIT, pagePhys(page), order);
        splitFn.leave(cpu);
    }

    /** dump_page(): the struct page's count, mapcount and flags, as Linux 4 prints them. */
    public String dumpPage(final Cpu cpu, final long page)
    {
        final long flags = cpu.load64(page + Page.FLAGS);
        final StringBuilder names = new StringBuilder();
        final String[] bit = {"reserved", "buddy", "slab", "head", "slob_free"};
        for (int i = 0; i < bit.length; i++)
        {
            if ((flags & (1L << i)) != 0)
            {
                names.append(names.length() == 0 ? "" : "|").append(bit[i]);
            }
        }
        return "page:" + Long.toHexString(page) + " count:" + (int)cpu.load32(page + Page.COUNT) + " mapcount:" +
            (int)cpu.load32(page + Page.MAPCOUNT) + "\nflags: 0x" + Long.toHexString(flags) + "(" + names + ")";
    }

    private void freeBody(final Cpu cpu, final long page, final int order)
    {
        cpu.mark(Mark.PAGE_FREE, pagePhys(page), order);
        final long maxPfn = cpu.load64(Globals.MAX_PFN);
        final boolean f = k.spin.lockIrqSave(cpu, Globals.ZONE_LOCK);
        long pfn = pageToPfn(page);
        if (buddyMapcount && isBuddy(cpu, page))
        {
            // Linux 4's free_pages_check(): a page already free in buddy carries PageBuddy's mapcount.
            k.oops.badPage(cpu, pfn, dumpPage(cpu, page), "nonzero mapcount");
        }
        if (buddyMapcount ? (cpu.load64(page + Page.FLAGS) & Page.PG_RESERVED) != 0 || isBuddy(cpu, page) :
            (cpu.load64(page + Page.FLAGS) & (Page.PG_BUDDY | Page.PG_RESERVED)) != 0)
        {
            k.oops.bug(cpu, "BUG: Bad page state: pfn " + Long.toHexString(pfn) + " freed while free or reserved");
        }
        int o = order;
        while (o < MAX_ORDER - 1)
        {
            final long buddyPfn = pfn ^ (1L << o);
            if (buddyPfn >= maxPfn)
            {
                break;
            }
            final long buddy = pfnToPage(buddyPfn);
            freeFn.at(cpu, 0x50);
            if (!isBuddy(cpu, buddy) || cpu.load64(buddy + Page.PRIVATE) != o)
            {
                break;
            }
            delFree(cpu, buddy, o);
            cpu.store64(buddy + Page.PRIVATE, 0);
            pfn &= ~(1L << o);
            o++;
        }
        if (pfn != pageToPfn(page))
        {
            cpu.store64(page + Page.PRIVATE, 0);
            if (!buddyMapcount)
            {
                cpu.store64(page + Page.FLAGS, 0);
            }
        }
        addFree(cpu, pfnToPage(pfn), o);
        k.spin.unlockIrqRestore(cpu, Globals.ZONE_LOCK, f);
    }

    public void freePage(final Cpu cpu, final long page)
    {
        freePages(cpu, page, 0);
    }

    public void getPage(final Cpu cpu, final long page)
    {
        getPageFn.enter(cpu);
        cpu.xadd(k.spin.atomicSite(), page + Page.COUNT, 4, 1);
        getPageFn.leave(cpu);
    }

    /** put_page(): drops a reference; frees the page when it was the last. */
    public void putPage(final Cpu cpu, final long page)
    {
        putPageFn.enter(cpu);
        final long old = cpu.xadd(k.spin.atomicSite(), page + Page.COUNT, 4, -1) & 0xFFFF_FFFFL;
        if (old == 0)
        {
            k.oops.bug(cpu, "BUG: put_page_testzero: page " + Long.toHexString(pagePhys(page)) + " count was 0");
        }
        if (old == 1 && buddyMapcount)
        {
            freeFn.enter(cpu);
            freeBody(cpu, page, (int)cpu.load64(page + Page.PRIVATE));
            freeFn.leave(cpu);
        }
        else if (old == 1)
        {
            freePages(cpu, page, (int)cpu.load64(page + Page.PRIVATE));
        }
        putPageFn.leave(cpu);
    }

    public long pageCount(final Cpu cpu, final long page)
    {
        return cpu.load32(page + Page.COUNT);
    }

    /** A zeroed page: its direct-map address, or 0. */
    public long getZeroedPage(final Cpu cpu)
    {
        final long page = allocPage(cpu);
        if (page == 0)
        {
            return 0;
        }
        final long va = pageAddress(page);
        clearPage(cpu, va);
        return va;
    }

    public void clearPage(final Cpu cpu, final long va)
    {
        clearPageFn.enter(cpu);
        for (int i = 0; i < 4096; i += 8)
        {
            cpu.store64(va + i, 0);
        }
        clearPageFn.leave(cpu);
    }

    public void copyPage(final Cpu cpu, final long to, final long from)
    {
        copyPageFn.enter(cpu);
        for (int i = 0; i < 4096; i += 8)
        {
            cpu.store64(to + i, cpu.load64(from + i));
        }
        copyPageFn.leave(cpu);
    }

    public long nrFreePages(final Cpu cpu)
    {
        return cpu.load64(Globals.NR_FREE_PAGES);
    }
}
