package palimpsest.analyzers.invariants;

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
 * <p>Entries are well-formed: a non-present entry is 0 (this kernel has no swap or migration
 * entries), so a table page overwritten with data breaks the invariant at the first non-zero word.
 *
 * <p>Incremental: {@link #check} walks everything and remembers every page-table page (its level,
 * address space, the virtual range it maps and the entry that links it). {@link #touches} (memory
 * already holds the write) picks a write into a known table page, the pgd word of an
 * {@code mm_struct}, or a {@code struct page} of a page now free; {@link #checkWrite} then looks
 * only at what that write can break: the written entries (a table it links for the first time is
 * walked and remembered), or, for a free, whether a known leaf table still maps the freed frames.
 * Only the rare writes that change the set of address spaces (an mm's pgd, a table page freed)
 * cost a whole walk, so a pass over millions of events costs little more than the filter.
 */
public final class PageTables implements Invariant
{
    private static final int USER_SLOTS = 256;
    private static final String KERNEL = "swapper_pg_dir";

    /** One page-table page: its level (4 = pgd), address space, the va its first entry maps, and the entry linking it. */
    private static final class Table
    {
        final int level;
        final String as;
        final String what;
        final long va;
        /** Physical address of the entry that links it (0: a root). */
        final long link;
        /** The mm_struct whose address space it is (0: the kernel's). */
        final long mm;

        Table(final int level, final String as, final String what, final long va, final long link, final long mm)
        {
            this.mm = mm;
            this.level = level;
            this.as = as;
            this.what = what;
            this.va = va;
            this.link = link;
        }
    }

    /** Page-table pages (pfn) known from the last check and from the writes checked since. */
    private final Map<Long, Table> tables = new HashMap<>();
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
        if (tables.containsKey(pa >>> Layout.PAGE_SHIFT))
        {
            return true;
        }
        return size == 8 && isMmPgd(s, pa);
    }

    private boolean isMmPgd(final KernelState s, final long pa)
    {
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
    public String checkWrite(final KernelState s, final long pa, final int size)
    {
        final Table t = tables.get(pa >>> Layout.PAGE_SHIFT);
        if (t != null)
        {
            final long page = pa & ~(Layout.PAGE_SIZE - 1);
            for (long w = pa & ~7L; w < pa + size; w += 8)
            {
                final String bad = entry(s, t, page, (int)((w - page) >>> 3));
                if (bad != null)
                {
                    return bad;
                }
            }
            return null;
        }
        final long memmapPa = s.inspector.phys(PageAlloc.pfnToPage(0));
        if (memmapPa >= 0 && pa >= memmapPa && pa < memmapPa + (s.memory.size() >>> Layout.PAGE_SHIFT) * Page.SIZE)
        {
            final long pfn = (pa - memmapPa) / Page.SIZE;
            final long pp = memmapPa + pfn * Page.SIZE;
            final long order = Math.min(s.memory.read64(pp + Page.PRIVATE), Globals.MAX_ORDER - 1);
            final long first = pfn & -(1L << Math.max(0, order));
            for (long f = first; f < first + (1L << Math.max(0, order)); f++)
            {
                if (tables.containsKey(f))
                {
                    return check(s); // a table page freed: the address spaces change (exit, exec)
                }
            }
            return freedFrameMapped(s, first << Layout.PAGE_SHIFT, (1L << Math.max(0, order)) << Layout.PAGE_SHIFT);
        }
        return newPgd(s, pa); // an mm's pgd
    }

    /**
     * An mm_struct's pgd word written: the address spaces change, so a whole check; the pgd it
     * names is a table from now on even while the mm has no users yet (the whole check skips
     * such mms), so the writes that fill it are checked as they come.
     */
    private String newPgd(final KernelState s, final long pa)
    {
        final String bad = check(s);
        final long pgdVa = s.memory.read64(pa);
        if (bad != null || !Layout.isDirectMap(pgdVa) || tables.containsKey(Layout.pa(pgdVa) >>> Layout.PAGE_SHIFT))
        {
            return bad;
        }
        final long mm = Layout.PAGE_OFFSET + pa - MmStruct.PGD;
        final String as = String.format("mm %x", mm);
        final long pgd = Layout.pa(pgdVa);
        final String u = usable(s, pgd);
        if (u != null)
        {
            return String.format("page-table page %x (the pgd of %s) %s", pgd, as, u);
        }
        final Table t = new Table(4, as, "the pgd of " + as, 0, 0, mm);
        tables.put(pgd >>> Layout.PAGE_SHIFT, t);
        for (int i = 0; i < 512; i++)
        {
            final String e = entry(s, t, pgd, i);
            if (e != null)
            {
                return e;
            }
        }
        return null;
    }

    /** A known leaf table of a checked range still mapping a frame in [pa, pa+len), which is free now. */
    private String freedFrameMapped(final KernelState s, final long pa, final long len)
    {
        for (final Map.Entry<Long, Table> en : tables.entrySet())
        {
            final Table t = en.getValue();
            if (t.level != 1 || !checkedLeaves(t.va) || t.mm != 0 && s.inspector.read64(t.mm + MmStruct.USERS) == 0)
            {
                continue; // (an mm whose last user is gone is torn down while its tables still link its pages)
            }
            final long page = en.getKey() << Layout.PAGE_SHIFT;
            for (int i = 0; i < 512; i++)
            {
                final long e = s.memory.read64(page + i * 8L);
                final long frame = e & Paging.ADDR_MASK;
                if ((e & Paging.P) != 0 && frame >= pa && frame < pa + len)
                {
                    return String.format("%s maps %x to frame %x, which %s", t.as, t.va + ((long)i << Layout.PAGE_SHIFT), frame,
                        allocated(s, frame));
                }
            }
        }
        return null;
    }

    private static boolean checkedLeaves(final long va)
    {
        return Layout.isUser(va) || va >= Layout.VMALLOC_START && va <= Layout.VMALLOC_END || va >= Layout.MODULES_VADDR &&
            va < Layout.MODULES_END;
    }

    /**
     * Entry i of table t (at physical page): well-formed, and what it points at is fit for it; a
     * table it links for the first time is claimed and walked. Null if it holds.
     */
    private String entry(final KernelState s, final Table t, final long page, final int i)
    {
        final long e = s.memory.read64(page + i * 8L);
        if (e == 0)
        {
            return null;
        }
        long va = t.va | ((long)i << (Layout.PAGE_SHIFT + 9 * (t.level - 1)));
        if (t.level == 4 && i >= USER_SLOTS)
        {
            va |= 0xffff_0000_0000_0000L; // sign extension
        }
        if ((e & Paging.P) == 0)
        {
            return String.format("entry %d of page-table page %x (%s of %s) is %x: not present but not 0 (no kernel code writes one)",
                i, page, t.what, t.as, e);
        }
        final long frame = e & Paging.ADDR_MASK;
        if (t.level == 4 && i >= USER_SLOTS && !KERNEL.equals(t.as))
        {
            final long swapper = s.inspector.swapperPgd() & Paging.ADDR_MASK;
            final long k = s.memory.read64(swapper + i * 8L);
            return e == k ? null : String.format("%s: kernel-half pgd slot %d is %x, swapper_pg_dir has %x", t.as, i, e, k);
        }
        if (t.level == 1)
        {
            if (checkedLeaves(va))
            {
                final String what = allocated(s, frame);
                return what == null ? null : String.format("%s maps %x to frame %x, which %s", t.as, va, frame, what);
            }
            return null;
        }
        final Table child = tables.get(frame >>> Layout.PAGE_SHIFT);
        final String what = String.format("the level-%d table for %x", t.level - 1, va);
        if (child != null)
        {
            return child.link == page + i * 8L ? null : String.format("page-table page %x is %s (%s) and also %s (%s)", frame, child.as,
                child.what, t.as, what);
        }
        final String u = usable(s, frame);
        if (u != null)
        {
            return String.format("page-table page %x (%s of %s) %s", frame, what, t.as, u);
        }
        final Table n = new Table(t.level - 1, t.as, what, va, page + i * 8L, t.mm);
        tables.put(frame >>> Layout.PAGE_SHIFT, n);
        for (int j = 0; j < 512; j++)
        {
            final String below = entry(s, n, frame, j);
            if (below != null)
            {
                return below;
            }
        }
        return null;
    }

    @Override
    public String check(final KernelState s)
    {
        final long swapper = s.inspector.swapperPgd() & Paging.ADDR_MASK;
        tables.clear();
        if (swapper == 0)
        {
            return null; // before paging_init
        }
        final Map<Long, String> owner = new HashMap<>();
        owner.put(swapper >>> Layout.PAGE_SHIFT, KERNEL);
        tables.put(swapper >>> Layout.PAGE_SHIFT, new Table(4, KERNEL, KERNEL, 0, 0, 0));
        String bad = walk(s, swapper, 0, 512, 4, KERNEL, 0, owner, 0);
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
                tables.put(pgd >>> Layout.PAGE_SHIFT, new Table(4, as, String.format("the pgd of %s", as), 0, 0, mm));
                final String bad = walk(s, pgd, 0, USER_SLOTS, 4, as, mm, owner, 0);
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
        final long mm, final Map<Long, String> owner, final long vaBase)
    {
        for (int i = from; i < to; i++)
        {
            final long e = s.memory.read64(table + i * 8L);
            if ((e & Paging.P) == 0)
            {
                if (e != 0)
                {
                    final Table t = tables.get(table >>> Layout.PAGE_SHIFT);
                    return String.format("entry %d of page-table page %x (%s of %s) is %x: not present but not 0 (no kernel code writes one)",
                        i, table, t == null ? "a table" : t.what, as, e);
                }
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
                final String what = String.format("the level-%d table for %x", level - 1, va);
                final String bad = claim(s, owner, frame, as, what);
                if (bad != null)
                {
                    return bad;
                }
                tables.put(frame >>> Layout.PAGE_SHIFT, new Table(level - 1, as, what, va, table + i * 8L, mm));
                final String below = walk(s, frame, 0, 512, level - 1, as, mm, owner, va);
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
