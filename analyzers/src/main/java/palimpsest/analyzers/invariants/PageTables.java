package palimpsest.analyzers.invariants;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import palimpsest.emulator.Paging;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Layout;
import palimpsest.kernel.mm.MmStruct;
import palimpsest.kernel.mm.Page;
import palimpsest.kernel.mm.PageAlloc;

/**
 * page-tables: page tables map only allocated pages, and every page-table page belongs to one
 * address space.
 *
 * <p>The address spaces are swapper_pg_dir (the kernel's) and the pgd of every live
 * {@code mm_struct} (allocated objects of that slab cache with {@code mm_users > 0}: once the last
 * mmput drops it to 0 the mm is torn down and its tables freed bottom-up while still linked, as
 * nothing can walk them any more). Walked in raw memory:
 * <ul>
 *   <li>user half (pgd slots 0..255) of every address space: each PDPT/PD/PT page is reached from
 *       exactly one place in exactly one address space, is inside RAM and is not free (not in a
 *       buddy free block), not a slab page; each present leaf maps a frame inside RAM that is
 *       allocated (not free);</li>
 *   <li>kernel half (slots 256..511): an mm's entries are those of swapper_pg_dir (shared, so owned
 *       by the kernel, not by the mm); swapper's tables are owned by the kernel alone; leaves in
 *       the vmalloc and module areas map allocated frames (the direct map and the image
 *       map all of RAM by design and are not checked leaf by leaf).</li>
 * </ul>
 *
 * <p>{@link #touches} (memory already holds the write): a struct page's flags or private word of a
 * page that is now free, a present entry written into a page-table page known from the last whole
 * {@link #check}, or the pgd word of an {@code mm_struct}. The known table pages are refreshed by every check, so a new table is known
 * once the write linking it has been checked.
 */
public final class PageTables implements Invariant
{
    private static final int USER_SLOTS = 256;
    private static final String KERNEL = "swapper_pg_dir";

    /** Page-table pages (physical frame numbers) seen by the last check, sorted. */
    private long[] known = new long[0];
    /** The mm_struct kmem_cache found by the last check (it lives as long as the kernel; rechecked by name). */
    private long mmCacheSeen;

    @Override
    public String name()
    {
        return "page-tables";
    }

    @Override
    public String description()
    {
        return "page tables map only allocated pages; each page-table page belongs to one address space";
    }

    @Override
    public boolean touches(final KernelState s, final long pa, final int size)
    {
        final long memmapPa = s.inspector.phys(PageAlloc.pfnToPage(0));
        if (memmapPa >= 0 && pa >= memmapPa && pa < memmapPa + (s.memory.size() >>> Layout.PAGE_SHIFT) * Page.SIZE)
        {
            // Memory already holds the write: only a page (now) free can break the invariant.
            final long field = (pa - memmapPa) % Page.SIZE;
            final long page = pa - field;
            return field < Page.LRU &&
                Page.isBuddy(s.memory.read64(page + Page.FLAGS), s.memory.read64(page + Page.COUNT));
        }
        if (Arrays.binarySearch(known, pa >>> Layout.PAGE_SHIFT) >= 0)
        {
            // A cleared entry maps nothing and owns nothing.
            return (s.memory.read64(pa & ~7L) & Paging.P) != 0;
        }
        if (size != 8)
        {
            return false;
        }
        final long page = s.inspector.slabPageOf(pa);
        if (page == 0)
        {
            return false;
        }
        final long cache = s.inspector.slabCache(page);
        if (!"mm_struct".equals(s.inspector.cacheName(cache)))
        {
            return false;
        }
        final long base = s.inspector.phys(PageAlloc.pageAddress(page));
        final int stride = s.inspector.cacheStride(cache);
        return stride > 0 && (pa - base) % stride == MmStruct.PGD;
    }

    @Override
    public String check(final KernelState s)
    {
        final long swapper = s.inspector.swapperPgd() & Paging.ADDR_MASK;
        if (swapper == 0)
        {
            known = new long[0];
            return null; // before paging_init
        }
        final Map<Long, String> owner = new HashMap<>();
        owner.put(swapper >>> Layout.PAGE_SHIFT, KERNEL);
        String bad = walk(s, swapper, 0, 512, 4, KERNEL, owner, 0);
        long mmCache = 0;
        if (bad == null)
        {
            mmCache = mmCacheSeen != 0 && "mm_struct".equals(s.inspector.cacheName(mmCacheSeen)) ? mmCacheSeen :
                cache(s, "mm_struct");
            mmCacheSeen = mmCache;
        }
        if (bad == null && mmCache != 0)
        {
            bad = mms(s, mmCache, swapper, owner);
        }
        final long[] pages = new long[owner.size()];
        int i = 0;
        for (final long pfn : owner.keySet())
        {
            pages[i++] = pfn;
        }
        Arrays.sort(pages);
        known = pages;
        return bad;
    }

