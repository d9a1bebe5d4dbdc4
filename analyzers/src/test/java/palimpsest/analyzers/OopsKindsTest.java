package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.emulator.Machine;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.trace.EventKind;

/** The oops chain for fault kinds other than the scribble's page fault, and its refusal to invent a lead. */
class OopsKindsTest
{
    static final long STACK = Layout.PAGE_OFFSET + 0x500000L;
    static final long OBJ = Layout.PAGE_OFFSET + 0x7ff9000L;

    @TempDir
    Path dir;

    @Test
    void aBugLongAfterAnOrdinaryUserFaultIsNotTiedToIt()
    {
        final Path t = dir.resolve("bug");
        final long userAddr = 0x400123L;
        try (HandMade h = new HandMade(t))
        {
            h.load(0, HandMade.pc("victim_user", 0x10), OBJ, 8, userAddr);
            h.event(EventKind.EXCEPTION, 0, userAddr, 14, 4, userAddr); // a demand-paging fault in user text
            for (int i = 0; i < 100; i++)
            {
                h.load(0, HandMade.pc("victim_user", 0x20), OBJ + 8, 8, i);
            }
            // BUG(): the OOPS mark carries the stale CR2 of that old fault and the BUG's own pc.
            h.mark(0, HandMade.pc("__d_lookup", 0x50), Mark.OOPS, userAddr, HandMade.pc("__d_lookup", 0x50));
            h.event(EventKind.IO, 0, HandMade.pc("__d_lookup", 0x50), Machine.POWER_PORT, 1, 1);
        }
        final Analysis.Result r = Analysis.run(t, HandMade.SYMBOLS, null, ScribbleStoryTest.STORY);
        assertEquals(1, r.findings.size(), () -> r.findings.toString());
        assertTrue(r.verdict.startsWith("verdict: oops (kernel BUG or unhandled fault) in __d_lookup+0x50/0x100 on cpu0 with no faulting access"
            + " to follow (event "), r.verdict);
        assertTrue(r.verdict.contains("; no cause found: no finding links it to an earlier event; checked: "), r.verdict);
        assertTrue(r.verdict.contains("kmsan: "), r.verdict);
        assertTrue(!r.findings.get(0).report.contains(Long.toHexString(userAddr)), r.findings.get(0).report);
    }

    @Test
    void aNullDerefAndABadIndirectCallAreNamedFromTheExceptionEvent()
    {
        final Path t = dir.resolve("null");
        try (HandMade h = new HandMade(t))
        {
            h.frames(0, STACK, HandMade.pc("cpu_up", 0x20));
            h.load(0, HandMade.pc("__d_lookup", 0x40), OBJ, 8, 0);
            h.event(EventKind.EXCEPTION, 0, HandMade.pc("__d_lookup", 0x44), 14, 0, 0x18);
            h.mark(0, HandMade.pc("page_fault", 0x60), Mark.OOPS, 0x18, HandMade.pc("__d_lookup", 0x44));
        }
        final Analysis.Result r = Analysis.run(t, HandMade.SYMBOLS, null, ScribbleStoryTest.STORY);
        final String rep = r.findings.get(r.findings.size() - 1).report;
        assertTrue(rep.contains("[1] fault: NULL pointer dereference at 0000000000000018 (read, not-present page, kernel mode) by "
            + "__d_lookup+0x44/0x100"), rep);
        assertTrue(r.verdict.contains("(NULL pointer dereference)"), r.verdict);
        assertTrue(r.verdict.contains("no cause found"), "nothing wrote the NULL: " + r.verdict);
    }

    @Test
    void aGarbageSavedFramePointerIsSaidWithItsWriter()
    {
        final Path t = dir.resolve("frame");
        try (HandMade h = new HandMade(t))
        {
            h.frames(0, STACK, HandMade.pc("cpu_up", 0x20), HandMade.pc("d_alloc", 0x20));
            // A stray store overwrites the innermost saved frame pointer with a lower address.
            h.store(0, HandMade.pc("text_poke", 0x30), STACK, 8, STACK - 0x1000);
            h.load(0, HandMade.pc("__d_lookup", 0x40), OBJ, 8, 0x6b6b6b6b6b6b6b6bL);
            h.event(EventKind.EXCEPTION, 0, HandMade.pc("__d_lookup", 0x44), 13, 0, 0x6b6b6b6b6b6b6b6bL);
            h.mark(0, HandMade.pc("page_fault", 0x60), Mark.OOPS, 0, HandMade.pc("__d_lookup", 0x44));
        }
        final Analysis.Result r = Analysis.run(t, HandMade.SYMBOLS, null, java.util.List.of("oops"));
        final String rep = r.findings.get(r.findings.size() - 1).report;
        assertTrue(rep.contains("the Call Trace cannot be walked past " + Long.toHexString(STACK) + ": its saved frame pointer is "), rep);
        assertTrue(rep.contains("that garbage was written at event ") && rep.contains(" by text_poke"), rep);
    }

