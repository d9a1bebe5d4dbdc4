package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.input.InputSources;
import palimpsest.kernel.scenarios.TlbShootdownScenario;
import palimpsest.kernel.scenarios.WordCountScenario;
import palimpsest.trace.EventSink;

/**
 * The races of the series show under chaos schedules (the seeds kernel/README.md gives), and the
 * same seeds stay GOOD on the clean kernel: the quick loop that finds such seeds, on a fixed list.
 */
class ChaosRacesTest
{
    /** word-count with enough distinct words that every thread's array grows by mremap a few times. */
    static final Map<String, String> MREMAP_ARGS = Map.of("words", "20000", "vocab", "3000");
    static final long[] MREMAP_SEEDS = {7, 16};

    static Verdict run(final Scenario s, final long seed, final Map<String, String> args, final List<String> patches)
    {
        final Machine m = new Machine(s.defaultConfig(), EventSink.NULL, InputSources.create("chaos", seed));
        s.load(m, new ScenarioContext(args, "", patches));
        final Outcome o = m.run(s.maxInstructions());
        return s.verdict(m, o);
    }

    private static List<Verdict.Kind> kinds(final Scenario s, final long[] seeds, final Map<String, String> args,
        final List<String> patches)
    {
        final List<Verdict.Kind> out = new ArrayList<>();
        for (final long seed : seeds)
        {
            out.add(run(s, seed, args, patches).kind);
        }
        return out;
    }

    @Test
    void mremapWithoutMmapSemGoesBadUnderSomeChaosSeedsAndTheCleanKernelNot()
    {
        final Scenario wc = new WordCountScenario();
        final List<Verdict.Kind> racy = kinds(wc, MREMAP_SEEDS, MREMAP_ARGS, List.of("-mremap-lock"));
        assertTrue(racy.contains(Verdict.Kind.BAD), racy::toString);
        assertEquals(List.of(Verdict.Kind.GOOD, Verdict.Kind.GOOD), kinds(wc, MREMAP_SEEDS, MREMAP_ARGS, List.of()));
    }

    @Test
    void aMissingShootdownLeavesAReaderOnAStaleTlbEntry()
    {
        final Scenario s = new TlbShootdownScenario();
        final long[] seeds = {1, 2, 3};
        final Verdict bad = run(s, 1, Map.of(), List.of("-smp-tlb-shootdown"));
        assertEquals(Verdict.Kind.BAD, bad.kind, bad::toString);
        assertTrue(bad.message.contains("read the moved page through a stale TLB entry"), bad::toString);
        assertTrue(kinds(s, seeds, Map.of(), List.of("-smp-tlb-shootdown")).stream().allMatch(k -> k == Verdict.Kind.BAD));
        assertEquals(List.of(Verdict.Kind.GOOD, Verdict.Kind.GOOD, Verdict.Kind.GOOD), kinds(s, seeds, Map.of(), List.of()));
    }
}
