package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.input.SeededInput;
import palimpsest.kernel.patches.Patch;
import palimpsest.kernel.patches.PatchSeries;
import palimpsest.kernel.scenarios.KernelScenario;
import palimpsest.kernel.scenarios.LegoIozoneScenario;
import palimpsest.kernel.scenarios.LegoWordCountPthreadScenario;
import palimpsest.trace.EventSink;

/** The LegoOS diary's loader bugs on the lego branch of the series: their consoles, and GOOD once fixed. */
final class LegoDiaryTest
{
    private record Run(Machine machine, Verdict verdict)
    {
        String p()
        {
            return machine.console(0).text();
        }

        String m()
        {
            return machine.console(1).text();
        }
    }

    private static Run run(final KernelScenario s, final String kernel, final Map<String, String> args)
    {
        final Machine m = new Machine(new MachineConfig(2, 2, 32), EventSink.NULL, new SeededInput(0));
        s.load(m, new ScenarioContext(args, kernel, List.of()));
        final Outcome o = m.run(s.maxInstructions());
        return new Run(m, s.verdict(m, o));
    }

    private static List<String> names(final String version)
    {
        return PatchSeries.load().resolve(version, List.of()).stream().map(Patch::name).toList();
    }

    @Test
    void eachBugHasItsOwnWindowOnTheLegoBranchAndHeadHasNone()
    {
        assertTrue(names("lego-2018-02-05").contains("lego-pcache-move-pte"));
        assertFalse(names("lego-2018-02-05").contains("lego-mremap-lock"));
        assertTrue(names("lego-2018-02-06").contains("lego-mremap-lock"));
        assertTrue(names("lego-2018-02-11").contains("lego-loader-kmalloc-vma"));
        assertFalse(names("lego-2018-02-11").contains("lego-loader-kzalloc-vma"));
        assertTrue(names("lego-2018-02-16").contains("lego-clear-user-todo"));
        assertTrue(names("lego-2018-02-17").contains("lego-clear-user"));
        assertTrue(names("lego-2018-02-01").contains("lego-no-slab-poison"));
        for (final String v : List.of("head", "v2.6.25", "v0.3"))
        {
            assertTrue(names(v).stream().noneMatch(n -> n.startsWith("lego-")), v);
        }
    }

    @Test
    void theKmallocedStackVmaOopsesTheMemoryComponentInHandleLegoMmFault()
    {
        final Run r = run(new LegoWordCountPthreadScenario(), "lego-2018-02-11", Map.of("words", "200"));
        assertEquals(Verdict.Kind.BAD, r.verdict().kind, r.verdict().toString());
        final String m = r.m();
        assertTrue(m.contains("BUG: unable to handle kernel NULL pointer dereference at 0000000000000031"), m);
        assertTrue(Pattern.compile("IP: \\[<[0-9a-f]+>\\] handle_lego_mm_fault\\+0x160/0x[0-9a-f]+").matcher(m).find(), m);
        assertTrue(m.contains("Oops: 0000 [#1] SMP MEMORY") && m.contains("comm: mc-manager"), m);
        assertTrue(Pattern.compile("faultin_page\\+.*\n.*copy_strings\\+.*\n.*exec_loader\\+.*\n.*handle_p2m_execve\\+(.|\n)*mc_manager\\+")
            .matcher(m).find(), m);
        final Run fixed = run(new LegoWordCountPthreadScenario(), "lego-2018-02-12", Map.of("words", "200"));
        assertEquals(Verdict.Kind.GOOD, fixed.verdict().kind, fixed.verdict() + "\n" + fixed.p() + fixed.m());
    }

    @Test
    void withoutLegoClearUserIozoneFindsItsBssGlobalsHoldingTheFilesBytes()
    {
        final Run r = run(new LegoIozoneScenario(), "lego-2018-02-16", Map.of("words", "200"));
        assertEquals(Verdict.Kind.BAD, r.verdict().kind, r.verdict().toString());
        // ".comment" as a little-endian word: the bytes after the data in the file.
        assertTrue(r.p().contains("iozone: BAD: .bss variable total_bytes at 0x"), r.p());
        assertTrue(r.p().contains(" is 0x746e656d6d6f632e, not 0"), r.p());
        final Run fixed = run(new LegoIozoneScenario(), "lego-2018-02-17", Map.of("words", "200"));
        assertEquals(Verdict.Kind.GOOD, fixed.verdict().kind, fixed.verdict() + "\n" + fixed.p());
        assertTrue(fixed.p().contains("iozone test complete."), fixed.p());
    }
}
