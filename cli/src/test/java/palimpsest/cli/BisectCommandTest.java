package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;
import palimpsest.cli.testing.ProbeScenario;
import palimpsest.emulator.Verdict;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.bisect.BisectResult;
import palimpsest.replayer.bisect.BisectStep;
import palimpsest.replayer.bisect.PatchBisect;

/**
 * Patch bisect over the test series of {@link palimpsest.cli.testing.ProbePatches} (the eight
 * candidates between v0.3 and v2.6.25: zt3 breaks the probe, zt4 wedges it until zt5), and
 * divergence bisect on two recordings.
 */
class BisectCommandTest
{
    @TempDir
    Path tmp;

    @Test
    void patchBisectNamesTheFirstBadPatchSteppingOverASkippedCandidate()
    {
        final Result r = pal("bisect", "--scenario", ProbeScenario.NAME, "--good", "v0.3", "--bad", "v2.6.25",
            "-o", tmp.resolve("bad").toString());
        assertEquals(0, r.rc(), r::toString);
        assertTrue(r.out().startsWith("first bad patch: zt3-probe-scribble \"probe: store 0xf0 into the object just freed\""), r::toString);
        // 8 candidates: the midpoint (zt4, wedged) is skipped, its neighbour zt5 is bad, then zt2 good, zt3 bad.
        assertTrue(r.out().contains("# skip: [zt4-probe-wedge]"), r::toString);
        assertTrue(r.out().contains("git bisect skip zt4-probe-wedge"), r::toString);
        assertTrue(r.out().contains("git bisect bad zt5-probe-unwedge"), r::toString);
        assertTrue(r.out().contains("git bisect good zt2-probe-noise"), r::toString);
        assertTrue(r.out().contains("git bisect bad zt3-probe-scribble"), r::toString);
        assertTrue(r.out().contains("# first bad commit: [zt3-probe-scribble]"), r::toString);
        assertTrue(r.out().contains("8 candidates, 5 replays"), r::toString);
        assertTrue(r.err().contains("bisect: v0.3+4 [zt4-probe-wedge] skip"), r::toString);
    }

    @Test
    void theEngineClassifiesEveryStepByTheScenarioVerdict()
    {
        final ScenarioCatalog catalog = ScenarioCatalog.load();
        final BisectResult r = new PatchBisect(catalog.find(ProbeScenario.NAME), catalog)
            .good("v0.3").bad("v2.6.25").badTrace(tmp.resolve("engine")).run();
        assertEquals("zt3-probe-scribble", r.firstBad().name());
        assertEquals(8, r.candidates.size());
        final List<BisectStep> steps = r.steps;
        // The recorded bad run, then the replays in order.
        assertTrue(steps.get(0).recorded);
        // The good end is checked first: candidate 0 replayed over the bad run.
        assertEquals(0, steps.get(1).candidate);
        assertEquals(Verdict.Kind.GOOD, steps.get(1).kind);
        assertEquals(List.of(4, 5, 2, 3), steps.subList(2, steps.size()).stream().map(s -> s.candidate).toList());
        assertEquals(List.of(Verdict.Kind.SKIP, Verdict.Kind.BAD, Verdict.Kind.GOOD, Verdict.Kind.BAD),
            steps.subList(2, steps.size()).stream().map(s -> s.kind).toList());
        assertEquals(5, r.replays);
    }

    @Test
    void aSkippedMidpointIsReplacedByItsNearestUntestedNeighbourUntilNoneIsLeft()
    {
        final Verdict.Kind[] known = new Verdict.Kind[6];
        known[0] = Verdict.Kind.GOOD;
        known[5] = Verdict.Kind.BAD;
        assertEquals(2, PatchBisect.pick(known, 0, 5));
        known[2] = Verdict.Kind.SKIP;
        assertEquals(3, PatchBisect.pick(known, 0, 5));
        known[3] = Verdict.Kind.SKIP;
        assertEquals(1, PatchBisect.pick(known, 0, 5));
        known[1] = Verdict.Kind.GOOD;
        assertEquals(4, PatchBisect.pick(known, 1, 5));
        known[4] = Verdict.Kind.SKIP;
        assertEquals(-1, PatchBisect.pick(known, 1, 5), "only skipped candidates left: the answer is a range");
    }

    @Test
    void divergenceBisectAgreesWithWhatIfReplay()
    {
        final Path good = tmp.resolve("good");
        final Path bad = tmp.resolve("bad");
        assertEquals(0, pal("record", "--scenario", ProbeScenario.NAME, "--kernel", "v0.3", "-o", good.toString()).rc());
        assertEquals(1, pal("record", "--scenario", ProbeScenario.NAME, "--kernel", "v0.3", "--patch", "+zt3-probe-scribble",
            "-o", bad.toString()).rc());
        final Result b = pal("bisect", "--good", good.toString(), "--bad", bad.toString());
        assertEquals(1, b.rc(), b::toString);
        final Result w = pal("replay", good.toString(), "--patch", "+zt3-probe-scribble");
        assertEquals(1, w.rc(), w::toString);
        final long at = index(b.out(), "the runs diverge at event #(\\d+)");
        assertEquals(index(w.out(), "diverges at event #(\\d+)"), at, () -> b + "\n" + w);
        // The kernels differ only in the patch, and the banner does not list patches: the
        // scribble itself is the first difference (the good run loads the byte it checks).
        final String badLine = b.out().lines().filter(l -> l.startsWith("  bad:")).findFirst().orElseThrow();
        assertTrue(badLine.contains("store.1") && badLine.contains("6b -> f0"), b::toString);
        assertEquals(0, pal("bisect", "--good", good.toString(), "--bad", good.toString()).rc());
    }

    @Test
    void divergenceBisectStopsAtTheScribbleWhenOnlyItDiffers()
    {
        final Path good = tmp.resolve("good");
        final Path bad = tmp.resolve("bad");
        assertEquals(0, pal("record", "--scenario", ProbeScenario.NAME, "--kernel", "v0.3", "-o", good.toString()).rc());
        assertEquals(1, pal("record", "--scenario", ProbeScenario.NAME, "--kernel", "v0.3", "--arg", "scribble=1",
            "-o", bad.toString()).rc());
        final Result b = pal("bisect", "--good", good.toString(), "--bad", bad.toString());
        assertEquals(1, b.rc(), b::toString);
        final String badLine = b.out().lines().filter(l -> l.startsWith("  bad:")).findFirst().orElseThrow();
        assertTrue(badLine.contains("store.1") && badLine.contains("6b -> f0"), b::toString);
        assertTrue(b.out().contains("agreeing chunks skipped by digest"), b::toString);
    }

    static long index(final String text, final String regex)
    {
        final Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), () -> regex + " not in:\n" + text);
        return Long.parseLong(m.group(1));
    }
}
