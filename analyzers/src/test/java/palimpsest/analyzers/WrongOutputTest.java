package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.core.Symbols;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.recorder.Recording;
import palimpsest.recorder.RecordingSummary;
import palimpsest.recorder.ScenarioCatalog;

/** Wrong output from a recorded run: fork-cow without its TLB flush powers off cleanly, and a child says it inherited the wrong data. */
class WrongOutputTest
{
    private static final ScenarioCatalog CATALOG = ScenarioCatalog.load();

    @TempDir
    Path dir;

    private Analysis.Result record(final String name, final List<String> patches, final Verdict.Kind want, final List<String> only)
    {
        final Path t = dir.resolve(name);
        final Recording rec = new Recording(CATALOG.find("fork-cow")).context(new ScenarioContext(Map.of(), "head", patches))
            .schedule("seeded", 1).keyframeEvery(0).output(t);
        final RecordingSummary sum = rec.run();
        assertEquals(want, sum.verdict().kind, sum.verdict()::toString);
        return Analysis.run(t, Symbols.of(rec.header(), CATALOG), null, only);
    }

    @Test
    void theProgramsWrongDataLineIsASymptomWithNothingToFollowOnItsOwn()
    {
        final Analysis.Result r = record("bad", List.of("-fork-flush-tlb"), Verdict.Kind.BAD, List.of("output"));
        assertEquals(1, r.findings.size(), () -> r.findings.toString());
        final Finding f = r.findings.get(0);
        assertEquals(Finding.Role.SYMPTOM, f.role);
        assertEquals("wrong-output", f.bugClass);
        assertTrue(f.title.startsWith("wrong output: ") && f.title.contains("inherited the wrong data"), f.title);
        assertTrue(r.verdict.startsWith("verdict: wrong output: "), r.verdict);
        assertTrue(r.verdict.contains("; no cause found: no finding links it to an earlier event; checked: output: "), r.verdict);
        // With every analyzer, the cause comes first: the stale TLB entry dup_mm's write-protect left.
        final Analysis.Result all = record("bad-all", List.of("-fork-flush-tlb"), Verdict.Kind.BAD, List.of());
        assertTrue(all.verdict.startsWith("verdict: stale-tlb: "), all.verdict);
    }

    @Test
    void aGoodRunHasNoWrongOutput()
    {
        assertEquals(0, record("good", List.of(), Verdict.Kind.GOOD, List.of("output")).findings.size());
    }
}
