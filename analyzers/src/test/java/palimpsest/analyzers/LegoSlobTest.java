package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.core.Symbols;
import palimpsest.emulator.Verdict;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.kernel.mm.Page;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceReader;

/**
 * The LegoOS diary's 02/13 SLOB bug (issue 14, bug 4) on the lego branch, recorded: SLOB's
 * set_page_private over buddy's order in the events, buddy's free of the wrong order that read it,
 * the page dump, and what pal analyze answers first; the fixed tag records GOOD and analyzes clean.
 */
class LegoSlobTest
{
    private static final ScenarioCatalog CATALOG = ScenarioCatalog.load();
    private static final Map<String, String> THRASH = Map.of("pcache-kb", "32", "pcache-ways", "4");
    /** The README's bug-4 command: its seed 168 puts the map thread's stack over a live SLOB page. */
    private static final Map<String, String> DIARY = Map.of("words", "100000", "passes", "4", "pcache-kb", "256", "pcache-ways", "8");
    private static final long DIARY_SEED = 168;

    @TempDir
    Path dir;

    private LegoRun record(final String scenario, final String kernel, final Map<String, String> args, final String schedule,
        final long seed)
    {
        return LegoRun.record(CATALOG, dir, scenario, kernel, args, schedule, seed, null);
    }

    @Test
    void slobsSetPagePrivateMakesBuddyFreeALiveSlobPage() throws Exception
    {
        final LegoRun bad = record("lego-word-count-seq", "lego-2018-02-13", DIARY, "seeded", DIARY_SEED);
        assertEquals(Verdict.Kind.BAD, bad.summary.verdict().kind, bad.summary.verdict()::toString);
        final String console = bad.console.toString();
        // The diary's March dump: a page buddy already holds as free (PageBuddy's mapcount), its reference
        // already gone, SLOB's flags still on it, freed again: put_page_testzero's VM_BUG and the panic.
        assertTrue(console.matches("(?s).*\npage:ffffea[0-9a-f]+ count:0 mapcount:-128\n"
            + "flags: 0x[0-9a-f]+\\(slab\\|slob_free\\)\npage dumped because: VM_BUG_ON_PAGE\\(page_ref_count\\(page\\) == 0\\)\n"
            + "------------\\[ cut here \\]------------\nBUG: failure at \\./include/lego/mm\\.h:251/put_page_testzero\\(\\)!\n"
            + "Kernel Panic - not syncing: BUG!\n.*"), console);

        // The mechanism in the events: split_page gives each page of a pair order 0 in private;
        // slob_new_pages stores 1 there; __free_pages reads the 1 back and frees order 1 at that page.
        final Map<Long, Long> splitAt = new java.util.HashMap<>();
        final Map<Long, Long> clobberAt = new java.util.HashMap<>();
        long trusted = -1;
        long wrongFree = -1;
        long pfn = -1;
        try (TraceReader r = TraceReader.open(bad.trace))
        {
            final Symbols sym = Symbols.of(r.header(), CATALOG);
            final Event e = new Event();
            while (r.next(e) && wrongFree < 0)
            {
                if (e.cpu() >= 4)
                {
                    continue;
                }
                if (e.kind() == EventKind.MARK && e.a() == Mark.PAGE_SPLIT && e.c() == 1)
                {
                    splitAt.put(e.b() >>> Layout.PAGE_SHIFT, e.index());
                    splitAt.put((e.b() >>> Layout.PAGE_SHIFT) + 1, e.index());
                }
                else if (e.kind() == EventKind.STORE && "slob_new_pages".equals(sym.function(e.pc())) && isPrivate(e.vaddr())
                    && e.value() == 1 && splitAt.containsKey((e.vaddr() - Layout.VMEMMAP_START) / Page.SIZE))
                {
                    clobberAt.put((e.vaddr() - Layout.VMEMMAP_START) / Page.SIZE, e.index());
                }
                else if (e.kind() == EventKind.LOAD && isPrivate(e.vaddr()) && e.value() == 1 && "__free_pages".equals(sym.function(e.pc()))
                    && clobberAt.containsKey((e.vaddr() - Layout.VMEMMAP_START) / Page.SIZE))
                {
                    trusted = e.index();
                    pfn = (e.vaddr() - Layout.VMEMMAP_START) / Page.SIZE;
                }
                else if (e.kind() == EventKind.MARK && e.a() == Mark.PAGE_FREE && trusted >= 0 && e.b() == pfn << Layout.PAGE_SHIFT)
                {
                    assertEquals(1, e.c(), "buddy freed the order-0 SLOB page as order 1");
                    wrongFree = e.index();
                }
            }
        }
        assertTrue(wrongFree > trusted && trusted > clobberAt.get(pfn) && clobberAt.get(pfn) > splitAt.get(pfn),
            "split " + splitAt.get(pfn) + " clobber " + clobberAt.get(pfn) + " trusted " + trusted + " free " + wrongFree);

        // The analyzer's answer: the store, not the crash.
        final Finding first = bad.analysis.findings.get(0);
        assertEquals("page-meta", first.analyzer, bad.analysis.findings::toString);
        assertTrue(first.title.contains("slob_new_pages+0x30") && first.title.contains("struct page private"), first.title);
        assertTrue(first.report.contains("freed the block as order 1, not 0") && first.report.contains("still in use"), first.report);
        assertTrue(bad.analysis.verdict.startsWith("verdict: metadata-clobber: slob_new_pages+0x30/0x60's store to page->private"),
            bad.analysis.verdict);
        // No "it led to": the panic is put_page_testzero's BUG on another page (the one the map thread's
        // stack shared with SLOB), reached through buddy's free lists, not through an exception. The
        // oops finding names that page and its two owners: SLOB's block, already given back by the other.
        final Finding oops = bad.analysis.findings.stream().filter(f -> f.report.contains("the last struct page it read is pfn"))
            .findFirst().orElseThrow(() -> new AssertionError(bad.analysis.findings.toString()));
        assertTrue(oops.report.contains("(count 0 at event") && oops.report.contains("__free_pages"), oops.report);
        assertTrue(oops.report.contains("FREE (back in the page allocator)") && oops.report.contains("slob_new_pages"), oops.report);
    }

