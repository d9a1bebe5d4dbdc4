package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;

/** pal replay: fresh recordings verify event for event, whatever schedule recorded them. */
class ReplayCommandTest
{
    @TempDir
    Path tmp;

    private void recordAndReplay(final String scenario, final String schedule, final String seed)
    {
        final Path trace = tmp.resolve(scenario + "-" + schedule);
        final Result rec = pal("record", "--scenario", scenario, "--schedule", schedule, "--seed", seed, "-o", trace.toString());
        assertEquals(0, rec.rc(), rec.toString());
        final String events = rec.out().lines().filter(l -> l.strip().startsWith("events")).findFirst().orElseThrow()
            .strip().split("\\s+")[1];
        final Result r = pal("replay", trace.toString());
        assertEquals(0, r.rc(), r.toString());
        assertTrue(r.out().contains("all " + events.replace(",", "") + " events verified"), r.out() + "\nrecorded " + events);
        assertTrue(r.out().contains("verdict  good"), r.out());
    }

    @Test
    void aFreeRunningKernelRecordingReplaysExactly()
    {
        recordAndReplay("word-count", "free", "0");
    }

    @Test
    void aChaosHardwareRecordingReplaysExactly()
    {
        recordAndReplay("net-echo", "chaos", "7");
    }

    @Test
    void aForkCowRecordingReplaysExactly()
    {
        recordAndReplay("fork-cow", "seeded", "3");
    }

    /** Every built-in scenario, recorded free-running and under chaos, replays event for event. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"boot", "exec", "word-count", "fork-cow", "text-poke-scribble",
        "ipi-pingpong", "net-echo", "tlb-stale", "tlb-shootdown", "jos-hello", "jos-user-exception", "akaros-pmu-profile",
            "lego-word-count", "lego-word-count-seq", "lego-exec", "lego-fork-cow", "lego-word-count-pthread", "lego-iozone", "lego-python"})
    void everyBuiltInScenarioReplaysUnderFreeAndChaos(final String scenario)
    {
        assertTrue(palimpsest.recorder.ScenarioCatalog.load().names().contains(scenario), scenario);
        for (final String schedule : new String[] {"free", "chaos"})
        {
            final Path trace = tmp.resolve(scenario + "-all-" + schedule);
            final Result rec = pal("record", "--scenario", scenario, "--schedule", schedule, "--seed", "11", "-o", trace.toString());
            assertTrue(rec.rc() == 0 || rec.rc() == 1, rec.toString());
            final Result r = pal("replay", trace.toString());
            assertEquals(0, r.rc(), r.toString());
            assertTrue(r.out().contains(" events verified"), r.out());
        }
    }

    /** The JOS and Akaros stories on their own kernels (upcalls, abandoned stacks, PMU skid) replay exactly too. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"jos-hello,jos-lab4c", "jos-user-exception,jos-lab4b", "akaros-pmu-profile,akaros-2016-06-02",
        "lego-fork-cow,lego-2018-03-01", "lego-word-count-pthread,lego-2018-02-11", "lego-iozone,lego-2018-02-16", "lego-python,lego-2018-03-08", "lego-word-count-seq,lego-2018-02-13"})
    void theBranchStoriesReplayUnderFreeAndChaos(final String scenario, final String kernel)
    {
        for (final String schedule : new String[] {"free", "chaos"})
        {
            final Path trace = tmp.resolve(scenario + "-" + kernel + "-" + schedule);
            final Result rec = pal("record", "--scenario", scenario, "--kernel", kernel, "--schedule", schedule, "--seed", "11",
                "-o", trace.toString());
            assertTrue(rec.rc() == 0 || rec.rc() == 1, rec.toString());
            final Result r = pal("replay", trace.toString());
            assertEquals(0, r.rc(), r.toString());
            assertTrue(r.out().contains(" events verified"), r.out());
        }
    }

    @Test
    void everyBuiltInScenarioIsCovered()
    {
        assertEquals(java.util.Set.of("boot", "exec", "word-count", "fork-cow", "text-poke-scribble", "ipi-pingpong", "net-echo",
            "tlb-stale", "tlb-shootdown", "jos-hello", "jos-user-exception", "akaros-pmu-profile",
            "lego-word-count", "lego-word-count-seq", "lego-exec", "lego-fork-cow", "lego-word-count-pthread", "lego-iozone", "lego-python"),
            palimpsest.recorder.ScenarioCatalog.load().names().stream().filter(n -> !n.startsWith("test-"))
            .collect(java.util.stream.Collectors.toSet()),
            "a new built-in scenario: add it to everyBuiltInScenarioReplaysUnderFreeAndChaos");
    }

    @Test
    void garbageIsBadInput()
    {
        final Result r = pal("replay", tmp.toString());
        assertEquals(2, r.rc(), r.toString());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("pal: "), r.err());
    }
}
