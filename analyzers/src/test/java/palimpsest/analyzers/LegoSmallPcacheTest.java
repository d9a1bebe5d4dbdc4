package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.emulator.Verdict;
import palimpsest.recorder.ScenarioCatalog;

/**
 * The fixed kernel at a small pcache, where lines mremap moved are evicted while their thread
 * touches them: word_count-pthread under a chaos seed whose fill path meets a page's victim slot
 * before the eviction copied the line in (the window in which, before LegoOS's two-step victim
 * insertion was modelled, the fill took the memory node's older copy: a keys page came back zero,
 * `segfault at 0` in strcmp, a short count; LegoVictimFillTest checks the wait in the events).
 * GOOD, and every analyzer silent.
 */
class LegoSmallPcacheTest
{
    private static final ScenarioCatalog CATALOG = ScenarioCatalog.load();

    @TempDir
    Path dir;

    @Test
    void aFillThatWaitsForAVictimAtA128KiBPcacheIsGoodAndClean()
    {
        final LegoRun run = LegoRun.record(CATALOG, dir, "lego-word-count-pthread", "lego-2018-02-06",
            Map.of("words", "6000", "vocab", "6000", "pcache-kb", "128"), "chaos", 12, null);
        assertEquals(Verdict.Kind.GOOD, run.summary.verdict().kind, () -> run.summary.verdict() + "\n" + run.console);
        assertEquals(0, run.analysis.findings.size(), () -> run.analysis.verdict + "\n" + run.analysis.findings);
        assertEquals("verdict: clean (no findings)", run.analysis.verdict);
    }
}
