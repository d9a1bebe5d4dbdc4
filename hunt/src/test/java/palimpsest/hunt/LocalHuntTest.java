package palimpsest.hunt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.emulator.Verdict;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.Replay;
import palimpsest.replayer.ReplayResult;

/** Local campaigns over the seed-dependent racy-counter scenario: grouping, --jobs, resume. */
class LocalHuntTest
{
    static final HuntSpec SPEC = new HuntSpec("racy-counter", 1, 2, 4, "chaos", "", List.of(), Map.of("rounds", "20"));

    @TempDir
    Path tmp;

    static HuntReport hunt(final HuntSpec spec, final String seeds, final Path dir, final int jobs) throws InterruptedException
    {
        try (LocalRunner r = new LocalRunner(jobs, LocalHuntTest.class.getClassLoader(), dir.resolve(Campaign.WORK)))
        {
            return new Campaign(spec, SeedRange.parse(seeds), dir).run(r);
        }
    }

    @Test
    void groupsFailuresAndKeepsOnlyTheirTraces() throws Exception
    {
        final HuntReport rep = hunt(SPEC, "1..50", tmp.resolve("a"), 1);
        assertEquals(50, rep.entries.size());
        assertTrue(rep.bad > 0 && rep.good > 0, "some seeds lose updates, others do not: " + rep.good + " good");
        assertEquals(1, rep.groups.size(), "lost counts differ but are one signature: " + rep.groups);
        assertEquals("bad: racy-counter: lost N of N updates", rep.groups.get(0).signature());
        for (final Manifest.Entry e : rep.entries)
        {
            final Path t = tmp.resolve("a").resolve("traces").resolve("seed-" + e.seed());
            assertEquals(e.failed(), Files.isDirectory(t), "trace kept iff the run failed: seed " + e.seed());
        }
    }

    @Test
    void jobsChangeNothingButTheWallTime() throws Exception
    {
        final HuntReport one = hunt(SPEC, "1..30", tmp.resolve("one"), 1);
        final HuntReport two = hunt(SPEC, "1..30", tmp.resolve("two"), 2);
        assertEquals(one.entries, two.entries, "same verdicts, signatures, digests and traces per seed");
        assertEquals(one.groups, two.groups);
    }

    @Test
    void resumeRunsOnlyTheSeedsNotInTheManifest() throws Exception
    {
        final Path dir = tmp.resolve("r");
        final HuntReport first = hunt(SPEC, "1..20", dir, 2);
        assertEquals(20, first.ran);
        // A kill in the middle of a line, and a trace moved into place whose line never came.
        Files.writeString(dir.resolve(Manifest.FILE), "21\tBAD\t00", java.nio.file.StandardOpenOption.APPEND);
        Files.createDirectories(dir.resolve("traces/seed-22"));
        final HuntReport resumed = hunt(SPEC, "1..30", dir, 2);
        assertEquals(10, resumed.ran, "seeds 21..30 only");
        assertEquals(30, resumed.entries.size());
        assertEquals(hunt(SPEC, "1..30", tmp.resolve("fresh"), 2).entries, resumed.entries,
            "a resumed campaign ends as one run in one go");
        final HuntReport again = hunt(SPEC, "1..30", dir, 1);
        assertEquals(0, again.ran, "nothing left to do");
    }

    @Test
    void aKeptTraceReplaysBitForBit() throws Exception
    {
        final Path dir = tmp.resolve("k");
        final HuntReport rep = hunt(SPEC, "1..10", dir, 1);
        final Manifest.Entry bad = rep.entries.stream().filter(Manifest.Entry::failed).findFirst().orElseThrow();
        final ReplayResult rr = new Replay(dir.resolve(bad.trace()), ScenarioCatalog.load(getClass().getClassLoader())).run();
        assertTrue(rr.verifiedAll(), "replay verifies every event: " + rr.divergence);
        assertEquals(bad.events(), rr.verified);
        assertEquals(Verdict.Kind.BAD, rr.verdict.kind);
        assertFalse(Files.exists(dir.resolve(Campaign.WORK)), "no scratch left behind");
    }
}
