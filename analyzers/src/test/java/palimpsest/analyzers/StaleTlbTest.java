package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.tlb.StaleTlb;
import palimpsest.emulator.Cpu;
import palimpsest.emulator.Paging;
import palimpsest.kernel.Layout;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;

class StaleTlbTest
{
    static final long ROOT = 0x100000;
    static final long UVA = 0x610000;
    static final long FRAME = 0x7fe3000;
    static final long PTE_PA = ROOT + 0x3000 + Paging.index(UVA, 1) * 8L;
    static final long RW = FRAME | Paging.P | Paging.W | Paging.U;
    static final long RO = FRAME | Paging.P | Paging.U;
    static final long STACK = Layout.PAGE_OFFSET + 0x500000L;

    @TempDir
    Path dir;

    /** A 4-level walk of UVA through tables at ROOT, ROOT+0x1000.., leaf = pte. */
    static void walk(final HandMade h, final int cpu, final long pc, final long va, final long pte)
    {
        for (int level = 4; level >= 1; level--)
        {
            final long table = ROOT + (4 - level) * 0x1000L;
            final long value = level == 1 ? pte : (table + 0x1000) | Paging.P | Paging.W | Paging.U;
            h.w.access(EventKind.WALK, cpu, ++h.icount, pc, va, table + Paging.index(va, level) * 8L, 8, value, 0);
        }
    }

    static void userWrite(final HandMade h, final int cpu, final long value, final long old)
    {
        h.w.access(EventKind.STORE, cpu, ++h.icount, Kfn.pc("user_main", 0x10), UVA, FRAME, 1, value, old);
    }

    /** cpu 0 caches UVA writable, then dup_mm's copy path write-protects the pte on cpu 0. */
    static void cachedThenWriteProtected(final HandMade h)
    {
        h.reg(0, Reg.CR3, ROOT);
        walk(h, 0, Kfn.pc("user_main", 0x10), UVA, RW);
        userWrite(h, 0, 0x30, 0);
        h.frames(0, STACK, Kfn.pc("copy_page_range", 0x45), Kfn.pc("dup_mm", 0x4f), Kfn.pc("do_fork", 0x45));
        h.store(0, Kfn.pc("set_pte_at", 4), Layout.va(PTE_PA), PTE_PA, 8, RO, RW);
        h.reg(0, Reg.FP, 0);
    }

    /** cpu1 caches UVA writable, then cpu0 clears its pte (no flush yet): cpu1's entry is stale. */
    static void cpu1CachesThenCpu0Unmaps(final HandMade h)
    {
        h.reg(1, Reg.CR3, ROOT);
        walk(h, 1, Kfn.pc("user_main", 0x10), UVA, RW);
        h.store(0, Kfn.pc("set_pte_at", 4), Layout.va(PTE_PA), PTE_PA, 8, 0, RW);
    }

    private static List<Finding> tlb(final Analysis.Result r)
    {
        return r.findings.stream().filter(f -> f.analyzer.equals(StaleTlb.NAME)).collect(Collectors.toList());
    }

    @Test
    void aWriteThroughAnEntryWhosePteWasWriteProtectedNamesThePteWriter()
    {
        final Path t = dir.resolve("wp");
        try (HandMade h = new HandMade(t))
        {
            cachedThenWriteProtected(h);
            userWrite(h, 0, 0x31, 0x30);
            userWrite(h, 0, 0x32, 0x31);
        }
        final List<Finding> f = tlb(Kfn.analyze(t));
        assertEquals(1, f.size(), f::toString);
        final String rep = f.get(0).report;
        assertTrue(f.get(0).title.contains("cpu0 wrote through a write-protected translation of 610000"), f.get(0).title);
        assertTrue(f.get(0).title.contains("set_pte_at <- copy_page_range <- dup_mm <- do_fork"), f.get(0).title);
        assertTrue(rep.contains("BUG: stale TLB: write through a write-protected translation in user_main+0x10/0x100"), rep);
        assertTrue(rep.contains("wrote 0x31 over 0x30"), rep);
        assertTrue(rep.contains(" set_pte_at+0x4/0x100\n copy_page_range+0x45/0x100\n dup_mm+0x4f/0x100"), rep);
        assertTrue(rep.contains("(1 more accesses"), rep);
    }

