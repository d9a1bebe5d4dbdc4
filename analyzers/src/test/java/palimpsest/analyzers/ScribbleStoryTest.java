package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;

/**
 * The 0xf0 story in miniature, written by hand: text_poke, asked to patch a module's LOCK site,
 * writes through a temporary mapping into the physical page the buggy virt_to_page gave it, which
 * holds a live dentry; byte 5 of its d_hash.next becomes 0xf0 and __d_lookup faults on it.
 */
class ScribbleStoryTest
{
    /** The analyzers of this story (a hand-made trace has no locks: a race detector would see races everywhere). */
    static final java.util.List<String> STORY = java.util.List.of("heap", "code", "oops", "kmsan");

    static final long DENTRY = Layout.PAGE_OFFSET + 0x6000000L;
    static final long MODULE_SITE = Layout.MODULES_VADDR + 0x15;
    static final long MODULE_TEXT_PHYS = 0x300000;
    static final long GOOD_POINTER = Layout.PAGE_OFFSET + 0x6000400L;
    static final long BAD_POINTER = (GOOD_POINTER & ~(0xffL << 40)) | 0xf0L << 40;
    static final long FAULT = BAD_POINTER + 0x20;
    static final long STACK = Layout.PAGE_OFFSET + 0x500000L;

    @TempDir
    Path dir;

    private Path record(final boolean buggy)
    {
        final Path t = dir.resolve(buggy ? "bad" : "good");
        try (HandMade h = new HandMade(t))
        {
            h.cacheName(7, "dentry");
            h.frames(0, STACK, HandMade.pc("cpu_up", 0x10));
            h.alloc(0, DENTRY, 7, 192).store(0, HandMade.pc("d_alloc", 0x14), DENTRY + 0x10, 8, GOOD_POINTER);
            h.mark(0, HandMade.pc("cpu_up", 4), Mark.MODULE_LOAD, Layout.PAGE_OFFSET + 0x100000, Layout.MODULES_VADDR);
            h.fetch(0, HandMade.pc("cpu_up", 8), MODULE_SITE, MODULE_TEXT_PHYS + 0x15);
            h.mark(0, HandMade.pc("cpu_up", 8), Mark.SMP_LOCK_SITE, MODULE_SITE, 0);
            final long kernelSite = HandMade.pc("cpu_up", 0x40);
            h.mark(0, HandMade.pc("cpu_up", 8), Mark.SMP_LOCK_SITE, kernelSite, 0);
            h.frames(1, STACK + 0x1000, HandMade.pc("alternatives_smp_lock", 0x10), HandMade.pc("alternatives_smp_switch", 0x10),
                HandMade.pc("cpu_up", 0x20));
            // A good poke: core kernel text, at a registered site, written where it is mapped.
            h.mark(1, HandMade.pc("text_poke", 0), Mark.TEXT_POKE, kernelSite, 0xf0 | 1 << 8);
            h.store(1, HandMade.pc("text_poke", 0x30), kernelSite, HandMade.pa(kernelSite), 1, 0xf0, 0x3e);
            // The module site: the buggy kernel writes through a temporary mapping of the wrong page.
            h.mark(1, HandMade.pc("text_poke", 0), Mark.TEXT_POKE, MODULE_SITE, 0xf0 | 1 << 8);
            // text_poke calls a helper: the return address pushed on its own stack is no poke.
            final long sp = STACK + 0x1000 - 0x40;
            h.reg(1, Reg.SP, sp).store(1, HandMade.pc("text_poke", 0x8), sp, HandMade.pa(sp), 8, HandMade.pc("text_poke", 0xd), 0);
            if (buggy)
            {
                h.store(1, HandMade.pc("text_poke", 0x30), Layout.VMALLOC_START + 0x15, HandMade.pa(DENTRY) + 0x15, 1, 0xf0, 0x88);
                h.load(0, HandMade.pc("__d_lookup", 0x40), DENTRY + 0x10, 8, BAD_POINTER);
                h.event(EventKind.EXCEPTION, 0, HandMade.pc("__d_lookup", 0x44), 14, 0, FAULT);
                h.mark(0, HandMade.pc("page_fault", 0x10), Mark.OOPS, FAULT, HandMade.pc("__d_lookup", 0x44));
            }
            else
            {
                h.store(1, HandMade.pc("text_poke", 0x30), MODULE_SITE, MODULE_TEXT_PHYS + 0x15, 1, 0xf0, 0x3e);
                h.load(0, HandMade.pc("__d_lookup", 0x40), DENTRY + 0x10, 8, GOOD_POINTER);
            }
        }
        return t;
    }

