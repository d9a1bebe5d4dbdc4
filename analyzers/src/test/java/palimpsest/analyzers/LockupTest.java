package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.emulator.Outcome;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;

/** Lockups and hangs at the end of hand-made runs: what the lockup analyzer reports, and what it must not. */
class LockupTest
{
    static final long LOCK = Layout.PAGE_OFFSET + 0x7ff9040L;
    static final long OTHER = Layout.PAGE_OFFSET + 0x7ff8000L;

    @TempDir
    Path dir;

    private static int wire(final Outcome.Kind kind)
    {
        return new Outcome(kind, 0, "", null).wireCode();
    }

    /** cpu1 takes the lock (and releases it when released); cpu0 reads it spins times, with an interrupt's loads in the middle. */
    private Path spin(final String name, final boolean released, final int spins, final int after, final Outcome.Kind end)
    {
        final Path t = dir.resolve(name);
        try (HandMade h = new HandMade(t))
        {
            h.mark(1, HandMade.pc("cpu_up", 0x10), Mark.LOCK_ACQUIRE, LOCK, HandMade.pc("d_alloc", 0x25));
            if (released)
            {
                h.mark(1, HandMade.pc("cpu_up", 0x18), Mark.LOCK_RELEASE, LOCK, HandMade.pc("d_alloc", 0x30));
            }
            for (int i = 0; i < spins; i++)
            {
                h.load(0, HandMade.pc("__d_lookup", 0x14), LOCK, 4, 2);
                if (i == spins / 2)
                {
                    for (int k = 0; k < 100; k++)
                    {
                        h.load(0, HandMade.pc("page_fault", 0x20), OTHER + 8 * k, 8, k);
                    }
                }
            }
            for (int k = 0; k < after; k++)
            {
                h.load(0, HandMade.pc("victim_user", 0x20), OTHER + 8 * (k % 64), 8, k);
            }
            h.w.close(wire(end), end.name().toLowerCase());
        }
        return t;
    }

    @Test
    void aCpuSpinningOnAHeldLockWhenTheLimitCutTheRunIsASoftLockupNamingTheHolder()
    {
        final Analysis.Result r = Analysis.run(spin("spin", false, 3000, 0, Outcome.Kind.LIMIT), HandMade.SYMBOLS, null, List.of("lockup"));
        assertEquals(1, r.findings.size(), () -> r.findings.toString());
        final Finding f = r.findings.get(0);
        assertEquals(Finding.Role.SYMPTOM, f.role);
        assertEquals("lockup", f.bugClass);
        assertTrue(r.verdict.startsWith("verdict: BUG: soft lockup - CPU#0 stuck: spinning in __d_lookup+0x14/0x100 on " + Long.toHexString(LOCK)
            + ", held since event 0 by d_alloc+0x25/0x100"), r.verdict);
        assertTrue(r.verdict.contains("; no cause found: no finding links it to an earlier event; checked: lockup: "), r.verdict);
        assertTrue(f.report.contains("It read ffff880007ff9040 3000 times"), f.report);
        assertTrue(f.report.contains("taken at event 0 by d_alloc+0x25/0x100 on cpu1"), f.report);
    }

    @Test
    void aSpinOnAWordNoLockHoldsIsStillALockupAndAnEndedPollIsAHangNotALockup()
    {
        final Analysis.Result word = Analysis.run(spin("word", true, 3000, 0, Outcome.Kind.LIMIT), HandMade.SYMBOLS, null, List.of("lockup"));
        assertEquals(1, word.findings.size(), () -> word.findings.toString());
        assertTrue(word.findings.get(0).report.contains("No LOCK_ACQUIRE in the trace holds that word"), word.findings.get(0).report);
        final Analysis.Result poll = Analysis.run(spin("poll", true, 1500, 4000, Outcome.Kind.LIMIT), HandMade.SYMBOLS, null, List.of("lockup"));
        assertEquals(1, poll.findings.size(), () -> poll.findings.toString());
        assertEquals("hang", poll.findings.get(0).bugClass);
        assertTrue(poll.verdict.startsWith("verdict: hang: the run hit its instruction limit with no cpu spinning on one word"), poll.verdict);
    }

    @Test
    void everyCpuIdleIsAHang()
    {
        final Analysis.Result r = Analysis.run(spin("idle", true, 10, 10, Outcome.Kind.IDLE), HandMade.SYMBOLS, null, List.of("lockup"));
        assertEquals(1, r.findings.size(), () -> r.findings.toString());
        assertTrue(r.verdict.startsWith("verdict: hang: every cpu halted with nothing pending"), r.verdict);
        assertTrue(r.verdict.contains("; no cause found"), r.verdict);
    }

    @Test
    void aCleanPowerOffAfterASpinIsNothing()
    {
        assertEquals(0, Analysis.run(spin("clean", false, 3000, 0, Outcome.Kind.POWEROFF), HandMade.SYMBOLS, null, List.of("lockup")).findings.size());
    }
}