    /**
     * victim_submit_flush's job (lego-victim-flush-info) in the events: an eviction kmallocs a
     * victim_flush_info and fills it, victim_flush_func (kvictim_flushd) reads its slot and kfree()s it.
     */
    @Test
    void kvictimFlushdFreesTheFlushInfoAnEvictionKmalloced() throws Exception
    {
        // The fixed tag: the same path, and the run lives until every job is freed.
        final LegoRun ok = record("lego-word-count-seq", "lego-2018-02-13-fix", THRASH, "seeded", 0);
        final Map<Long, Long> filled = new java.util.HashMap<>();
        final Map<Long, Long> taken = new java.util.HashMap<>();
        long freed = -1;
        try (TraceReader r = TraceReader.open(ok.trace))
        {
            final Symbols sym = Symbols.of(r.header(), CATALOG);
            final Event e = new Event();
            final java.util.Set<Long> infos = new java.util.HashSet<>();
            final long[] inKfree = new long[4];
            while (r.next(e) && freed < 0)
            {
                if (e.cpu() >= 4)
                {
                    continue;
                }
                if (e.kind() == EventKind.MARK && e.a() == Mark.KMALLOC && e.c() == 64)
                {
                    infos.add(e.b());
                }
                else if (e.kind() == EventKind.STORE && infos.contains(e.vaddr() - 16) && "pcache_evict_line".equals(sym.function(e.pc())))
                {
                    filled.put(e.vaddr() - 16, e.index());
                }
                else if (e.kind() == EventKind.LOAD && filled.containsKey(e.vaddr() - 16) && "victim_flush_func".equals(sym.function(e.pc())))
                {
                    taken.put(e.vaddr() - 16, e.index());
                }
                else if (e.kind() == EventKind.LOAD && "kfree".equals(sym.function(e.pc())))
                {
                    inKfree[e.cpu()] = e.index();
                }
                else if (e.kind() == EventKind.LOAD && taken.containsKey(e.vaddr() + 8) && e.value() == 64
                    && inKfree[e.cpu()] > taken.get(e.vaddr() + 8))
                {
                    // kfree (entered after victim_flush_func took the job) reads the block's size header, 8 bytes before it.
                    freed = e.index();
                    final long info = e.vaddr() + 8;
                    assertTrue(filled.get(info) < taken.get(info) && taken.get(info) < freed,
                        "filled " + filled.get(info) + " taken " + taken.get(info) + " freed " + freed);
                }
            }
        }
        assertTrue(freed > 0, "no victim_flush_info filled by an eviction, read and kfree()d by victim_flush_func: " + filled + " " + taken);
    }

    private static boolean isPrivate(final long vaddr)
    {
        final long rel = vaddr - Layout.VMEMMAP_START;
        return rel >= 0 && rel < (1L << 30) && rel % Page.SIZE == Page.PRIVATE;
    }

    @Test
    void theFixedSlobRecordsGoodAndAnalyzesClean() throws Exception
    {
        for (final LegoRun ok : List.of(
            record("lego-word-count-seq", "lego-2018-02-13-fix", DIARY, "seeded", DIARY_SEED),
            record("lego-word-count-seq", "lego-2018-02-13-fix", THRASH, "chaos", 3),
            record("lego-exec", "lego-2018-02-13-fix", Map.of(), "chaos", 1),
            record("lego-fork-cow", "lego-2018-02-13-fix", Map.of(), "seeded", 0)))
        {
            assertEquals(Verdict.Kind.GOOD, ok.summary.verdict().kind, ok.summary.verdict()::toString);
            assertEquals(0, ok.analysis.findings.size(), ok.analysis.findings::toString);
        }
    }
}