    @Test
    void theBuggyPokeIsNamedAndLinkedToTheOops()
    {
        final Analysis.Result r = Analysis.run(record(true), HandMade.SYMBOLS, null, STORY);
        assertEquals(3, r.findings.size(), () -> r.findings.toString());
        assertEquals(1, r.stories.size(), "the poke, the differing byte's writer and the oops are one story");
        assertTrue(r.verdict.startsWith("verdict: code-write: text_poke <- alternatives_smp_lock at event " + r.findings.get(0).event
            + " [code]; it led to: oops at"), r.verdict);
        assertEquals("stray-write", r.findings.get(1).bugClass);
        final Finding code = r.findings.get(0);
        assertEquals("code", code.analyzer);
        assertTrue(code.title.contains("text_poke <- alternatives_smp_lock <- alternatives_smp_switch <- cpu_up"), code.title);
        assertTrue(code.title.contains("live dentry object " + Long.toHexString(DENTRY) + " +21"), code.title);
        assertTrue(code.report.contains("The writer meant to write 0xf0 at " + Long.toHexString(MODULE_SITE)), code.report);
        assertTrue(code.report.contains("is mapped at phys " + Long.toHexString(MODULE_TEXT_PHYS + 0x15)), code.report);
        final Finding oops = r.findings.get(2);
        assertEquals("oops", oops.analyzer);
        assertTrue(oops.report.contains("page fault at " + String.format("%016x", FAULT) + " (read, not-present page, kernel mode) by __d_lookup+0x44/0x100"), oops.report);
        assertTrue(oops.report.contains("was loaded by __d_lookup+0x40/0x100"), oops.report);
        assertTrue(oops.report.contains("[4] byte 5 of X written 0xf0 (was 0x88)"), oops.report);
        assertTrue(oops.report.contains("writer: text_poke <- alternatives_smp_lock <- alternatives_smp_switch <- cpu_up"), oops.report);
        assertTrue(oops.report.contains("bytes 0-7 of X written 0x" + Long.toHexString(GOOD_POINTER)), oops.report);
        assertTrue(oops.report.contains("the cache dentry of size 192"), oops.report);
    }

    @Test
    void aPokeStoreOffTheStackIsStillAPokeWhateverItsSize()
    {
        final Path t = dir.resolve("wide");
        try (HandMade h = new HandMade(t))
        {
            h.frames(1, STACK + 0x1000, HandMade.pc("alternatives_smp_lock", 0x10));
            h.reg(1, Reg.SP, STACK + 0x1000 - 0x40);
            h.mark(1, HandMade.pc("text_poke", 0), Mark.TEXT_POKE, HandMade.pc("cpu_up", 0x40), 0xf0 | 1 << 8);
            // An 8-byte store by text_poke into a data page, not its stack: reported, not taken for a push.
            h.store(1, HandMade.pc("text_poke", 0x30), DENTRY, HandMade.pa(DENTRY), 8, 0xf0, 0);
        }
        final Analysis.Result r = Analysis.run(t, HandMade.SYMBOLS, null, STORY);
        assertEquals(1, r.findings.size(), () -> r.findings.toString());
        assertTrue(r.findings.get(0).report.contains("text_poke wrote phys " + Long.toHexString(HandMade.pa(DENTRY))), r.findings.get(0).report);
    }

    @Test
    void theFixedPokeAndAGoodPokeAreClean()
    {
        final Analysis.Result r = Analysis.run(record(false), HandMade.SYMBOLS, null, STORY);
        assertEquals(0, r.findings.size(), () -> r.findings.toString());
    }

    @Test
    void whoWroteFindsThePokeThroughTheTemporaryMappingAndTheIndexIsKeptAndRebuilt() throws Exception
    {
        final Path t = record(true);
        final WhoWroteIndex idx = WhoWroteIndex.openOrBuild(t, null);
        final long phys = idx.translate(DENTRY + 0x10, Long.MAX_VALUE);
        assertEquals(HandMade.pa(DENTRY) + 0x10, phys);
        final List<WhoWroteIndex.Write> last = idx.writers(phys, 8, Long.MAX_VALUE, false);
        assertEquals(2, last.size());
        assertEquals(HandMade.pa(DENTRY) + 0x15, last.get(0).physAddr, "newest: the 1-byte poke at byte 5");
        assertEquals(1, last.get(0).size);
        assertEquals(8, last.get(1).size);
        assertEquals(1, idx.writers(phys, 8, last.get(0).event, false).size(), "before the poke only d_alloc wrote it");
        assertEquals(1, idx.writers(phys + 5, 1, Long.MAX_VALUE, false).size(), "last writer of byte 5 only");
        assertEquals(2, idx.writers(phys + 5, 1, Long.MAX_VALUE, true).size(), "--all: both writers of byte 5");
        final Path file = WhoWroteIndex.fileOf(t);
        final byte[] good = Files.readAllBytes(file);
        final byte[] bad = good.clone();
        bad[bad.length - 1] ^= 1;
        Files.write(file, bad);
        final WhoWroteIndex rebuilt = WhoWroteIndex.openOrBuild(t, null);
        assertEquals(2, rebuilt.writers(phys, 8, Long.MAX_VALUE, false).size());
        assertTrue(java.util.Arrays.equals(good, Files.readAllBytes(file)), "a damaged index is rebuilt, same bytes");
    }
}
