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
 * The Akaros commit "Fix smp_idle() stack resetting bug": under the PMU profiler, an interrupt
 * between smp_idle's SP write and its FP write runs on the freshly reset stack the stale FP points
 * into; the handler's pushes overwrite the stale frame and the backtracer follows them into a
 * Proc-less Page Fault. Clean without the profiler and with the fix.
 */
class AkarosSmpIdleStoryTest
{
    @TempDir
    static Path dir;

    static Path bad;

    @BeforeAll
    static void record()
    {
        bad = dir.resolve("bad");
        final PalRunner.Result r = PalRunner.pal("record", "--scenario", "akaros-pmu-profile", "--kernel", "akaros-2016-06-02",
            "-o", bad.toString());
        assertEquals(1, r.rc(), r::toString);
        final String out = r.out();
        assertTrue(out.matches("(?s).*HW TRAP frame at 0xffff88[0-9a-f]+ on core 0\\n.*  trap 0x0000000e Page Fault\\n.*"), r::toString);
        assertTrue(out.contains("Backtrace of kernel context on Core 0:\n #01 [<0xffffffff8020"), r::toString);
        assertTrue(out.matches("(?s).* #01 \\[<0x[0-9a-f]+>] in backtrace_list\\n #02 \\[<0x[0-9a-f]+>] in profiler_add_kernel_backtrace\\n"
            + " #03 \\[<0x[0-9a-f]+>] in perfmon_interrupt\\n #04 \\[<0x[0-9a-f]+>] in irq_dispatch\\n #05 \\[<0x[0-9a-f]+>] in handle_irq\\n"
            + "kernel panic at kern/arch/x86/trap.c:270, from core 0: Proc-less Page Fault in the Kernel at 0x00000000006f6778!.*"), r::toString);
    }

    @Test
    void cleanWithoutTheProfilerAndWithTheFix()
    {
        final PalRunner.Result off = PalRunner.pal("record", "--scenario", "akaros-pmu-profile", "--kernel", "akaros-2016-06-02",
            "--arg", "pmu-period=0", "--arg", "yields=400", "-o", dir.resolve("off").toString());
        assertEquals(0, off.rc(), off::toString);
        final Path good = dir.resolve("good");
        final PalRunner.Result fixed = PalRunner.pal("record", "--scenario", "akaros-pmu-profile", "--kernel", "akaros-2016-06-16",
            "--arg", "yields=400", "-o", good.toString());
        assertEquals(0, fixed.rc(), fixed::toString);
        final PalRunner.Result a = PalRunner.pal("analyze", good.toString());
        assertEquals(0, a.rc(), a::toString);
    }

    @Test
    void thePmuInterruptFallsBetweenSmpIdlesSpAndFpWritesAndItsPushesClobberTheFrame()
    {
        final PalRunner.Result ints = PalRunner.pal("dump", bad.toString(), "--cpu", "0", "--kind", "interrupt");
        final Matcher m = Pattern.compile("#(\\d+) cpu0 ic=\\d+ pc=smp_idle\\+0xc/0x40 interrupt vec=0xe8 src=pmu").matcher(ints.out());
        assertTrue(m.find(), ints::toString);
        final long irq = Long.parseLong(m.group(1));
        final PalRunner.Result near = PalRunner.pal("dump", bad.toString(), "--cpu", "0", "--from", String.valueOf(irq - 30),
            "--limit", "400");
        final String out = near.out();
        // Before it: FP set to smp_idle's frame, then SP reset to the stack top; FP not yet zeroed.
        final Matcher fp = Pattern.compile("pc=smp_idle\\+0x0/0x40 reg rbp=([0-9a-f]+)\\n").matcher(out);
        final Matcher sp = Pattern.compile("pc=smp_idle\\+0x8/0x40 reg rsp=([0-9a-f]+)\\n[^\\n]*\\n?[^\\n]*interrupt vec=0xe8").matcher(out);
        assertTrue(fp.find() && sp.find(), out);
        final long staleFp = Long.parseUnsignedLong(fp.group(1), 16);
        final long top = Long.parseUnsignedLong(sp.group(1), 16);
        assertTrue(Long.compareUnsigned(staleFp, top) < 0 && top - staleFp < 0x4000, out);
        // The handler's callee-saved pushes land on the stale frame's two words; backtrace_list then reads them.
        final String word0 = Long.toHexString(staleFp);
        final String word1 = Long.toHexString(staleFp + 8);
        assertTrue(out.matches("(?s).*pc=profiler_add_kernel_backtrace\\+0x4/0x80 store\\.8 v=" + word1 + " .*"), out);
        assertTrue(out.matches("(?s).*pc=profiler_add_kernel_backtrace\\+0x4/0x80 store\\.8 v=" + word0 + " [^\\n]*-> 00000000006f6770\\n.*"), out);
        assertTrue(out.matches("(?s).*pc=backtrace_list\\+0x30/0x60 load\\.8 v=" + word0 + " [^\\n]*= 00000000006f6770\\n.*"), out);
        assertTrue(out.matches("(?s).*exception vec=0xe[^\\n]*6f6778.*") || out.contains("6f6778"), out);
    }

    @Test
    void analyzeLeadsWithTheWindowAndFlagsTheBadFrameWalk()
    {
        final PalRunner.Result a = PalRunner.pal("analyze", bad.toString());
        assertEquals(1, a.rc(), a::toString);
        // The first story's first finding (after the verdict, summary and story header lines).
        final String first = java.util.Arrays.stream(a.out().split("\n")).filter(l -> l.startsWith("* ")).findFirst().orElse("");
        assertTrue(first.matches("\\* \\[stale-fp] event \\d+: interrupt 0xe8 \\(pmu\\) taken at smp_idle\\+0xc/0x40 on cpu0 after the SP write "
            + "at smp_idle\\+0x8/0x40 \\(event \\d+\\) and before FP followed: FP [0-9a-f]+ points 0x[0-9a-f]+ below the SP [0-9a-f]+ the handler "
            + "runs on; the handler's profiler_add_kernel_backtrace overwrote the stale frame \\(event \\d+\\) and backtrace_list read it as a "
            + "frame \\(event \\d+\\)"), a::toString);
        assertTrue(a.out().matches("(?s).*\\* \\[frame-walk] event \\d+: WARNING: kernel stack frame pointer at [0-9a-f]+ in backtrace_list has bad "
            + "value 00000000006f6770 \\(off the stack\\), written by profiler_add_kernel_backtrace\\+0x4/0x80.*"), a::toString);
    }

    @Test
    void patchBisectNamesResetStacks()
    {
        final PalRunner.Result b = PalRunner.pal("bisect", "--scenario", "akaros-pmu-profile", "--good", "akaros-2016-05",
            "--bad", "akaros-2016-06-02", "--arg", "yields=400");
        assertTrue(b.out().contains("first bad patch: akaros-reset-stacks"), b::toString);
    }
}