    @Test
    void anUninitialisedFunctionPointerCalledIsACallTargetUseAndTheBacktracersOwnFaultIsSaid()
    {
        final Path t = dir.resolve("call");
        final long target = 0x0000000000a5a5a0L;
        try (HandMade h = new HandMade(t))
        {
            h.frames(0, STACK, HandMade.pc("d_alloc", 0x10), HandMade.pc("cpu_up", 0x20));
            h.alloc(0, OBJ, 3, 128);
            h.frames(0, STACK + 0x200, HandMade.pc("cpu_up", 0x30));
            h.load(0, HandMade.pc("__d_lookup", 0x40), OBJ + 16, 8, target); // ops->fault, never written
            // The indirect-call thunk probes its target: a not-present page.
            h.event(EventKind.EXCEPTION, 0, HandMade.pc("__x86_indirect_thunk", 0x4), 14, 0, target);
            h.mark(0, HandMade.pc("page_fault", 0x60), Mark.OOPS, target, HandMade.pc("__x86_indirect_thunk", 0x4));
            // The oops path walks a frame chain and faults itself.
            h.event(EventKind.EXCEPTION, 0, HandMade.pc("oops_begin", 0x20), 14, 0, 0xdead000L);
        }
        final Analysis.Result r = Analysis.run(t, HandMade.SYMBOLS, null, ScribbleStoryTest.STORY);
        assertEquals(1, r.stories.size(), () -> r.findings.toString());
        final Finding kmsan = r.stories.get(0).cause();
        assertEquals("uninit-value", kmsan.bugClass);
        assertTrue(kmsan.report.contains("and used as an indirect call target at event"), kmsan.report);
        final String oops = r.stories.get(0).symptom().report;
        assertTrue(oops.contains("a bad indirect call to 0000000000a5a5a0"), oops);
        assertTrue(oops.contains("then the oops path itself faulted at event ") && oops.contains(" in oops_begin+0x20/0x100 on 000000000dead000"), oops);
    }

    /** A ret that pops target from a slot d_alloc wrote (a ret's pop: 8 bytes at SP, then SP += 8, then the cpu runs at the value). */
    private Path ret(final String name, final long target)
    {
        final Path t = dir.resolve(name);
        final long slot = STACK + 0x100;
        final long retPc = HandMade.pc("__d_lookup", 0xfe);
        try (HandMade h = new HandMade(t))
        {
            h.frames(0, STACK, HandMade.pc("cpu_up", 0x20));
            h.reg(0, palimpsest.trace.Reg.SP, slot);
            h.store(0, HandMade.pc("d_alloc", 0x30), slot, 8, target);
            h.load(0, retPc, slot, 8, target);
            h.event(EventKind.REG, 0, retPc, palimpsest.trace.Reg.SP, slot + 8, 0);
            h.load(0, target, OBJ, 8, 1);
            h.load(0, target + 4, OBJ + 8, 8, 2);
        }
        return t;
    }

    @Test
    void aRetToAnAddressThatIsNotTextIsABadReturnNamingWhoWroteTheSlot()
    {
        final Analysis.Result r = Analysis.run(ret("badret", 0x0000414141414141L), HandMade.SYMBOLS, null, List.of("oops"));
        assertEquals(1, r.findings.size(), () -> r.findings.toString());
        final Finding f = r.findings.get(0);
        assertEquals("bad-return", f.bugClass);
        assertEquals(Finding.Role.SYMPTOM, f.role);
        assertTrue(f.title.startsWith("bad return in __d_lookup+0xfe/0x100 to 0000414141414141 (not text); the return address was written by d_alloc"),
            f.title);
        assertTrue(f.report.contains("the slot was last written 0x414141414141 (was 0x0) at event "), f.report);
    }

    @Test
    void aRetToTextIsNoFinding()
    {
        assertEquals(0, Analysis.run(ret("goodret", HandMade.pc("cpu_up", 0x20)), HandMade.SYMBOLS, null, List.of("oops")).findings.size());
    }
}
