package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.trace.EventKind;

/** KMSAN-style uninitialised use on hand-made traces: what must be reported and what must not. */
class UninitShadowTest
{
    static final long OBJ = Layout.PAGE_OFFSET + 0x7ff9000L;
    static final long STACK = Layout.PAGE_OFFSET + 0x500000L;
    static final long TARGET = Layout.PAGE_OFFSET + 0x123000L;

    @TempDir
    Path dir;

    /** d_alloc kmallocs 96 bytes of a 128-byte object; optionally zeroes or writes the pointer at +40; __d_lookup loads and dereferences it. */
    private Path record(final String name, final boolean kzalloc, final boolean written, final long leftover)
    {
        final Path t = dir.resolve(name);
        try (HandMade h = new HandMade(t))
        {
            h.cacheName(3, "kmalloc-128");
            // The previous owner leaves its word at +40, then frees the object without poisoning it.
            h.alloc(0, OBJ, 3, 128).store(0, HandMade.pc("cpu_up", 0x10), OBJ + 40, 8, leftover);
            h.mark(0, HandMade.pc("kmem_cache_free", 0x20), Mark.SLAB_FREE, OBJ, 3L << 32 | 128);
            h.frames(0, STACK, HandMade.pc("d_alloc", 0x10), HandMade.pc("cpu_up", 0x20));
            h.alloc(0, OBJ, 3, 128).mark(0, HandMade.pc("d_alloc", 0x8), Mark.KMALLOC, OBJ, 96);
            if (kzalloc)
            {
                for (int i = 0; i < 96; i += 8)
                {
                    h.store(0, HandMade.pc("d_alloc", 0xc), OBJ + i, 8, 0);
                }
            }
            if (written)
            {
                h.store(0, HandMade.pc("d_alloc", 0x14), OBJ + 40, 8, TARGET);
            }
            h.frames(0, STACK + 0x200, HandMade.pc("cpu_up", 0x30));
            final long v = kzalloc && !written ? 0 : written ? TARGET : leftover;
            h.load(0, HandMade.pc("__d_lookup", 0x40), OBJ + 40, 8, v);
            if (v != 0)
            {
                h.load(0, HandMade.pc("__d_lookup", 0x44), v + 0x10, 8, 7);
            }
        }
        return t;
    }

    @Test
    void aLeftoverPointerNeverWrittenSinceKmallocIsReportedWithItsOriginAndThePreviousOwner()
    {
        final Analysis.Result r = Analysis.run(record("uninit", false, false, TARGET), HandMade.SYMBOLS, null, List.of("kmsan"));
        assertEquals(1, r.findings.size(), () -> r.findings.toString());
        final Finding f = r.findings.get(0);
        assertEquals(Finding.Role.CAUSE, f.role);
        assertEquals("uninit-value", f.bugClass);
        assertEquals("d_alloc's kmalloc", f.culprit);
        final String rep = f.report;
        assertTrue(rep.contains("BUG: KMSAN: uninit-value in __d_lookup+0x44/0x100\n __d_lookup+0x44/0x100\n cpu_up+0x30/0x100"), rep);
        assertTrue(rep.contains("Uninit was created at:\n kmem_cache_alloc+0x65/0x100\n d_alloc+0x10/0x100\n cpu_up+0x20/0x100"), rep);
        assertTrue(rep.contains("Bytes 40-47 of 96 are uninitialized (kmalloc(96) from the kmalloc-128 cache)"), rep);
        assertTrue(rep.contains("The bytes: 00 30 12 00 00 88 ff ff"), rep);
        assertTrue(rep.contains("used as an address"), rep);
        assertTrue(rep.contains("They are the previous owner's leftover, last written at event"), rep);
        assertTrue(rep.contains("The previous owner: a kmalloc-128 object allocated by"), rep);
    }

    @Test
    void aKzallocedOrWrittenFieldIsNotReported()
    {
        assertEquals(0, Analysis.run(record("kzalloc", true, false, TARGET), HandMade.SYMBOLS, null, ScribbleStoryTest.STORY).findings.size());
        assertEquals(0, Analysis.run(record("written", false, true, TARGET), HandMade.SYMBOLS, null, ScribbleStoryTest.STORY).findings.size());
    }

    @Test
    void anUninitialisedValueThatIsOnlyCopiedIsNotReported()
    {
        final Path t = dir.resolve("copy");
        try (HandMade h = new HandMade(t))
        {
            h.alloc(0, OBJ, 3, 128);
            h.load(0, HandMade.pc("d_alloc", 0x40), OBJ + 40, 8, TARGET);
            h.store(0, HandMade.pc("d_alloc", 0x44), STACK + 0x100, 8, TARGET);
            for (int i = 0; i < 20; i++)
            {
                h.load(0, HandMade.pc("d_alloc", 0x48), STACK + 0x800 + i * 8, 8, i);
            }
            // Far outside the use window: a later access near the copied value is not a use of it.
            h.load(0, HandMade.pc("__d_lookup", 0x44), TARGET + 0x10, 8, 7);
        }
        assertEquals(0, Analysis.run(t, HandMade.SYMBOLS, null, ScribbleStoryTest.STORY).findings.size());
    }

