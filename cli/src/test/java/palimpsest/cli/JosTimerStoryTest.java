package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * JOS lab 4's timer interrupts in kernel mode, only on CPU 1: with two cpus the idle one halts in
 * sched_halt with sti; hlt, takes its LAPIC timer at CPL 0, and trap()'s assertion that the timer
 * only interrupts user mode panics. One cpu, or the fixed trap(), is clean; a trap gate gives the
 * notes' other assertion. The register-provenance query and the irq-state analyzer name the sti.
 */
class JosTimerStoryTest
{
    @TempDir
    static Path dir;

    static Path bad;

    @BeforeAll
    static void record()
    {
        bad = dir.resolve("bad");
        final PalRunner.Result r = PalRunner.pal("record", "--scenario", "jos-hello", "--kernel", "jos-lab4c", "-o", bad.toString());
        assertEquals(1, r.rc(), r::toString);
        assertTrue(r.out().contains("kernel panic on CPU 1 at kern/trap.c:297: assertion failed: (tf->tf_cs & 3) == 3"), r::toString);
    }

    @Test
    void oneCpuAndTheFixedKernelAreClean()
    {
        final PalRunner.Result one = PalRunner.pal("record", "--scenario", "jos-hello", "--kernel", "jos-lab4c", "--cpus", "1",
            "--arg", "spin=600000", "-o", dir.resolve("one").toString());
        assertEquals(0, one.rc(), one::toString);
        final Path good = dir.resolve("good");
        final PalRunner.Result fixed = PalRunner.pal("record", "--scenario", "jos-hello", "--kernel", "jos-lab4", "--arg", "spin=600000",
            "-o", good.toString());
        assertEquals(0, fixed.rc(), fixed::toString);
        final PalRunner.Result a = PalRunner.pal("analyze", good.toString());
        assertEquals(0, a.rc(), a::toString);
        assertTrue(a.out().contains(" 0 finding(s)"), a::toString);
    }

    @Test
    void theTimerArrivesOnCpu1AtCpl0WithIfSetByTheStiInSchedHalt()
    {
        // From the events alone: the last interrupt on cpu1 is the timer, taken in sched_halt (CPL 0,
        // nothing ever dropped cpu1 to user mode), and the last write of FLAGS before it is the sti.
        final PalRunner.Result ints = PalRunner.pal("dump", bad.toString(), "--cpu", "1", "--kind", "interrupt");
        final Matcher m = Pattern.compile("#(\\d+) cpu1 ic=\\d+ pc=(\\S+) interrupt vec=0xef src=timer\\n(?!.*interrupt)", Pattern.DOTALL)
            .matcher(ints.out());
        assertTrue(m.find(), ints::toString);
        assertTrue(m.group(2).startsWith("sched_halt+"), m.group());
        final long event = Long.parseLong(m.group(1));
        final PalRunner.Result regs = PalRunner.pal("dump", bad.toString(), "--cpu", "1", "--kind", "reg", "--limit", "100000");
        String lastFlags = null;
        String lastCpl = null;
        for (final String line : regs.out().split("\n"))
        {
            final Matcher e = Pattern.compile("#(\\d+) .*").matcher(line);
            if (!e.matches() || Long.parseLong(e.group(1)) >= event)
            {
                continue;
            }
            if (line.contains(" reg flags="))
            {
                lastFlags = line;
            }
            if (line.contains(" reg cpl="))
            {
                lastCpl = line;
            }
        }
        assertTrue(lastFlags != null && lastFlags.contains("pc=sched_halt+0x20/0x40") && lastFlags.endsWith("flags=0000000000000200"),
            String.valueOf(lastFlags));
        assertTrue(lastCpl == null || lastCpl.endsWith("cpl=0000000000000000"), lastCpl);

        final PalRunner.Result who = PalRunner.pal("who-wrote", bad.toString(), "--reg", "if", "--cpu", "1", "--before", String.valueOf(event));
        assertEquals(0, who.rc(), who::toString);
        assertTrue(who.out().contains("(IF=1) by the sti at sched_halt+0x20/0x40"), who::toString);
    }

    @Test
    void analyzeLeadsWithTheStiAndTheFailedAssertion()
    {
        final PalRunner.Result a = PalRunner.pal("analyze", bad.toString());
        assertEquals(1, a.rc(), a::toString);
        // The first story's first finding (after the verdict, summary and story header lines).
        final String first = java.util.Arrays.stream(a.out().split("\n")).filter(l -> l.startsWith("* ")).findFirst().orElse("");
        assertTrue(first.matches("\\* \\[irq-state] event \\d+: vector 0xef \\(timer interrupt\\) arrived on cpu1 in kernel mode \\(CPL 0\\) "
            + "with IF set by the sti at sched_halt\\+0x20/0x40 \\(event \\d+\\); its handler then failed: kernel panic on CPU 1 at "
            + "kern/trap.c:297: assertion failed: \\(tf->tf_cs & 3\\) == 3"), a::toString);
        assertTrue(a.out().contains("an interrupt gate, delivery cleared IF"), a::toString);
    }

    @Test
    void aTrapGateLeavesIfSetAndTheOtherAssertionFires()
    {
        final Path tg = dir.resolve("trap-gate");
        final PalRunner.Result r = PalRunner.pal("record", "--scenario", "jos-hello", "--kernel", "jos-lab4c", "--patch", "+jos-timer-trap-gate",
            "-o", tg.toString());
        assertEquals(1, r.rc(), r::toString);
        assertTrue(r.out().contains("at kern/trap.c:293: assertion failed: !(read_eflags() & FL_IF)"), r::toString);
        final PalRunner.Result a = PalRunner.pal("analyze", tg.toString(), "--summary");
        assertEquals(1, a.rc(), a::toString);
        assertTrue(a.out().contains("came through a trap gate") && a.out().contains("delivery left IF set"), a::toString);
    }

    @Test
    void patchBisectNamesTheAssertion()
    {
        final PalRunner.Result b = PalRunner.pal("bisect", "--scenario", "jos-hello", "--good", "jos-lab4b-fix", "--bad", "jos-lab4c",
            "--arg", "spin=600000");
        assertTrue(b.out().contains("first bad patch: jos-timer-irq"), b::toString);
        assertTrue(b.out().contains("git bisect good jos-lapic-eoi-first"), b::toString);
    }
}
