package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.invariants.DcacheHash;
import palimpsest.analyzers.invariants.KernelState;
import palimpsest.analyzers.invariants.SlabPoison;
import palimpsest.cli.PalRunner.Result;
import palimpsest.cli.testing.ProbeScenario;
import palimpsest.emulator.Machine;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Layout;
import palimpsest.kernel.fs.Vfs;
import palimpsest.kernel.patches.Patches;
import palimpsest.replayer.Replay;
import palimpsest.recorder.ScenarioCatalog;

/** pal diff, pal check and invariant bisect on a good and a scribbled recording of the probe. */
class DiffCheckInvariantTest
{
    @TempDir
    static Path tmp;
    static Path good;
    static Path bad;

    @BeforeAll
    static void record()
    {
        good = tmp.resolve("good");
        bad = tmp.resolve("bad");
        assertEquals(0, pal("record", "--scenario", ProbeScenario.NAME, "--kernel", "v0.3", "-o", good.toString()).rc());
        assertEquals(1, pal("record", "--scenario", ProbeScenario.NAME, "--kernel", "v0.3", "--arg", "scribble=1",
            "-o", bad.toString()).rc());
    }

    @Test
    void diffPutsTheFirstDivergenceWhereBisectDoesAndSummarises()
    {
        final Result d = pal("diff", good.toString(), bad.toString());
        assertEquals(1, d.rc(), d::toString);
        final Result b = pal("bisect", "--good", good.toString(), "--bad", bad.toString());
        assertEquals(BisectCommandTest.index(b.out(), "diverge at event #(\\d+)"),
            BisectCommandTest.index(d.out(), "first divergence at event #(\\d+)"), d::toString);
        assertTrue(d.out().contains("6b -> f0"), d::toString);
        assertTrue(d.out().contains("per cpu"), d::toString);
        assertTrue(d.out().contains("  store "), d::toString);
        assertTrue(d.out().contains("functions only in A"), d::toString);
        assertEquals(0, pal("diff", good.toString(), good.toString()).rc());
    }

    @Test
    void checkExitsWithTheScenarioVerdict()
    {
        assertEquals(0, pal("check", good.toString()).rc());
        final Result r = pal("check", bad.toString());
        assertEquals(1, r.rc(), r::toString);
        assertTrue(r.out().startsWith("bad:"), r::toString);
        final Path wedged = tmp.resolve("wedged");
        assertEquals(125, pal("record", "--scenario", ProbeScenario.NAME, "--kernel", "v0.3", "--patch", "+zt4-probe-wedge",
            "-o", wedged.toString()).rc());
        assertEquals(125, pal("check", wedged.toString()).rc());
        assertEquals(2, pal("check", tmp.resolve("nothing").toString()).rc());
    }

    @Test
    void slabPoisonBisectStopsAtTheScribble()
    {
        final Result r = pal("bisect", bad.toString(), "--invariant", "slab-poison");
        assertEquals(1, r.rc(), r::toString);
        assertTrue(r.out().contains("has byte +" + ProbeScenario.SCRIBBLE_OFFSET + " = f0"), r::toString);
        assertTrue(r.out().contains("store.1") && r.out().contains("6b -> f0"), r::toString);
        final Result d = pal("bisect", "--good", good.toString(), "--bad", bad.toString());
        assertEquals(BisectCommandTest.index(d.out(), "diverge at event #(\\d+)"),
            BisectCommandTest.index(r.out(), "first fails at event #(\\d+)"), r::toString);
    }

    @Test
    void invariantsHoldOnCleanRecordings()
    {
        for (final String inv : List.of("slab-poison", "dcache-hash", "kernel-text"))
        {
            final Result r = pal("bisect", good.toString(), "--invariant", inv);
            assertEquals(0, r.rc(), r::toString);
        }
        assertEquals(2, pal("bisect", good.toString(), "--invariant", "no-such").rc());
    }

    @Test
    void invariantsFireOnHandCorruptedState()
    {
        final Replay replay = new Replay(good, ScenarioCatalog.load());
        final Machine m = replay.run().machine;
        final KernelState s = new KernelState(m.memory(0), Patches.of("v0.3", List.of()));
        assertNull(new SlabPoison().check(s));
        assertNull(new DcacheHash().check(s));
        // A dentry chain link pointing into the middle of nowhere.
        final long table = s.memory.read64(Globals.phys(Globals.DENTRY_HASHTABLE));
        final long link = s.inspector.phys(table);
        final long saved = s.memory.read64(link);
        s.memory.write64(link, Layout.PAGE_OFFSET + 0x10);
        assertNotNull(new DcacheHash().check(s));
        s.memory.write64(link, saved);
        assertNull(new DcacheHash().check(s));
        // Find a freed object (a 0x6b6b... word in a slab page) and overwrite one of its bytes.
        boolean hit = false;
        for (long pa = 0; pa < s.memory.size() && !hit; pa += 8)
        {
            if (s.memory.read64(pa) == 0x6b6b6b6b6b6b6b6bL && s.inspector.slabPageOf(pa) != 0 &&
                new SlabPoison().checkWrite(s, pa, 8) == null && new SlabPoison().touches(s, pa, 8))
            {
                s.memory.write8(pa + 1, 0xf0);
                hit = new SlabPoison().checkWrite(s, pa + 1, 1) != null;
                assertNotNull(new SlabPoison().check(s));
            }
        }
        assertTrue(hit, "no freed object found to corrupt");
        assertTrue(Vfs.D_HASH_NEXT == 0);
    }
}
