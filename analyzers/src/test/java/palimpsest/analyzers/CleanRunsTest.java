package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import palimpsest.analyzers.core.Symbols;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.recorder.Recording;
import palimpsest.recorder.RecordingSummary;
import palimpsest.recorder.ScenarioCatalog;

/**
 * No analyzer reports anything on a clean run: every built-in scenario (text-poke-scribble with
 * the fix), recorded under 5 seeded and 5 chaos schedules, small arguments and a small machine so
 * the whole matrix stays in seconds, analyzed with every registered analyzer (whoever added it).
 */
class CleanRunsTest
{
    private static final ScenarioCatalog CATALOG = ScenarioCatalog.load();

    /** Scenario -> arguments, kernel version, patches, machine (null: the scenario's default). */
    private record Setup(Map<String, String> args, String kernel, List<String> patches, MachineConfig machine)
    {
    }

    private static final MachineConfig SMALL = new MachineConfig(1, 2, 16);

    /** LegoOS: a processor node and a memory node. */
    private static final MachineConfig LEGO = new MachineConfig(2, 2, 32);

    private static final Map<String, Setup> SETUPS = Map.ofEntries(
        setup("akaros-pmu-profile", new Setup(Map.of("yields", "100"), "akaros-2016-06-16", List.of(), null)),
        setup("jos-hello", new Setup(Map.of("spin", "100000"), "jos-lab4", List.of(), null)),
        setup("jos-user-exception", new Setup(Map.of("children", "1", "faults", "2"), "jos-lab4b-fix", List.of(), null)),
        setup("lego-exec", new Setup(Map.of(), "head", List.of(), LEGO)),
        setup("lego-fork-cow", new Setup(Map.of(), "lego-2018-03-01-fix", List.of(), LEGO)),
        setup("lego-word-count", new Setup(Map.of("threads", "2", "words", "200"), "head", List.of(), LEGO)),
        setup("lego-word-count-seq", new Setup(Map.of("words", "200"), "head", List.of(), LEGO)),
        setup("lego-word-count-pthread", new Setup(Map.of("threads", "2", "words", "300", "vocab", "100"), "lego-2018-02-17", List.of(), LEGO)),
        setup("lego-iozone", new Setup(Map.of("words", "200"), "lego-2018-02-17", List.of(), LEGO)),
        setup("lego-python", new Setup(Map.of("libs", "4", "heap-pages", "16", "rounds", "1"), "lego-2018-03-08-fix", List.of(), LEGO)),
        setup("boot", new Setup(Map.of("idle", "20000"), "head", List.of(), SMALL)),
        setup("exec", new Setup(Map.of("rounds", "1"), "head", List.of(), SMALL)),
        setup("fork-cow", new Setup(Map.of("depth", "1"), "head", List.of(), SMALL)),
        setup("word-count", new Setup(Map.of("threads", "2", "words", "50"), "head", List.of(), SMALL)),
        setup("text-poke-scribble", new Setup(Map.of("rounds", "1", "dirs", "2", "files", "4", "checker-kb", "256"), "v2.6.25-git2",
            List.of("+x86-fix-text-poke-core-kernel-text"), null)),
        setup("ipi-pingpong", new Setup(Map.of("rounds", "100"), "", List.of(), null)),
        setup("net-echo", new Setup(Map.of("frames", "2"), "", List.of(), null)),
        setup("tlb-stale", new Setup(Map.of("invlpg", "1"), "", List.of(), null)),
        setup("tlb-shootdown", new Setup(Map.of(), "head", List.of(), SMALL)));

    private static Map.Entry<String, Setup> setup(final String scenario, final Setup setup)
    {
        return Map.entry(scenario, setup);
    }

    @TempDir
    Path dir;

    static Stream<Arguments> runs()
    {
        final List<Arguments> all = new ArrayList<>();
        for (final String s : new TreeSet<>(SETUPS.keySet()))
        {
            for (final String schedule : new String[] {"seeded", "chaos"})
            {
                for (long seed = 1; seed <= 5; seed++)
                {
                    all.add(Arguments.of(s, schedule, seed));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("runs")
    void everyAnalyzerIsSilentOnACleanRun(final String scenario, final String schedule, final long seed)
    {
        final Scenario s = CATALOG.find(scenario);
        assertNotNull(s, scenario);
        final Setup setup = SETUPS.get(scenario);
        final Path trace = dir.resolve(scenario + "-" + schedule + "-" + seed);
        final Recording rec = new Recording(s).context(new ScenarioContext(setup.args(), s.usesKernel() ? setup.kernel() : "", setup.patches()))
            .schedule(schedule, seed).keyframeEvery(0).output(trace);
        if (setup.machine() != null)
        {
            rec.config(setup.machine());
        }
        final RecordingSummary sum = rec.run();
        assertEquals(Verdict.Kind.GOOD, sum.verdict().kind, () -> scenario + " " + schedule + " " + seed + ": " + sum.verdict());
        final Analysis.Result r = Analysis.run(trace, Symbols.of(rec.header(), CATALOG), null);
        assertTrue(r.analyzers.size() >= 4, r.analyzers::toString);
        if (scenario.equals("tlb-stale"))
        {
            // A demonstration of the hardware: its second half reads through a stale entry on
            // purpose (invlpg=1 flushes only the first). Only that may be reported.
            for (final Finding f : r.findings)
            {
                assertEquals("stale-tlb", f.bugClass, () -> schedule + " " + seed + ": " + r.findings);
            }
            return;
        }
        assertEquals(0, r.findings.size(), () -> scenario + " " + schedule + " " + seed + ": " + r.verdict + "\n" + r.findings);
        assertEquals("verdict: clean (no findings)", r.verdict);
    }

    @Test
    void everyBuiltInScenarioIsCovered()
    {
        final Set<String> builtIn = new TreeSet<>();
        for (final String n : CATALOG.names())
        {
            if (!n.startsWith("test-"))
            {
                builtIn.add(n);
            }
        }
        assertEquals(new TreeSet<>(SETUPS.keySet()), builtIn, "a new built-in scenario: give it a small setup here");
    }
}