    @Test
    void aFlushedEntryAReadAndARefilledEntryAreNotReported()
    {
        final Path t = dir.resolve("clean");
        try (HandMade h = new HandMade(t))
        {
            cachedThenWriteProtected(h);
            h.w.access(EventKind.LOAD, 0, ++h.icount, Kfn.pc("user_main", 0x14), UVA, FRAME, 1, 0x30, 0); // reads stay right
            h.w.event(EventKind.REG, 0, ++h.icount, Kfn.pc("flush_tlb_page", 8), Cpu.REG_INVLPG, UVA, 0);
            walk(h, 0, Kfn.pc("user_main", 0x10), UVA, RO);
            h.event(EventKind.EXCEPTION, 0, Kfn.pc("user_main", 0x10), Paging.VEC_PF, 7, UVA); // COW fault: fine
            // cpu 1 caches, the pte is write-protected, cpu 1 reloads CR3 (a shootdown's flush) and writes: fine
            h.reg(1, Reg.CR3, ROOT);
            walk(h, 1, Kfn.pc("user_main", 0x10), UVA, RW);
            h.store(0, Kfn.pc("set_pte_at", 4), Layout.va(PTE_PA), PTE_PA, 8, RO, RW);
            h.reg(1, Reg.CR3, ROOT);
            walk(h, 1, Kfn.pc("user_main", 0x10), UVA, RO);
        }
        final List<Finding> f = tlb(Kfn.analyze(t));
        assertEquals(0, f.size(), f::toString);
    }

    @Test
    void anAccessThroughAnUnmappedEntryOnAnotherCpuIsReported()
    {
        final Path t = dir.resolve("unmap");
        try (HandMade h = new HandMade(t))
        {
            cpu1CachesThenCpu0Unmaps(h);
            // The frame's next owner writes it; cpu1's stale entry still reaches it.
            h.store(0, Kfn.pc("memcpy", 8), Layout.va(FRAME + 8), FRAME + 8, 8, 0, 0x99);
            h.w.access(EventKind.LOAD, 1, ++h.icount, Kfn.pc("user_main", 0x14), UVA + 8, FRAME + 8, 8, 0, 0);
        }
        final List<Finding> f = tlb(Kfn.analyze(t));
        assertEquals(1, f.size(), f::toString);
        assertTrue(f.get(0).title.contains("cpu1 read through an unmapped translation of 610000"), f.get(0).title);
        assertTrue(f.get(0).report.contains("on cpu0"), f.get(0).report);
    }

    @Test
    void aReadThroughAnEntryRemappedThenUnmappedIsReported()
    {
        // The entry went stale by the remap; the later clear makes no new change for it, so no
        // record of the frame's stores since: the read cannot be shown harmless and is reported.
        final Path t = dir.resolve("remap-unmap");
        try (HandMade h = new HandMade(t))
        {
            h.reg(1, Reg.CR3, ROOT);
            walk(h, 1, Kfn.pc("user_main", 0x10), UVA, RW);
            h.store(0, Kfn.pc("set_pte_at", 4), Layout.va(PTE_PA), PTE_PA, 8, (FRAME + 0x1000) | Paging.P | Paging.W | Paging.U, RW);
            h.store(0, Kfn.pc("set_pte_at", 4), Layout.va(PTE_PA), PTE_PA, 8, 0, (FRAME + 0x1000) | Paging.P | Paging.W | Paging.U);
            h.w.access(EventKind.LOAD, 1, ++h.icount, Kfn.pc("user_main", 0x14), UVA + 8, FRAME + 8, 8, 0x99, 0);
        }
        final List<Finding> f = tlb(Kfn.analyze(t));
        assertEquals(1, f.size(), f::toString);
        assertTrue(f.get(0).title.contains("cpu1 read through an unmapped translation of 610000"), f.get(0).title);
    }

