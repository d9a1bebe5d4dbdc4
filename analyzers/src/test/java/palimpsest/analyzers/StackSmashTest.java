package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.stack.StackSmash;
import palimpsest.kernel.Layout;
import palimpsest.trace.Reg;

class StackSmashTest
{
    static final long STACK = Layout.PAGE_OFFSET + 0x500000L + 0x1000;

    @TempDir
    Path dir;

    private static List<Finding> smashes(final Analysis.Result r)
    {
        return r.findings.stream().filter(f -> f.analyzer.equals(StackSmash.NAME)).collect(Collectors.toList());
    }

    /** memcpy (frame at STACK) called by overflow_fn (frame at STACK+0x40) called by caller_fn, called by worker. */
    static void chain(final HandMade h)
    {
        h.frames(0, STACK, Kfn.pc("overflow_fn", 0x20), Kfn.pc("caller_fn", 0x10), Kfn.pc("worker", 0x8));
        h.reg(0, Reg.SP, STACK - 0x20);
    }

    @Test
    void aCopyRunningOverTheCallersReturnAddressIsAStackOutOfBoundsNamingTheWriter()
    {
        final Path t = dir.resolve("smash");
        try (HandMade h = new HandMade(t))
        {
            chain(h);
            for (long a = STACK + 0x10; a < STACK + 0x50; a += 8)
            {
                h.store(0, Kfn.pc("memcpy", 0x10), a, Layout.pa(a), 8, 0x4141414141414141L, a == STACK + 0x48 ? Kfn.pc("caller_fn", 0x10) : 0);
            }
        }
        final List<Finding> f = smashes(Kfn.analyze(t));
        assertEquals(1, f.size(), f::toString);
        final String rep = f.get(0).report;
        assertTrue(rep.startsWith("BUG: KASAN: stack-out-of-bounds in memcpy+0x10/0x100\n"), rep);
        assertTrue(rep.contains("Write of size 8 at addr " + palimpsest.analyzers.core.Symbols.hex16(STACK + 0x40)), rep);
        assertTrue(rep.contains("saved frame pointer of the frame of overflow_fn (1 frame(s) up the call chain)"), rep);
        assertTrue(rep.contains(" memcpy+0x10/0x100\n overflow_fn+0x20/0x100\n caller_fn+0x10/0x100"), rep);
        assertTrue(rep.contains("(1 more stores from this pc"), rep);
        assertEquals("memcpy", f.get(0).culprit);
    }

    @Test
    void localsPushesAndSlotsOfReturnedFramesAreNotReported()
    {
        final Path t = dir.resolve("clean");
        try (HandMade h = new HandMade(t))
        {
            chain(h);
            h.store(0, Kfn.pc("memcpy", 0x10), STACK - 0x10, 8, 1); // below fp: a push or a local
            h.store(0, Kfn.pc("memcpy", 0x14), STACK + 0x50, 8, 2); // the caller's local, not a slot
            h.reg(0, Reg.FP, STACK + 0x80).reg(0, Reg.SP, STACK + 0x80); // two returns
            h.store(0, Kfn.pc("worker", 0x10), STACK + 0x48, 8, 3); // a dead frame's slot
            h.store(1, Kfn.pc("worker", 0x10), STACK + 0x88, 8, 4); // another cpu (no stack of its own here)
        }
        final List<Finding> f = smashes(Kfn.analyze(t));
        assertEquals(0, f.size(), f::toString);
    }

    /**
     * A noreturn path rebuilding a context over its own dead frames (Akaros proc_restartcore
     * copying the user context to the stack top, then SP and FP onto it for the iret): the frames
     * are never returned through, so the stores were no overflow.
     */
    @Test
    void framesOverwrittenThenAbandonedWithoutReturningAreNotReported()
    {
        final Path t = dir.resolve("abandoned");
        try (HandMade h = new HandMade(t))
        {
            chain(h);
            for (long a = STACK - 0x10; a < STACK + 0x50; a += 8)
            {
                h.store(0, Kfn.pc("memcpy", 0x40), a, Layout.pa(a), 8, 0x3, 0);
            }
            h.reg(0, Reg.SP, STACK - 0x10).reg(0, Reg.FP, STACK - 0x8); // onto the rebuilt context
        }
        assertEquals(0, smashes(Kfn.analyze(t)).size());
    }

    /** The same overwrite, then the frame returns through its smashed slot: reported. */
    @Test
    void aSmashedFrameReturnedThroughIsReported()
    {
        final Path t = dir.resolve("returned");
        try (HandMade h = new HandMade(t))
        {
            chain(h);
            h.store(0, Kfn.pc("memcpy", 0x10), STACK, Layout.pa(STACK), 8, 0x3, 0);
            h.load(0, Kfn.pc("memcpy", 0x7c), STACK, 8, 0x3);
            h.reg(0, Reg.FP, 0x3);
        }
        final List<Finding> f = smashes(Kfn.analyze(t));
        assertEquals(1, f.size(), f::toString);
        assertTrue(f.get(0).title.contains("stack-out-of-bounds in memcpy"), f.get(0).title);
    }
}