    @Test
    void aFaultOnTheValueIsAUseAndMergesWithTheOopsStory()
    {
        final Path t = dir.resolve("fault");
        final long poison = 0x6b6b6b6b6b6b6b6bL;
        try (HandMade h = new HandMade(t))
        {
            h.frames(0, STACK, HandMade.pc("d_alloc", 0x10), HandMade.pc("cpu_up", 0x20));
            h.alloc(0, OBJ, 3, 128);
            h.frames(0, STACK + 0x200, HandMade.pc("cpu_up", 0x30));
            h.load(0, HandMade.pc("__d_lookup", 0x40), OBJ + 40, 8, poison);
            h.event(EventKind.EXCEPTION, 0, HandMade.pc("__d_lookup", 0x44), 13, 0, poison);
            // The kernel's OOPS mark for a #GP carries the last page fault's stale CR2.
            h.mark(0, HandMade.pc("page_fault", 0x60), Mark.OOPS, 0x7fffffffefc0L, HandMade.pc("__d_lookup", 0x44));
        }
        final Analysis.Result r = Analysis.run(t, HandMade.SYMBOLS, null, ScribbleStoryTest.STORY);
        assertEquals(2, r.findings.size(), () -> r.findings.toString());
        assertEquals(1, r.stories.size(), r.verdict);
        assertTrue(r.verdict.startsWith("verdict: uninit-value: d_alloc's kmalloc at event "), r.verdict);
        assertTrue(r.verdict.contains("; it led to: oops at 6b6b6b6b6b6b6b6b in __d_lookup+0x44/0x100 (general protection fault)"), r.verdict);
        final String oops = r.stories.get(0).symptom().report;
        assertTrue(oops.contains("general protection fault on the non-canonical address 6b6b6b6b6b6b6b6b (CR2 00007fffffffefc0 is the last"
            + " page fault's, not this one's)"), oops);
        assertTrue(oops.contains("X was not written since its allocation at event"), oops);
    }

    /** A kmalloc'ed (or kzalloc'ed) field loaded and then used as a branch condition or a length, as the kernel says with a VALUE_USE mark. */
    private Path recordUse(final String name, final int kind, final boolean kzalloc)
    {
        final Path t = dir.resolve(name);
        try (HandMade h = new HandMade(t))
        {
            h.cacheName(3, "kmalloc-128");
            h.frames(0, STACK, HandMade.pc("d_alloc", 0x10), HandMade.pc("cpu_up", 0x20));
            h.alloc(0, OBJ, 3, 128).mark(0, HandMade.pc("d_alloc", 0x8), Mark.KMALLOC, OBJ, 64);
            if (kzalloc)
            {
                for (int i = 0; i < 64; i += 8)
                {
                    h.store(0, HandMade.pc("d_alloc", 0xc), OBJ + i, 8, 0);
                }
            }
            h.frames(0, STACK + 0x200, HandMade.pc("cpu_up", 0x30));
            final long v = kzalloc ? 0 : 0x6b6b6b6b6b6b6b6bL;
            h.load(0, HandMade.pc("__d_lookup", 0x40), OBJ + 16, 8, v);
            h.mark(0, HandMade.pc("__d_lookup", 0x40), Mark.VALUE_USE, OBJ + 16, 8 | kind << 8);
            // A use of a copy far later, at an address nobody derived from it: nothing.
            h.load(0, HandMade.pc("__d_lookup", 0x48), STACK + 0x100, 8, 1);
        }
        return t;
    }

    @Test
    void anUninitialisedFieldUsedAsABranchConditionIsReportedAtTheBranchWithItsOrigin()
    {
        final Analysis.Result r = Analysis.run(recordUse("branch", palimpsest.kernel.Uses.BRANCH, false), HandMade.SYMBOLS, null, List.of("kmsan"));
        assertEquals(1, r.findings.size(), () -> r.findings.toString());
        final Finding f = r.findings.get(0);
        assertEquals("uninit-value", f.bugClass);
        assertEquals("d_alloc's kmalloc", f.culprit);
        final String rep = f.report;
        assertTrue(rep.contains("BUG: KMSAN: uninit-value in __d_lookup+0x40/0x100\n __d_lookup+0x40/0x100\n cpu_up+0x30/0x100"), rep);
        assertTrue(rep.contains("and used as a branch condition at event"), rep);
        assertTrue(rep.contains("Uninit was created at:\n kmem_cache_alloc+0x65/0x100\n d_alloc+0x10/0x100"), rep);
        assertTrue(rep.contains("Bytes 16-23 of 64 are uninitialized"), rep);
        assertTrue(rep.contains("The bytes: 6b 6b 6b 6b 6b 6b 6b 6b"), rep);
        assertTrue(f.title.contains("used as a branch condition; created by d_alloc's kmalloc"), f.title);
    }

    @Test
    void anUninitialisedFieldUsedAsALengthIsReported()
    {
        final Analysis.Result r = Analysis.run(recordUse("length", palimpsest.kernel.Uses.LENGTH, false), HandMade.SYMBOLS, null, List.of("kmsan"));
        assertEquals(1, r.findings.size(), () -> r.findings.toString());
        assertTrue(r.findings.get(0).report.contains("and used as a length at event"), r.findings.get(0).report);
    }

    @Test
    void aKzallocedFieldUsedAsABranchOrLengthIsNotReported()
    {
        assertEquals(0, Analysis.run(recordUse("zb", palimpsest.kernel.Uses.BRANCH, true), HandMade.SYMBOLS, null, List.of("kmsan")).findings.size());
        assertEquals(0, Analysis.run(recordUse("zl", palimpsest.kernel.Uses.LENGTH, true), HandMade.SYMBOLS, null, List.of("kmsan")).findings.size());
    }
}