    @Test
    void anAccessThroughAnUnmappedEntryOfAFrameNobodyUsedSinceIsNot()
    {
        // The window of a correct shootdown: cpu0 cleared the pte and its IPI is on the way; cpu1
        // reads what the translation gave while it was valid, or writes where a write just before
        // the change would have gone (cpu0 copies the frame out, or frees it, only after the flush).
        final Path t = dir.resolve("window");
        try (HandMade h = new HandMade(t))
        {
            cpu1CachesThenCpu0Unmaps(h);
            h.w.access(EventKind.LOAD, 1, ++h.icount, Kfn.pc("user_main", 0x14), UVA + 8, FRAME + 8, 8, 0x99, 0);
            h.w.access(EventKind.STORE, 1, ++h.icount, Kfn.pc("user_main", 0x18), UVA + 8, FRAME + 8, 8, 0x5, 0x99);
            h.w.access(EventKind.LOAD, 1, ++h.icount, Kfn.pc("user_main", 0x1c), UVA + 8, FRAME + 8, 8, 0x5, 0);
        }
        assertEquals(0, tlb(Kfn.analyze(t)).size());
    }

    @Test
    void aWriteThroughAnUnmappedEntryAfterTheFrameWasCopiedOutOrReusedIs()
    {
        // cpu0 copied the frame out (its load) before cpu1's write: the write is lost.
        cpu1WritesAfterCpu0("copied", EventKind.LOAD, Kfn.pc("memcpy", 0x10), FRAME + 8, 0x99, 0);
        // cpu0 reused the frame (its store) before cpu1's write: the write lands in another owner's bytes.
        cpu1WritesAfterCpu0("reused", EventKind.STORE, Kfn.pc("memcpy", 0x20), FRAME + 16, 0, 0x77);
    }

    /** cpu1's write through the entry cpu0 unmapped, after cpu0's access to the frame: one finding. */
    private void cpu1WritesAfterCpu0(final String name, final int kind, final long pc, final long pa, final long value, final long old)
    {
        final Path t = dir.resolve(name);
        try (HandMade h = new HandMade(t))
        {
            cpu1CachesThenCpu0Unmaps(h);
            h.w.access(kind, 0, ++h.icount, pc, Layout.va(pa), pa, 8, value, old);
            h.w.access(EventKind.STORE, 1, ++h.icount, Kfn.pc("user_main", 0x14), UVA + 8, FRAME + 8, 8, 0x5, 0x99);
        }
        final List<Finding> f = tlb(Kfn.analyze(t));
        assertEquals(1, f.size(), () -> name + ": " + f);
        assertTrue(f.get(0).title.contains("cpu1 wrote through an unmapped translation"), f.get(0).title);
    }

    @Test
    void theBareMetalTlbStaleScenarioIsReportedAndItsFlushedUseIsNot()
    {
        final List<Finding> bad = tlb(Kfn.recordAndAnalyze(dir.resolve("bad"), "tlb-stale", Long.MAX_VALUE, Map.of()));
        assertEquals(2, bad.size(), bad::toString); // remapped to the second frame, then back
        assertTrue(bad.get(0).title.contains("cpu0 read through a remapped translation of 40000ff000"), bad.get(0).title);
        assertTrue(bad.get(0).report.contains("tlb_stale_main+0x180/0x800"), bad.get(0).report);
        // invlpg=1 flushes after the first change; the second (undone by a CR3 reload only later) stays stale by design
        final List<Finding> flushed = tlb(Kfn.recordAndAnalyze(dir.resolve("good"), "tlb-stale", Long.MAX_VALUE, Map.of("invlpg", "1")));
        assertEquals(1, flushed.size(), flushed::toString);
        assertTrue(flushed.get(0).report.contains("changed to 0000000000150003"), flushed.get(0).report);
    }

    @Test
    void forkCowWithoutTheForkFlushNamesDupMmsWriteProtect()
    {
        final List<Finding> f = tlb(Kfn.recordAndAnalyze(dir.resolve("fork"), "fork-cow", 6_000_000, Map.of(), "-fork-flush-tlb"));
        assertEquals(1, f.size(), f::toString);
        assertTrue(f.get(0).title.contains("wrote through a write-protected translation"), f.get(0).title);
        assertTrue(f.get(0).title.contains("set_pte_at <- copy_page_range <- dup_mm"), f.get(0).title);
        final List<Finding> good = tlb(Kfn.recordAndAnalyze(dir.resolve("forkgood"), "fork-cow", 6_000_000, Map.of()));
        assertEquals(0, good.size(), good::toString);
    }
}
