package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Outcome;
import palimpsest.emulator.Paging;
import palimpsest.kernel.mm.Page;
import palimpsest.kernel.mm.PageAlloc;
import palimpsest.kernel.mm.PageTable;
import palimpsest.kernel.mm.Slab;

class MmTest
{
    @Test
    void buddyAllocatesAlignedBlocksAndMergesThemBack()
    {
        final long[] seen = new long[8];
        final KUnit u = KUnit.run((cpu, k) ->
        {
            final long free0 = k.pages.nrFreePages(cpu);
            final long p3 = k.pages.allocPages(cpu, 3);
            assertEquals(0, PageAlloc.pageToPfn(p3) % 8, "order-3 block is 8-page aligned");
            assertEquals(3, cpu.load64(p3 + Page.PRIVATE), "private holds the order");
            assertEquals(1, cpu.load32(p3 + Page.COUNT));
            assertEquals(free0 - 8, k.pages.nrFreePages(cpu));
            final long a = k.pages.allocPage(cpu);
            final long b = k.pages.allocPage(cpu);
            assertNotEquals(a, b);
            k.pages.freePage(cpu, a);
            k.pages.freePage(cpu, b);
            k.pages.freePages(cpu, p3, 3);
            assertEquals(free0, k.pages.nrFreePages(cpu), "everything returned");
            // After merging, the highest order list still has its blocks.
            seen[0] = cpu.load64(Globals.FREE_AREA + 10L * Globals.FREE_AREA_SIZE + 16);
            seen[1] = PageAlloc.pagePhys(a);
        });
        assertTrue(seen[0] > 0, "order-10 blocks exist after merging");
        // The struct page of the freed page is in raw memory, flagged PG_buddy or merged into a head.
        final KernelInspector ki = new KernelInspector(u.machine.memory(0));
        assertTrue(ki.global(Globals.NR_FREE_PAGES) > 30000);
    }

    @Test
    void slabPoisonIsVisibleInRawMemoryAfterKfree()
    {
        final long[] obj = new long[2];
        final KUnit u = KUnit.run((cpu, k) ->
        {
            final long o = k.slab.kmalloc(cpu, 64);
            for (int i = 0; i < 64; i += 8)
            {
                cpu.store64(o + i, 0x1122334455667788L);
            }
            k.slab.kfree(cpu, o);
            obj[0] = o;
            // LIFO: the next allocation from the cache is the object just freed.
            obj[1] = k.slab.kmalloc(cpu, 64);
            k.slab.kfree(cpu, obj[1]);
        });
        assertEquals(obj[0], obj[1]);
        final long pa = obj[0] - Layout.PAGE_OFFSET;
        for (int i = 0; i < 63; i++)
        {
            assertEquals(Slab.POISON_FREE, u.machine.memory(0).read8(pa + i), "byte " + i);
        }
        assertEquals(Slab.POISON_END, u.machine.memory(0).read8(pa + 63));
    }

    @Test
    void pageTablesLiveInRawMemory()
    {
        final long[] r = new long[4];
        final KUnit u = KUnit.run((cpu, k) ->
        {
            final long va = k.vm.vmalloc(cpu, 8192);
            cpu.store64(va + 4096 + 16, 0xfeedfacecafebeefL);
            r[0] = va;
            r[1] = k.pt.lookup(cpu, k.pt.swapperPgd(cpu), va + 4096);
            r[2] = cpu.cr3();
        });
        final KernelInspector ki = new KernelInspector(u.machine.memory(0));
        // The kernel's own answer and a walk of raw physical memory agree.
        final long pte = ki.walk(ki.swapperPgd(), r[0] + 4096);
        assertEquals(r[1], pte);
        System.out.printf("vmalloc %x pte %x swapper %x%n", r[0], pte, ki.swapperPgd());
        final long pa = ki.translate(ki.swapperPgd(), r[0] + 4096 + 16);
        assertEquals(0xfeedfacecafebeefL, u.machine.memory(0).read64(pa));
        // The direct map and the text mapping, too; text is mapped without W.
        assertEquals(0x123000, ki.translate(ki.swapperPgd(), Layout.PAGE_OFFSET + 0x123000));
        final long textPte = ki.walk(ki.swapperPgd(), Layout.KERNEL_TEXT);
        assertEquals(Layout.TEXT_PHYS, textPte & Paging.ADDR_MASK);
        assertEquals(0, textPte & Paging.W);
        assertEquals(PageTable.PAGE_KERNEL & ~Paging.ADDR_MASK, ki.walk(ki.swapperPgd(), Layout.KERNEL_DATA) & ~Paging.ADDR_MASK);
    }

    @Test
    void storeToKernelTextOopses()
    {
        final KUnit u = KUnit.run((cpu, k) -> cpu.store8(k.sched.getClass() == null ? 0 : Layout.KERNEL_TEXT + 0x40, 0xF0),
            List.of(), null);
        assertEquals(Outcome.Kind.FAILURE, u.outcome.kind);
        assertTrue(u.console().contains("BUG: unable to handle kernel paging request at " + Long.toHexString(Layout.KERNEL_TEXT + 0x40)), u.console());
        assertTrue(u.console().contains("Oops: 0003 [#1] SMP"), u.console());
        assertTrue(u.console().contains("Call Trace:"));
    }

    @Test
    void virtToPageOfAModuleAddressIsNotItsPage()
    {
        final long[] r = new long[3];
        KUnit.run((cpu, k) ->
        {
            final long m = k.vm.moduleAlloc(cpu, 4096, PageTable.PAGE_KERNEL);
            r[0] = m;
            r[1] = PageAlloc.virtToPage(m);
            r[2] = k.pages.physToPage(k.pt.lookup(cpu, k.pt.swapperPgd(cpu), m) & Paging.ADDR_MASK);
            // For kernel text the formula is right.
            assertEquals(k.pages.physToPage(Layout.TEXT_PHYS), PageAlloc.virtToPage(Layout.KERNEL_TEXT));
        });
        assertTrue(r[0] >= Layout.MODULES_VADDR || r[0] < 0);
        assertNotEquals(r[2], r[1], "virt_to_page(module address) must not be the backing page");
        assertEquals(PageAlloc.pfnToPage((r[0] - Layout.START_KERNEL_MAP) >>> 12), r[1]);
    }
}
