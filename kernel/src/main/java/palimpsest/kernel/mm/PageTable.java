package palimpsest.kernel.mm;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Paging;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;

/**
 * 4-level page tables built in emulated memory (PML4 -> PDPT -> PD -> PT, 512 entries of 8 bytes).
 * Tables are addressed physically in the entries and reached by the kernel at {@code phys + off}:
 * off = 0 while the boot cpu still runs without paging, PAGE_OFFSET (the direct map) after.
 */
public final class PageTable
{
    /** Flags of intermediate entries: the leaf decides permissions. */
    public static final long TABLE_KERNEL = Paging.P | Paging.W;
    public static final long TABLE_USER = Paging.P | Paging.W | Paging.U;

    public static final long PAGE_KERNEL = Paging.P | Paging.W | Paging.NX | Paging.G;
    public static final long PAGE_KERNEL_RX = Paging.P | Paging.G;
    /** Writable and executable: module text (as 2.6.25's module_alloc) and 2.6.25's kernel text with hotplug. */
    public static final long PAGE_KERNEL_EXEC = Paging.P | Paging.W | Paging.G;
    public static final long PAGE_KERNEL_RO = Paging.P | Paging.NX | Paging.G;

    private final Kernel k;
    private final Fn walkFn;
    private final Fn setPteFn;
    private final Fn clearPteFn;
    private final Fn freeTablesFn;

    public PageTable(final Kernel k)
    {
        this.k = k;
        this.walkFn = k.text.fn("pte_offset_alloc", 0x100);
        this.setPteFn = k.text.fn("set_pte_at", 0x40);
        this.clearPteFn = k.text.fn("ptep_get_and_clear", 0x40);
        this.freeTablesFn = k.text.fn("free_pgtables", 0x100);
    }

    /**
     * Address (at phys + off) of the PTE for va, allocating missing tables if alloc; 0 if a level is
     * missing and alloc is false.
     */
    public long pte(final Cpu cpu, final long pgdPhys, final long va, final long off, final boolean alloc, final boolean user)
    {
        walkFn.enter(cpu);
        long table = pgdPhys;
        for (int level = 4; level > 1; level--)
        {
            final long ea = table + Paging.index(va, level) * 8L + off;
            long e = cpu.load64(ea);
            if ((e & Paging.P) == 0)
            {
                if (!alloc)
                {
                    return walkFn.leave(cpu, 0);
                }
                walkFn.at(cpu, 0x40);
                final long t = off == 0 ? k.memblockAllocPhys(cpu, 1, true) : Layout.pa(k.pages.getZeroedPage(cpu));
                e = t | (user ? TABLE_USER : TABLE_KERNEL);
                cpu.store64(ea, e);
            }
            else if (user && (e & Paging.U) == 0)
            {
                cpu.store64(ea, e | Paging.U);
            }
            table = e & Paging.ADDR_MASK;
        }
        return walkFn.leave(cpu, table + Paging.index(va, 1) * 8L + off);
    }

    /**
     * The user pte slot of va, allocating missing tables, walked by the caller itself (pgd_offset,
     * pud_alloc, pmd_alloc, pte_alloc inlined: LegoOS's pcache_handle_fault): each level's entry
     * is read at caller+at+8*(4-level), so a fault on a bad table pointer is the caller's.
     */
    public long pteInline(final Cpu cpu, final Fn caller, final int at, final long pgdPhys, final long va)
    {
        long table = pgdPhys;
        for (int level = 4; level > 1; level--)
        {
            final long ea = table + Paging.index(va, level) * 8L + Layout.PAGE_OFFSET;
            caller.at(cpu, at + 8 * (4 - level));
            long e = cpu.load64(ea);
            if ((e & Paging.P) == 0)
            {
                caller.at(cpu, at + 0x20);
                e = Layout.pa(k.pages.getZeroedPage(cpu)) | TABLE_USER;
                cpu.store64(ea, e);
            }
            else if ((e & Paging.U) == 0)
            {
                cpu.store64(ea, e | Paging.U);
            }
            table = e & Paging.ADDR_MASK;
        }
        return table + Paging.index(va, 1) * 8L + Layout.PAGE_OFFSET;
    }

    /** The PTE value for va in a pgd (0 if none). */
    public long lookup(final Cpu cpu, final long pgdPhys, final long va)
    {
        final long p = pte(cpu, pgdPhys, va, Layout.PAGE_OFFSET, false, false);
        return p == 0 ? 0 : cpu.load64(p);
    }

    public void set(final Cpu cpu, final long ptep, final long value)
    {
        setPteFn.enter(cpu);
        cpu.store64(ptep, value);
        setPteFn.leave(cpu);
    }

    public long getAndClear(final Cpu cpu, final long ptep)
    {
        clearPteFn.enter(cpu);
        final long old = cpu.xchg(k.spin.atomicSite(), ptep, 8, 0);
        return clearPteFn.leave(cpu, old);
    }

    /** Maps one page in a pgd after boot (kernel or user). */
    public void map(final Cpu cpu, final long pgdPhys, final long va, final long pa, final long flags, final boolean user)
    {
        final long p = pte(cpu, pgdPhys, va, Layout.PAGE_OFFSET, true, user);
        set(cpu, p, (pa & Paging.ADDR_MASK) | flags);
    }

    /** Frees the user half's tables (PDPT, PD, PT pages) of a pgd; the leaf pages must be gone already. */
    public void freeUserTables(final Cpu cpu, final long pgdPhys)
    {
        freeTablesFn.enter(cpu);
        for (int i4 = 0; i4 < 256; i4++)
        {
            final long e4a = Layout.va(pgdPhys) + i4 * 8L;
            final long e4 = cpu.load64(e4a);
            if ((e4 & Paging.P) == 0)
            {
                continue;
            }
            final long pdpt = e4 & Paging.ADDR_MASK;
            for (int i3 = 0; i3 < 512; i3++)
            {
                final long e3 = cpu.load64(Layout.va(pdpt) + i3 * 8L);
                if ((e3 & Paging.P) == 0)
                {
                    continue;
                }
                final long pd = e3 & Paging.ADDR_MASK;
                for (int i2 = 0; i2 < 512; i2++)
                {
                    final long e2 = cpu.load64(Layout.va(pd) + i2 * 8L);
                    if ((e2 & Paging.P) != 0)
                    {
                        k.pages.freePage(cpu, k.pages.physToPage(e2 & Paging.ADDR_MASK));
                    }
                }
                k.pages.freePage(cpu, k.pages.physToPage(pd));
            }
            k.pages.freePage(cpu, k.pages.physToPage(pdpt));
            cpu.store64(e4a, 0);
        }
        freeTablesFn.leave(cpu);
    }

    /** The kernel's own pgd (swapper_pg_dir), physical. */
    public long swapperPgd(final Cpu cpu)
    {
        return cpu.load64(Globals.SWAPPER_PGD);
    }
}
