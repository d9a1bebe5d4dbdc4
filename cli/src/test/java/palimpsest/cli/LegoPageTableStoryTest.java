package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;

/**
 * The LegoOS diary's 03/08 bug on lego-python (issue 14, bug 6): mprotect frees a victim page whose
 * slot keeps its address, the page becomes the pud above the GOT, the next eviction into the slot
 * copies a line over it, and the GOT store at the end oopses in pcache_handle_fault long after.
 * The invariant bisect stops at that copy and tells the page's life; analyze names it and links
 * the oops; the fix is clean; the patch bisect names the bug's patch.
 */
class LegoPageTableStoryTest
{
    @TempDir
    static Path tmp;
    static Path bad;
    static Path good;
    static Result rec;
    static Result recGood;

    @BeforeAll
    static void record()
    {
        bad = tmp.resolve("bad");
        good = tmp.resolve("good");
        rec = pal("record", "--scenario", "lego-python", "--kernel", "lego-2018-03-08", "--keyframe-every", "400000", "-o", bad.toString());
        recGood = pal("record", "--scenario", "lego-python", "--kernel", "lego-2018-03-08-fix", "-o", good.toString());
    }

    @Test
    void theConsoleShowsTheDiarysOopsAfterMprotect()
    {
        assertEquals(1, rec.rc(), rec.toString());
        final String out = rec.out();
        final int bug = out.indexOf("BUG: unable to handle kernel paging request at ffff8");
        assertTrue(bug > 0, out);
        final String after = out.substring(bug);
        assertTrue(after.contains("IP: [<") && after.contains("pcache_handle_fault+0x60/0x6c0"), out);
        assertTrue(after.contains("Oops: 0000 [#1] SMP PROCESSOR") && after.contains("comm: python"), out);
        assertTrue(after.contains("page_fault+") && after.contains("python:main+0x80"), out);
        // The last thing before the oops is hello_world.py's mprotect (SYSC_mprotect's lines), not its print.
        final String before = out.substring(0, bug);
        final int mprotect = before.lastIndexOf("SYSC_mprotect() cpu(");
        assertTrue(mprotect > 0 && !before.contains("hello world"), before);
        assertTrue(before.substring(mprotect).contains("prot:0x1"), before);
    }

    @Test
    void theInvariantBisectStopsAtTheCopyLongBeforeTheFaultAndTellsThePagesLife()
    {
        final Result b = pal("bisect", bad.toString(), "--invariant", "page-tables");
        assertEquals(1, b.rc(), b.toString());
        final String out = b.out();
        final Matcher m = Pattern.compile("first fails at event #(\\d+)").matcher(out);
        assertTrue(m.find(), out);
        final long write = Long.parseLong(m.group(1));
        assertTrue(Pattern.compile("\\(the level-[23] table for 0 of mm").matcher(out).find(), out);
        assertTrue(out.contains("pc=pcache_evict_line+0x80/0x180 store.8"), out);
        // The page's life: a victim page (allocated by an eviction), freed by mprotect's release,
        // allocated again by the fault path's pud_alloc and linked into the pgd; then the copy.
        final int hist = out.indexOf("before the write (oldest first):");
        assertTrue(hist > 0, out);
        final int end = out.indexOf("later writes", hist);
        final String life = out.substring(hist, end > 0 ? end : out.length());
        final int victim = life.indexOf("allocated by __alloc_pages+0x65/0x180 <- pcache_evict_line+");
        final int free = life.indexOf("freed by __free_pages+0x4/0x140 <- victim_release_range+");
        final int alloc = life.indexOf("allocated by __alloc_pages+0x65/0x180 <- pcache_handle_fault+", Math.max(free, 0));
        final int link = life.indexOf("linked into a page table", Math.max(alloc, 0));
        assertTrue(victim >= 0 && free > victim && alloc > free && link > alloc, life);
        assertTrue(life.contains("SYSC_mprotect"), life);
        // Checking every write from event 0 (no keyframe search) stops at the same write.
        final Result linear = pal("bisect", bad.toString(), "--invariant", "page-tables", "--linear");
        assertEquals(1, linear.rc(), linear.toString());
        assertTrue(linear.out().contains("first fails at event #" + write + " "), linear.out());
        // The oops comes far later (hundreds of thousands of events with the default 4 rounds).
        final Result d = pal("dump", bad.toString(), "--kind", "mark", "--node", "0");
        final Matcher o = Pattern.compile("#(\\d+) cpu\\d+ [^\\n]* mark oops").matcher(d.out());
        assertTrue(o.find(), "no oops mark");
        final long oops = Long.parseLong(o.group(1));
        assertTrue(oops - write > 300_000, write + " .. " + oops);
    }

    @Test
    void analyzeNamesTheStaleWriteAndLinksTheOops()
    {
        final Result a = pal("analyze", bad.toString());
        assertEquals(1, a.rc(), a.toString());
        final String first = a.out().lines().filter(l -> l.startsWith("verdict:")).findFirst().orElse("");
        assertTrue(first.startsWith("verdict: page-reuse: pcache_evict_line into page "), a.out());
        assertTrue(first.contains("freed by __free_pages <- victim_release_range <- SYSC_mprotect and reused as a page table"), first);
        assertTrue(first.contains("it led to: oops at ffff8") && first.contains("in pcache_handle_fault+0x60/0x6c0"), first);
        assertTrue(a.out().contains("write through a stale reference to page"), a.out());
        assertTrue(a.out().contains("(a page-table entry: __va("), a.out());
    }

    @Test
    void theFixedKernelIsCleanAndThePatchBisectNamesTheBug()
    {
        assertEquals(0, recGood.rc(), recGood.toString());
        assertTrue(recGood.out().contains("hello world"), recGood.out());
        final Result a = pal("analyze", good.toString());
        assertEquals(0, a.rc(), a.toString());
        assertTrue(a.out().contains("verdict: clean"), a.out());
        final Result inv = pal("bisect", good.toString(), "--invariant", "page-tables", "--linear");
        assertEquals(0, inv.rc(), inv.toString());
        final Result b = pal("bisect", "--scenario", "lego-python", "--good", "lego-2018-03-01-fix", "--bad", "lego-2018-03-08");
        assertEquals(0, b.rc(), b.toString());
        assertTrue(b.out().contains("first bad patch: lego-victim-page-alloc"), b.out());
    }
}
