package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.core.Symbols;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.recorder.Recording;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;

/**
 * The LegoOS diary's 02/06 mremap (issue 14, bug 1) as the invariants analyzer sees it: at
 * lego-2018-02-05 pcache_move_pte drops the set lock with the line's rmap still naming the old pte
 * and finishes the rmap update holding no lock; at lego-2018-02-06 the same run is GOOD and clean.
 */
final class LegoMremapRmapTest
{
    @TempDir
    Path dir;

    private static final Map<String, String> ARGS = Map.of("words", "3000");

    private record Run(Verdict verdict, Analysis.Result analysis)
    {
    }

    private static Run record(final Path out, final String kernel)
    {
        final ScenarioCatalog catalog = ScenarioCatalog.load();
        final Scenario s = catalog.find("lego-word-count-pthread");
        final Verdict v = new Recording(s).config(s.defaultConfig()).context(new ScenarioContext(ARGS, kernel, List.of()))
            .schedule("seeded", 0).output(out).run().verdict();
        final TraceHeader h;
        try (TraceReader r = TraceReader.open(out))
        {
            h = r.header();
        }
        return new Run(v, Analysis.run(out, Symbols.of(h, catalog), null));
    }

    @Test
    void pcacheMovePteLeavesTheRmapBehindItsLockAndTheFixLeavesNothing()
    {
        final Run bad = record(dir.resolve("bad"), "lego-2018-02-05");
        final List<Finding> f = bad.analysis().findings.stream().filter(x -> x.analyzer.equals("invariants")).toList();
        assertEquals(1, f.size(), bad.analysis().findings::toString);
        final Finding inv = f.get(0);
        assertTrue(bad.analysis().verdict.startsWith("verdict: pcache-rmap: pcache_move_pte at event " + inv.event + " [invariants]"),
            bad.analysis().verdict);
        assertTrue(inv.title.startsWith("pcache-rmap broken by pcache_move_pte on cpu"), inv.title);
        assertTrue(inv.title.contains("holding no lock, mended by pcache_move_pte on cpu") &&
            inv.title.contains("holding no lock (the update finished outside the lock)"), inv.title);
        assertTrue(inv.title.contains("but that pte is not present"), inv.title);
        // Both writes in SYSC_mremap: the unlock that broke it, the rmap store that mended it.
        assertTrue(inv.report.contains(" _spin_unlock+") && inv.report.contains(" pcache_move_pte+0x60/") &&
            inv.report.contains(" SYSC_mremap+"), inv.report);

        // In the recorded events: the breaking event is the set lock's release, a store on a P cpu in pcache_move_pte.
        try (TraceReader r = TraceReader.open(dir.resolve("bad")))
        {
            final Event e = new Event();
            boolean seen = false;
            while (r.next(e))
            {
                if (e.index() == inv.event)
                {
                    seen = true;
                    assertEquals(EventKind.STORE, e.kind());
                    assertTrue(e.cpu() < 4, "a processor cpu: " + e.cpu());
                    break;
                }
            }
            assertTrue(seen);
        }

        final Run fixed = record(dir.resolve("fixed"), "lego-2018-02-06");
        assertEquals(Verdict.Kind.GOOD, fixed.verdict().kind, fixed.verdict().message);
        assertEquals(List.of(), fixed.analysis().findings, fixed.analysis().verdict);
        assertEquals("verdict: clean (no findings)", fixed.analysis().verdict);
    }
}