    /** Every live mm: its pgd not shared, its user half walked, its kernel half equal to swapper's. */
    private String mms(final KernelState s, final long mmCache, final long swapper, final Map<Long, String> owner)
    {
        final long pages = s.memory.size() >>> Layout.PAGE_SHIFT;
        final int stride = s.inspector.cacheStride(mmCache);
        final int objects = s.inspector.cacheObjects(mmCache);
        for (long pfn = 0; pfn < pages; pfn++)
        {
            final long page = PageAlloc.pfnToPage(pfn);
            final long pp = s.inspector.phys(page);
            if (pp < 0 || (s.memory.read64(pp + Page.FLAGS) & Page.PG_SLAB) == 0 || s.memory.read64(pp + Page.SLAB_CACHE) != mmCache)
            {
                continue;
            }
            final long base = PageAlloc.pageAddress(page);
            for (int o = 0; o < objects; o++)
            {
                final long mm = base + (long)o * stride;
                if (s.inspector.onFreelist(page, mm))
                {
                    continue;
                }
                final long pgdVa = s.inspector.read64(mm + MmStruct.PGD);
                if (pgdVa == 0 || pgdVa == palimpsest.kernel.mm.Slab.POISON_WORD || s.inspector.read64(mm + MmStruct.USERS) == 0)
                {
                    // (Poisoned: being freed. kmem_cache_free poisons the object before it takes
                    // the cache lock to link it into the freelist; a cpu waiting for that lock
                    // leaves a freed mm that is not on the freelist yet.)
                    // Being set up, or torn down by the last mmput (exit_mmap frees the tables
                    // while the upper levels still point at them: nobody can walk them any more).
                    continue;
                }
                final String as = String.format("mm %x", mm);
                if (!Layout.isDirectMap(pgdVa))
                {
                    return as + ": pgd " + Long.toHexString(pgdVa) + " is not a direct-map address";
                }
                final long pgd = Layout.pa(pgdVa);
                final String claim = claim(s, owner, pgd, as, String.format("the pgd of %s", as));
                if (claim != null)
                {
                    return claim;
                }
                final String bad = walk(s, pgd, 0, USER_SLOTS, 4, as, owner, 0);
                if (bad != null)
                {
                    return bad;
                }
                for (int slot = USER_SLOTS; slot < 512; slot++)
                {
                    final long e = s.memory.read64(pgd + slot * 8L);
                    final long k = s.memory.read64(swapper + slot * 8L);
                    if (e != 0 && e != k)
                    {
                        return String.format("%s: kernel-half pgd slot %d is %x, swapper_pg_dir has %x", as, slot, e, k);
                    }
                }
            }
        }
        return null;
    }

    /** Walks the entries [from, to) of one table at the given level (4 = pgd); va is the base so far. */
    private String walk(final KernelState s, final long table, final int from, final int to, final int level, final String as,
        final Map<Long, String> owner, final long vaBase)
    {
        for (int i = from; i < to; i++)
        {
            final long e = s.memory.read64(table + i * 8L);
            if ((e & Paging.P) == 0)
            {
                continue;
            }
            long va = vaBase | ((long)i << (Layout.PAGE_SHIFT + 9 * (level - 1)));
            if (level == 4 && i >= 256)
            {
                va |= 0xffff_0000_0000_0000L; // sign extension
            }
            final long frame = e & Paging.ADDR_MASK;
            if (level > 1)
            {
                final String bad = claim(s, owner, frame, as, String.format("the level-%d table for %x", level - 1, va));
                if (bad != null)
                {
                    return bad;
                }
                final String below = walk(s, frame, 0, 512, level - 1, as, owner, va);
                if (below != null)
                {
                    return below;
                }
            }
            else if (Layout.isUser(va) || va >= Layout.VMALLOC_START && va <= Layout.VMALLOC_END || va >= Layout.MODULES_VADDR &&
                va < Layout.MODULES_END)
            {
                final String what = allocated(s, frame);
                if (what != null)
                {
                    return String.format("%s maps %x to frame %x, which %s", as, va, frame, what);
                }
            }
        }
        return null;
    }

    /** Records that as owns the table page at pa; the violation if another place had it already. */
    private static String claim(final KernelState s, final Map<Long, String> owner, final long pa, final String as,
        final String what)
    {
        final long pfn = pa >>> Layout.PAGE_SHIFT;
        final String before = owner.putIfAbsent(pfn, as + " (" + what + ")");
        if (before != null)
        {
            return String.format("page-table page %x is %s and also %s", pa, before, as + " (" + what + ")");
        }
        final String u = usable(s, pa);
        return u == null ? null : String.format("page-table page %x (%s of %s) %s", pa, what, as, u);
    }

    /** Null if the frame at pa can hold a page table: allocated and not a slab page; else what it is. */
    private static String usable(final KernelState s, final long pa)
    {
        if (pa + Layout.PAGE_SIZE <= s.memory.size() && s.inspector.slabPageOf(pa) != 0)
        {
            return "is a slab page";
        }
        return allocated(s, pa);
    }

    /** Null if the frame at pa is inside RAM and allocated (not in a buddy free block); else what it is. */
    private static String allocated(final KernelState s, final long pa)
    {
        if (pa + Layout.PAGE_SIZE > s.memory.size())
        {
            return "is beyond RAM";
        }
        final long pfn = pa >>> Layout.PAGE_SHIFT;
        for (int o = 0; o < Globals.MAX_ORDER; o++)
        {
            final long head = pfn & -(1L << o);
            final long hp = s.inspector.pagePhys(head << Layout.PAGE_SHIFT);
            if (Page.isBuddy(s.memory.read64(hp + Page.FLAGS), s.memory.read64(hp + Page.COUNT)) && s.memory.read64(hp + Page.PRIVATE) == o)
            {
                return "is free (in an order-" + o + " buddy block)";
            }
        }
        return null;
    }

    /** The kmem_cache of that name (from the slab pages), or 0 if no slab page of it exists. */
    private static long cache(final KernelState s, final String name)
    {
        final long pages = s.memory.size() >>> Layout.PAGE_SHIFT;
        for (long pfn = 0; pfn < pages; pfn++)
        {
            final long pp = s.inspector.phys(PageAlloc.pfnToPage(pfn));
            if (pp >= 0 && (s.memory.read64(pp + Page.FLAGS) & Page.PG_SLAB) != 0)
            {
                final long c = s.memory.read64(pp + Page.SLAB_CACHE);
                if (c != 0 && name.equals(s.inspector.cacheName(c)))
                {
                    return c;
                }
            }
        }
        return 0;
    }
}
