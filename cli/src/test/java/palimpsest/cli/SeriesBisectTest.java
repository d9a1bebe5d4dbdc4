package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;
import palimpsest.cli.testing.ProbeScenario;

/**
 * Issue 16's patch bisect over the kernel's own series: both ends are checked before bisecting (a
 * wrong end is refused with exit 2 and one line naming it), first-fix bisects name each LegoOS fix
 * on the scenario that shows it, and several seeds judge every candidate.
 */
class SeriesBisectTest
{
    @TempDir
    Path tmp;

    @Test
    void aGoodEndThatIsBadIsRefusedByName()
    {
        // fork-cow lacks fork-flush-tlb until v0.3 and loader-kzalloc-vma until v0.2: it is bad at
        // v0.1 already (there the first exec's copy_strings faults on the kmalloc'ed stack vma: a GP).
        final Result r = pal("bisect", "--scenario", "fork-cow", "--good", "v0.1", "--bad", "v0.2");
        assertEquals(2, r.rc(), r::toString);
        assertTrue(r.err().contains("\npal: the good end v0.1 is bad for fork-cow (seeded seed 0): "), r::toString);
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("pal: ")).count(), r::toString);
        assertFalse(r.out().contains("first bad"), r::toString);
    }

    @Test
    void aBadEndThatIsGoodIsRefusedByName()
    {
        final Result r = pal("bisect", "--scenario", "fork-cow", "--good", "v0.3", "--bad", "v2.6.25");
        assertEquals(2, r.rc(), r::toString);
        assertTrue(r.err().contains("pal: the bad end v2.6.25 is not bad for fork-cow"), r::toString);
    }

    @Test
    void versionsInFixOrderWithoutFirstFixSuggestIt()
    {
        final Result r = pal("bisect", "--scenario", "fork-cow", "--good", "v0.3", "--bad", "v0.2");
        assertEquals(2, r.rc(), r::toString);
        assertTrue(r.err().contains("--first-fix"), r::toString);
    }

    @Test
    void firstFixNamesForkFlushTlbOnForkCow()
    {
        final Result r = pal("bisect", "--scenario", "fork-cow", "--fixed-in", "v0.3", "--broken-in", "v0.2");
        assertEquals(0, r.rc(), r::toString);
        assertTrue(r.out().startsWith("first fixing patch: fork-flush-tlb "), r::toString);
        assertTrue(r.out().contains("git bisect start --term-old=broken --term-new=fixed 'v0.3' 'v0.2'"), r::toString);
        assertTrue(r.out().contains("git bisect broken loader-clear-bss"), r::toString);
        assertTrue(r.out().contains("# first fixed commit: [fork-flush-tlb]"), r::toString);
    }

    @Test
    void firstFixNamesLoaderClearBssOnWordCount()
    {
        final Result r = pal("bisect", "--scenario", "word-count", "--first-fix", "--good", "v0.3", "--bad", "v0.2");
        assertEquals(0, r.rc(), r::toString);
        assertTrue(r.out().startsWith("first fixing patch: loader-clear-bss "), r::toString);
    }

    @Test
    void firstFixNamesLoaderKzallocVmaOnAnExecdInit()
    {
        final Result r = pal("bisect", "--scenario", "boot", "--arg", "init=hello", "--fixed-in", "v0.2", "--broken-in", "v0.1");
        assertEquals(0, r.rc(), r::toString);
        assertTrue(r.out().startsWith("first fixing patch: loader-kzalloc-vma "), r::toString);
        // cpuhp-secondary (v0.1+1) still has the kmalloc'ed stack vma: broken by the GP, not by the missing tick.
        assertTrue(r.out().contains("git bisect broken cpuhp-secondary"), r::toString);
        assertTrue(r.out().contains("general protection fault"), r::toString);
    }

    @Test
    void severalSeedsJudgeEveryCandidateAndTheLogSaysEach()
    {
        final Result r = pal("bisect", "--scenario", ProbeScenario.NAME, "--good", "v0.3", "--bad", "v2.6.25", "--seeds", "2",
            "--seed", "5", "-o", tmp.resolve("runs").toString());
        assertEquals(0, r.rc(), r::toString);
        assertTrue(r.out().startsWith("first bad patch: zt3-probe-scribble "), r::toString);
        assertTrue(r.out().contains("each judged over 2 schedules (seeds 5..6; bad if any is bad)"), r::toString);
        assertTrue(r.out().contains("#   seed 5: bad: "), r::toString);
        assertTrue(r.out().contains("#   seed 6: good: "), r::toString);
        assertTrue(r.out().contains("8 candidates, 10 replays of the recorded bad runs (2 seeds, "), r::toString);
        assertTrue(r.err().contains("seed 5 skip, seed 6 skip"), r::toString);
        assertTrue(tmp.resolve("runs/seed-5").toFile().isDirectory() && tmp.resolve("runs/seed-6").toFile().isDirectory());
    }

    @Test
    void seedsOnSeveralWorkersGiveTheSameVerdictsCulpritAndLogAsOne()
    {
        final String[] bisect = {"bisect", "--scenario", ProbeScenario.NAME, "--good", "v0.3", "--bad", "v2.6.25", "--seeds", "3",
            "--seed", "5", "--jobs"};
        final Result one = pal(concat(bisect, "1"));
        final Result three = pal(concat(bisect, "3"));
        assertEquals(0, one.rc(), one::toString);
        assertEquals(0, three.rc(), three::toString);
        assertTrue(three.err().contains("(seeded seeds 5..7) on 3 workers"), three::toString);
        assertFalse(one.err().contains("workers"), one::toString);
        assertTrue(one.out().contains("#   seed 7: "), one::toString);
        // Everything but the timing line: the culprit, the per-seed verdicts of every step, the log.
        assertEquals(withoutTiming(one.out()), withoutTiming(three.out()));
        assertTrue(three.out().contains("8 candidates, 15 replays of the recorded bad runs (3 seeds, "), three::toString);
    }

    @Test
    void noWorkersIsRefused()
    {
        for (final String j : new String[] {"0", "-2"})
        {
            final Result r = pal("bisect", "--scenario", "fork-cow", "--good", "v0.2", "--bad", "v0.3", "--first-fix", "--jobs", j);
            assertEquals(2, r.rc(), r::toString);
            assertEquals(java.util.List.of("pal: --jobs must be at least 1, got " + j), r.err().lines().toList(), r::toString);
        }
    }

    private static String[] concat(final String[] head, final String last)
    {
        final String[] out = java.util.Arrays.copyOf(head, head.length + 1);
        out[head.length] = last;
        return out;
    }

    private static String withoutTiming(final String out)
    {
        return out.lines().filter(l -> !l.contains(" replays of the recorded bad run")).collect(java.util.stream.Collectors.joining("\n"));
    }
}
