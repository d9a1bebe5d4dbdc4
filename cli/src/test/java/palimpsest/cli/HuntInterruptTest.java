package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;
import palimpsest.hunt.Manifest;

/** A hunt stopped as Ctrl-C stops it (SIGTERM: the same shutdown path) keeps every finished run; --resume finishes it. */
class HuntInterruptTest
{
    @TempDir
    Path tmp;

    @Test
    void aStoppedHuntLosesNothingAndResumes() throws Exception
    {
        final Path dir = tmp.resolve("stopped");
        final List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        for (final String a : ManagementFactory.getRuntimeMXBean().getInputArguments())
        {
            if (a.startsWith("--add-") || a.startsWith("-Dchronicle"))
            {
                cmd.add(a);
            }
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "palimpsest.cli.Main",
            "hunt", "--scenario", "tlb-stale", "--seeds", "1..100000", "--jobs", "1", "-o", dir.toString()));
        final Path err = tmp.resolve("err.txt");
        final ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(err.toFile());
        pb.environment().put("PAL_PROGRESS", "off");
        final Process p = pb.start();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (Manifest.read(dir).size() < 5 && p.isAlive() && System.nanoTime() < deadline)
        {
            Thread.sleep(20);
        }
        p.destroy();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the hunt stops");
        final String stderr = Files.readString(err, StandardCharsets.UTF_8);
        assertTrue(stderr.contains("pal: hunt stopped with ") && stderr.contains("continue with: pal hunt --resume " + dir), stderr);

        final int kept = Manifest.read(dir).size();
        assertTrue(kept >= 5, "finished runs are in the manifest: " + kept);
        final int upTo = kept + 3;
        final Result resumed = pal("hunt", "--resume", dir.toString(), "--seeds", "1.." + upTo);
        assertEquals(0, resumed.rc(), resumed.toString());
        assertTrue(resumed.out().contains(upTo + " runs (3 new"), "only the seeds not in the manifest run:\n" + resumed);
        final Path fresh = tmp.resolve("fresh");
        assertEquals(0, pal("hunt", "--scenario", "tlb-stale", "--seeds", "1.." + upTo, "-o", fresh.toString()).rc());
        assertEquals(bySeed(fresh), bySeed(dir), "the stopped and resumed campaign = one run in one go");
    }

    /** Manifest lines are in the order runs finished; compare by seed. */
    private static List<Manifest.Entry> bySeed(final Path dir)
    {
        final List<Manifest.Entry> l = new ArrayList<>(Manifest.read(dir));
        l.sort(java.util.Comparator.comparingLong(Manifest.Entry::seed));
        return l;
    }
}
