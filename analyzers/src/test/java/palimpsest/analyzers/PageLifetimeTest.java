package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.page.PageLifetime;
import palimpsest.emulator.Paging;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;

class PageLifetimeTest
{
    static final long PAGE = 0x7fe3000;
    static final long STACK = Layout.PAGE_OFFSET + 0x500000L;

    @TempDir
    Path dir;

    private static List<Finding> pages(final Analysis.Result r)
    {
        return r.findings.stream().filter(f -> f.analyzer.equals(PageLifetime.NAME)).collect(Collectors.toList());
    }

    @Test
    void aWriteThroughADirectMapAliasAfterThePageWasFreedNamesTheFreer()
    {
        final Path t = dir.resolve("uaf");
        try (HandMade h = new HandMade(t))
        {
            h.mark(0, Kfn.pc("free_pages", 4), Mark.PAGE_ALLOC, PAGE, 0);
            h.store(0, Kfn.pc("worker", 4), Layout.va(PAGE) + 0x10, 8, 1);
            h.frames(1, STACK, Kfn.pc("kfree", 0x10));
            h.mark(1, Kfn.pc("free_pages", 8), Mark.PAGE_FREE, PAGE, 0);
            h.store(0, Kfn.pc("worker", 0x20), Layout.va(PAGE) + 0x18, 8, 2); // cpu 0 kept the alias
            h.store(0, Kfn.pc("worker", 0x20), Layout.va(PAGE) + 0x20, 8, 3);
        }
        final List<Finding> f = pages(Kfn.analyze(t));
        assertEquals(1, f.size(), f::toString);
        final String rep = f.get(0).report;
        assertTrue(rep.startsWith("BUG: KASAN: use-after-free in worker+0x20/0x100\n"), rep);
        assertTrue(rep.contains("(page 7fe3000)"), rep);
        assertTrue(rep.contains("a direct-map alias " + Long.toHexString(Layout.va(PAGE) + 0x18) + " kept without a page reference"), rep);
        assertTrue(rep.contains("The page was freed by task 0 on cpu1"), rep);
        assertTrue(rep.contains(" free_pages+0x8/0x100\n kfree+0x10/0x100"), rep);
        assertTrue(rep.contains("nobody: the page is free in the buddy allocator"), rep);
        assertTrue(rep.contains("(1 more writes"), rep);
    }

    @Test
    void aUserMappingIntoAPageReusedAsAPageTableIsReported()
    {
        final Path t = dir.resolve("pt");
        try (HandMade h = new HandMade(t))
        {
            h.mark(0, Kfn.pc("free_pages", 4), Mark.PAGE_ALLOC, PAGE, 0);
            h.mark(0, Kfn.pc("free_pages", 8), Mark.PAGE_FREE, PAGE, 0); // munmap freed it; the pte was left behind
            h.mark(1, Kfn.pc("free_pages", 4), Mark.PAGE_ALLOC, PAGE, 0); // a new page table
            h.reg(1, Reg.CR3, 0x100000);
            h.w.access(EventKind.WALK, 1, ++h.icount, Kfn.pc("worker", 4), 0x7000000, PAGE + 8, 8, 0x5000 | Paging.P, 0);
            h.w.access(EventKind.STORE, 0, ++h.icount, Kfn.pc("user_main", 0x10), 0x610008, PAGE + 8, 8, 0x4141, 0x5001);
        }
        final List<Finding> f = pages(Kfn.analyze(t));
        assertEquals(1, f.size(), f::toString);
        final String rep = f.get(0).report;
        assertTrue(rep.contains("a user mapping of task 0 at 610000"), rep);
        assertTrue(rep.contains("The page now belongs to a page-table page (walked by the MMU"), rep);
    }

    @Test
    void writesToAPageAllocatedAgainAndUserWritesToAnOrdinaryReusedPageAreNotReported()
    {
        final Path t = dir.resolve("clean");
        try (HandMade h = new HandMade(t))
        {
            h.mark(0, Kfn.pc("free_pages", 4), Mark.PAGE_ALLOC, PAGE, 1);
            h.mark(0, Kfn.pc("free_pages", 8), Mark.PAGE_FREE, PAGE, 1);
            h.mark(1, Kfn.pc("free_pages", 4), Mark.PAGE_ALLOC, PAGE, 1);
            h.store(1, Kfn.pc("worker", 4), Layout.va(PAGE) + 0x1008, 8, 1);
            h.w.access(EventKind.STORE, 1, ++h.icount, Kfn.pc("user_main", 0x10), 0x610008, PAGE + 8, 8, 0x4141, 0);
            h.store(0, Kfn.pc("worker", 4), Layout.va(0x1234000), 8, 1); // never freed at all
        }
        final List<Finding> f = pages(Kfn.analyze(t));
        assertEquals(0, f.size(), f::toString);
    }

    @Test
    void aUserMappingIntoAPageReusedAsASlabPageIsReported()
    {
        final Path t = dir.resolve("slab");
        try (HandMade h = new HandMade(t))
        {
            h.mark(0, Kfn.pc("free_pages", 4), Mark.PAGE_ALLOC, PAGE, 0);
            h.mark(0, Kfn.pc("free_pages", 8), Mark.PAGE_FREE, PAGE, 0);
            h.mark(1, Kfn.pc("free_pages", 4), Mark.PAGE_ALLOC, PAGE, 0);
            h.alloc(1, Layout.va(PAGE) + 0x100, 5, 64);
            h.w.access(EventKind.STORE, 0, ++h.icount, Kfn.pc("user_main", 0x10), 0x610108, PAGE + 0x108, 8, 0x4141, 0);
        }
        final List<Finding> f = pages(Kfn.analyze(t));
        assertEquals(1, f.size(), f::toString);
        assertTrue(f.get(0).report.contains("The page now belongs to a slab page"), f.get(0).report);
    }
}
