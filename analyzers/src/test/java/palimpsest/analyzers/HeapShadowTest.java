package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.kernel.Layout;

class HeapShadowTest
{
    static final long OBJ = Layout.PAGE_OFFSET + 0x7ff9088L;
    static final long STACK = Layout.PAGE_OFFSET + 0x500000L;

    @TempDir
    Path dir;

    private Analysis.Result analyze(final Path trace)
    {
        return Analysis.run(trace, HandMade.SYMBOLS, null, java.util.List.of("heap"));
    }

    @Test
    void aWriteIntoAFreedObjectIsAUseAfterFreeWithKfencesCorruptedLine()
    {
        final Path t = dir.resolve("uaf");
        try (HandMade h = new HandMade(t))
        {
            h.cacheName(5, "dentry");
            h.frames(0, STACK, HandMade.pc("d_alloc", 0x10), HandMade.pc("cpu_up", 0x20));
            h.alloc(0, OBJ, 5, 64).store(0, HandMade.pc("d_alloc", 0x14), OBJ + 24, 8, 0x1234);
            h.free(1, OBJ, 5, 64);
            h.frames(1, STACK + 0x1000, HandMade.pc("alternatives_smp_lock", 0x10), HandMade.pc("alternatives_smp_switch", 0x10));
            h.store(1, HandMade.pc("text_poke", 0x30), OBJ + 5, 1, 0xf0);
            h.store(1, HandMade.pc("text_poke", 0x30), OBJ + 6, 1, 0xf0); // same object: reported once
        }
        final Analysis.Result r = analyze(t);
        assertEquals(1, r.findings.size(), () -> r.findings.toString());
        final String rep = r.findings.get(0).report;
        assertTrue(rep.contains("BUG: KASAN: slab-use-after-free in text_poke+0x30/0x100"), rep);
        assertTrue(rep.contains("Write of size 1 at addr " + Long.toHexString(OBJ + 5)), rep);
        assertTrue(rep.contains("Allocated by task 0 on cpu0"), rep);
        assertTrue(rep.contains(" d_alloc+0x10/0x100"), rep);
        assertTrue(rep.contains("Freed by task 0 on cpu1"), rep);
        assertTrue(rep.contains("which belongs to the cache dentry of size 64"), rep);
        assertTrue(rep.contains("5 bytes inside of"), rep);
        assertTrue(rep.contains("Corrupted memory at 0x" + Long.toHexString(OBJ + 5) + " [ 0xf0 . . ."), rep);
        assertTrue(rep.contains(" alternatives_smp_lock+0x10/0x100\n alternatives_smp_switch+0x10/0x100"), rep);
    }

    @Test
    void theAllocatorsOwnWritesAndAReallocatedObjectAreNotReported()
    {
        final Path t = dir.resolve("clean");
        try (HandMade h = new HandMade(t))
        {
            h.alloc(0, OBJ, 5, 64).store(0, HandMade.pc("d_alloc", 0x14), OBJ, 8, 1);
            h.free(0, OBJ, 5, 64); // poison and free pointer by kmem_cache_free
            h.load(0, HandMade.pc("kmem_cache_alloc", 0x60), OBJ + 64, 8, 0); // freelist walk
            h.alloc(1, OBJ, 5, 64).store(1, HandMade.pc("d_alloc", 0x14), OBJ + 5, 1, 0xf0).load(1, HandMade.pc("__d_lookup", 4), OBJ, 8, 1);
        }
        final Analysis.Result r = analyze(t);
        assertEquals(0, r.findings.size(), () -> r.findings.toString());
    }

    @Test
    void doubleAndInvalidFreesAndOutOfBounds()
    {
        final Path t = dir.resolve("frees");
        try (HandMade h = new HandMade(t))
        {
            h.alloc(0, OBJ, 5, 64).free(0, OBJ, 5, 64);
            h.mark(0, HandMade.pc("kmem_cache_free", 0x20), palimpsest.kernel.Mark.SLAB_FREE, OBJ, 5L << 32 | 64);
            h.mark(0, HandMade.pc("kmem_cache_free", 0x20), palimpsest.kernel.Mark.SLAB_FREE, OBJ + 0x400, 5L << 32 | 64);
            h.alloc(0, OBJ + 0x48, 5, 64).load(0, HandMade.pc("__d_lookup", 8), OBJ + 0x48 + 64, 8, 0);
        }
        final Analysis.Result r = analyze(t);
        assertEquals(3, r.findings.size(), () -> r.findings.toString());
        assertTrue(r.findings.get(0).report.contains("BUG: KASAN: double-free in kmem_cache_free+0x20/0x100"));
        assertTrue(r.findings.get(1).report.contains("BUG: KASAN: invalid-free"));
        assertTrue(r.findings.get(2).report.contains("BUG: KASAN: slab-out-of-bounds in __d_lookup+0x8/0x100"), r.findings.get(2).report);
        assertTrue(r.findings.get(2).report.contains("0 bytes to the right of"), r.findings.get(2).report);
    }

    @Test
    void aWriteIntoTheSlackPastTheRequestedSizeIsOutOfBoundsWithSlubsRightRedzoneLine()
    {
        final Path t = dir.resolve("slack");
        try (HandMade h = new HandMade(t))
        {
            h.cacheName(2, "kmalloc-64");
            h.frames(0, STACK, HandMade.pc("d_alloc", 0x10));
            h.alloc(0, OBJ, 2, 64).mark(0, HandMade.pc("d_alloc", 0x8), palimpsest.kernel.Mark.KMALLOC, OBJ, 40);
            h.store(0, HandMade.pc("d_alloc", 0x14), OBJ + 32, 8, 1); // the last requested word: fine
            h.store(0, HandMade.pc("__d_lookup", 0x20), OBJ + 40, 8, 0x41); // one word past kmalloc(40)
            h.alloc(1, OBJ + 64, 2, 64).mark(1, HandMade.pc("d_alloc", 0x8), palimpsest.kernel.Mark.KMALLOC, OBJ + 64, 64);
            h.store(1, HandMade.pc("d_alloc", 0x14), OBJ + 64 + 56, 8, 1); // kmalloc(64): all of it is the caller's
        }
        final Analysis.Result r = analyze(t);
        assertEquals(1, r.findings.size(), () -> r.findings.toString());
        final String rep = r.findings.get(0).report;
        assertTrue(rep.contains("BUG: KASAN: slab-out-of-bounds in __d_lookup+0x20/0x100"), rep);
        assertTrue(rep.contains("The buggy address is located 0 bytes to the right of\n allocated 40-byte region"), rep);
        assertTrue(rep.contains("BUG kmalloc-64 (Not tainted): Right Redzone overwritten"), rep);
        assertTrue(rep.contains("@offset=40. First byte 0x41 instead of the redzone (bytes 40..63 of the object)"), rep);
        assertEquals("__d_lookup", r.findings.get(0).culprit);
    }
}
