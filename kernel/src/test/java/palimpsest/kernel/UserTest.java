package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.input.SeededInput;
import palimpsest.kernel.patches.Patches;
import palimpsest.kernel.scenarios.ForkCowScenario;
import palimpsest.kernel.scenarios.WordCountScenario;
import palimpsest.trace.EventSink;

class UserTest
{

    private static String console(final List<String> patches, final Outcome[] out)
    {
        final Machine m = new Machine(new MachineConfig(1, 4, 128), EventSink.NULL, new SeededInput(9));
        final KernelConfig c = new KernelConfig().patches(Patches.of("", patches)).program(new Probe()).init("/bin/probe");
        Kernel.install(m, c);
        out[0] = m.run(200_000_000L);
        return m.console(0).text();
    }

    @Test
    void loaderZeroesBssAndMremapMovesPages()
    {
        final Outcome[] o = new Outcome[1];
        final String con = console(List.of(), o);
        assertTrue(o[0].clean(), o[0] + con);
        assertTrue(con.contains("bss: clean"), con);
        assertTrue(con.contains("mremap: moved, data kept, old range gone, above ok"), con);
        assertTrue(con.contains("probe[") && con.contains("segfault at"), con);
    }

    @Test
    void loaderWithoutClearBssLeavesFileBytesInBss()
    {
        final Outcome[] o = new Outcome[1];
        final String con = console(List.of("-loader-clear-bss"), o);
        assertTrue(con.contains("bss: dirty at +"), con);
    }

    @Test
    void kmallocedStackVmaHasGarbageVmOps()
    {
        final Outcome[] o = new Outcome[1];
        final String con = console(List.of("-loader-kzalloc-vma"), o);
        System.out.println(con);
        assertEquals(Outcome.Kind.FAILURE, o[0].kind, con);
        assertTrue(con.contains("general protection fault"), con);
        assertTrue(con.contains("handle_mm_fault+0x"), con);
    }

    @Test
    void forkWithoutTlbFlushIsCaughtByForkCow()
    {
        final Runs r = Runs.run(new ForkCowScenario(), 7, null, Map.of(), "", List.of("-fork-flush-tlb"), null);
        assertEquals(Verdict.Kind.BAD, r.verdict.kind, r.console());
    }

    @Test
    void wordCountPassesCountTheSameTextAgainInTheSameMemory()
    {
        final Map<String, String> args = Map.of("words", "400", "vocab", "50");
        final Runs once = Runs.run(new WordCountScenario(), 3, null, args, "", List.of(), null);
        final Map<String, String> thrice = new java.util.HashMap<>(args);
        thrice.put("passes", "3");
        final Runs three = Runs.run(new WordCountScenario(), 3, null, thrice, "", List.of(), null);
        assertEquals(Verdict.Kind.GOOD, once.verdict.kind, once::console);
        assertEquals(Verdict.Kind.GOOD, three.verdict.kind, three::console);
        // Every count three times over: the total and each of the top ten.
        final java.util.regex.Matcher m1 = java.util.regex.Pattern.compile("word_count: (\\d+) words, (\\d+) distinct").matcher(once.console());
        final java.util.regex.Matcher m3 = java.util.regex.Pattern.compile("word_count: (\\d+) words, (\\d+) distinct").matcher(three.console());
        assertTrue(m1.find() && m3.find(), three.console());
        assertEquals(3 * Long.parseLong(m1.group(1)), Long.parseLong(m3.group(1)), three.console());
        assertEquals(m1.group(2), m3.group(2), three.console());
        // Each of the top ten, three times over, in the same order.
        final java.util.regex.Pattern top = java.util.regex.Pattern.compile("(?m)^([a-z]+): (\\d+)$");
        final java.util.regex.Matcher t1 = top.matcher(once.console());
        final java.util.regex.Matcher t3 = top.matcher(three.console());
        int lines = 0;
        while (t1.find())
        {
            assertTrue(t3.find(), three.console());
            assertEquals(t1.group(1), t3.group(1), three.console());
            assertEquals(3 * Long.parseLong(t1.group(2)), Long.parseLong(t3.group(2)), three.console());
            lines++;
        }
        assertEquals(10, lines, once.console());
    }
}
