package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.BisectCommandTest.index;
import static palimpsest.cli.PalRunner.pal;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;
import palimpsest.cli.testing.NoisePatches;

/**
 * Issue 7 on the real 0xf0 bug (text-poke-scribble): patch bisect from v2.6.25 to git2 (and with
 * a noise patch that makes a candidate SKIP), divergence bisect and diff of the good and bad
 * recordings, pal check, and invariant bisect on the bad one. One good and one bad recording,
 * shared, with a keyframe every 200,000 events (so the invariant bisect has several).
 */
class ScribbleBisectTest
{
    static final String SCENARIO = "text-poke-scribble";
    static final String BUG = "x86-debug-rodata-alternatives";

    @TempDir
    static Path tmp;
    static Path good;
    static Path bad;

    @BeforeAll
    static void record()
    {
        good = tmp.resolve("good");
        bad = tmp.resolve("bad");
        final Result g = pal("record", "--scenario", SCENARIO, "--kernel", "v2.6.25", "--keyframe-every", "200000",
            "-o", good.toString());
        assertEquals(0, g.rc(), g::toString);
        final Result b = pal("record", "--scenario", SCENARIO, "--kernel", "v2.6.25-git2", "--keyframe-every", "200000",
            "-o", bad.toString());
        assertEquals(1, b.rc(), b::toString);
        assertTrue(b.out().contains("oops in __d_lookup"), b::toString);
    }

    @Test
    void patchBisectNamesTheDebugRodataAlternativesPatch()
    {
        final Result r = pal("bisect", "--scenario", SCENARIO, "--good", "v2.6.25", "--bad", "v2.6.25-git2",
            "-o", tmp.resolve("pb").toString());
        assertEquals(0, r.rc(), r::toString);
        assertTrue(r.out().startsWith("first bad patch: " + BUG + " \"x86: enhance DEBUG_RODATA support - alternatives\""),
            r::toString);
        // 8 candidates: +4 (device-pm-add-warn) good, +6 (sched-clock-tweak) bad, +5 bad.
        assertTrue(r.out().contains("8 candidates, 4 replays"), r::toString);
        assertTrue(r.out().contains("git bisect start 'v2.6.25-git2' 'v2.6.25'"), r::toString);
        assertTrue(r.out().contains("git bisect good device-pm-add-warn"), r::toString);
        assertTrue(r.out().contains("git bisect bad sched-clock-tweak"), r::toString);
        assertTrue(r.out().contains("git bisect bad " + BUG), r::toString);
        assertTrue(r.out().contains("# first bad commit: [" + BUG + "]"), r::toString);
        assertTrue(r.out().contains("oops in __d_lookup"), r::toString);
    }

    @Test
    void aNoisePatchThatBreaksTheRunIsSkippedAndTheBugStillNamed() throws Exception
    {
        final Path jar = tmp.resolve("noise.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar)))
        {
            out.putNextEntry(new JarEntry("META-INF/services/palimpsest.kernel.patches.Patch"));
            out.write((NoisePatches.ProbeFail.class.getName() + "\n" + NoisePatches.ProbeFix.class.getName() + "\n")
                .getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
        }
        final ClassLoader before = Thread.currentThread().getContextClassLoader();
        final Result r;
        final Result alone;
        try
        {
            r = pal("bisect", "--plugin", jar.toString(), "--scenario", SCENARIO, "--good", "v2.6.25", "--bad", "v2.6.25-git2",
                "-o", tmp.resolve("pb-noise").toString());
            // The broken driver alone: init cannot load e1000, the scenario cannot tell.
            alone = pal("record", "--plugin", jar.toString(), "--scenario", SCENARIO, "--kernel", "v2.6.25",
                "--patch", "+" + NoisePatches.FAIL, "-o", tmp.resolve("noise-alone").toString());
        }
        finally
        {
            Thread.currentThread().setContextClassLoader(before);
        }
        assertEquals(125, alone.rc(), alone::toString);
        assertTrue(alone.out().contains("skip: the run broke before the workload started"), alone::toString);
        assertEquals(0, r.rc(), r::toString);
        assertTrue(r.out().startsWith("first bad patch: " + BUG + " "), r::toString);
        // 10 candidates (the two noise patches sit after device-pm-add-warn): the midpoint +5 is the
        // failing probe (skip), its neighbour +6 (the fix) good, then +8 bad, +7 (the bug) bad.
        assertTrue(r.out().contains("10 candidates, 5 replays"), r::toString);
        assertTrue(r.out().contains("git bisect skip " + NoisePatches.FAIL), r::toString);
        assertTrue(r.out().contains("git bisect good " + NoisePatches.FIX), r::toString);
        assertTrue(r.out().contains("git bisect bad sched-clock-tweak"), r::toString);
        assertTrue(r.out().contains("# first bad commit: [" + BUG + "]"), r::toString);
        assertTrue(r.err().contains("v2.6.25+5 [" + NoisePatches.FAIL + "] skip"), r::toString);
        assertTrue(r.err().contains("the run broke before the workload started"), r::toString);
    }

    @Test
    void divergenceBisectAndDiffPutTheFirstDivergenceAtTheTextPokeStore()
    {
        final Result b = pal("bisect", "--good", good.toString(), "--bad", bad.toString());
        assertEquals(1, b.rc(), b::toString);
        final Result d = pal("diff", good.toString(), bad.toString());
        assertEquals(1, d.rc(), d::toString);
        final Result w = pal("replay", bad.toString(), "--kernel", "v2.6.25");
        assertEquals(1, w.rc(), w::toString);
        final long at = index(w.out(), "diverges at event #(\\d+)");
        assertEquals(at, index(b.out(), "the runs diverge at event #(\\d+)"), () -> b + "\n" + w);
        assertEquals(at, index(d.out(), "first divergence at event #(\\d+)"), () -> d + "\n" + w);
        // The good kernel's text_poke stores the byte (f0 -> 3e: alternatives going UP at suspend);
        // the buggy one first asks kernel_text_address (a call: the stack pointer moves).
        final String goodLine = b.out().lines().filter(l -> l.startsWith("  good:")).findFirst().orElseThrow();
        assertTrue(goodLine.contains("pc=text_poke+") && goodLine.contains("store.1") && goodLine.contains("f0 -> 3e"), b::toString);
        final String badLine = b.out().lines().filter(l -> l.startsWith("  bad:")).findFirst().orElseThrow();
        assertTrue(badLine.contains("pc=text_poke+"), b::toString);
        assertTrue(b.out().contains("alternatives_smp_unlock"), b::toString);
        assertTrue(d.out().contains("pc text_poke+"), d::toString);
    }

    @Test
    void checkSaysBadAndGood()
    {
        final Result r = pal("check", bad.toString());
        assertEquals(1, r.rc(), r::toString);
        assertTrue(r.out().startsWith("bad: oops in __d_lookup"), r::toString);
        assertEquals(0, pal("check", good.toString()).rc());
    }

    @Test
    void dcacheHashStopsAtTheTextPokeStoreIntoTheVictimDentryAndShowsTheLaterF0Store()
    {
        final Result r = pal("bisect", bad.toString(), "--invariant", "dcache-hash");
        assertEquals(1, r.rc(), r::toString);
        // Several keyframes: the binary search skipped most of the trace.
        final java.util.regex.Matcher kf = java.util.regex.Pattern
            .compile("\\((\\d+) keyframes, (\\d+) states checked by binary search; linear pass from event #(\\d+)").matcher(r.out());
        assertTrue(kf.find(), r::toString);
        assertTrue(Integer.parseInt(kf.group(1)) >= 4 && Integer.parseInt(kf.group(2)) < Integer.parseInt(kf.group(1)), r::toString);
        assertEquals(0, Long.parseLong(kf.group(3)) % 200_000, r::toString);
        final String write = r.out().lines().filter(l -> l.startsWith("  the write:")).findFirst().orElseThrow();
        // The first breaking write: suspend's alternatives_smp_unlock puts 0x3e into byte 5 of the
        // victim dentry's d_hash.next through the wrong page (page 0x600, offset 0x08d).
        assertTrue(write.contains("pc=text_poke+") && write.contains("store.1") && write.contains("p=000000000060008d") &&
            write.contains("-> 3e"), r::toString);
        assertTrue(r.out().contains("points to ffff3e00"), r::toString);
        final String chain = r.out().lines().filter(l -> l.startsWith("  call chain:")).findFirst().orElseThrow();
        assertTrue(chain.contains("alternatives_smp_unlock") && chain.contains("native_cpu_die") && chain.contains("cpu_down"), r::toString);
        // Then resume's alternatives_smp_lock: the same byte becomes 0xf0 (fffff000... is what __d_lookup trips on).
        final String later = r.out().substring(r.out().indexOf("later writes to those bytes"));
        assertTrue(later.contains("3e -> f0") && later.contains("pc=text_poke+"), r::toString);
        assertTrue(later.contains("alternatives_smp_lock") && later.contains("enable_nonboot_cpus"), r::toString);
        // The first divergence from the good kernel comes earlier, in the same text_poke call chain.
        final long first = index(r.out(), "first fails at event #(\\d+)");
        final long divergence = index(pal("bisect", "--good", good.toString(), "--bad", bad.toString()).out(),
            "the runs diverge at event #(\\d+)");
        assertTrue(divergence < first, r::toString);
    }

    @Test
    void invariantsHoldOnTheGoodRecordingAtEveryWrite()
    {
        for (final String inv : List.of("dcache-hash", "page-tables", "kernel-text"))
        {
            final Result r = pal("bisect", good.toString(), "--invariant", inv, "--linear");
            assertEquals(0, r.rc(), r::toString);
            assertTrue(r.out().contains("holds throughout") && r.out().contains("linear pass over every write"), r::toString);
        }
        assertEquals(0, pal("bisect", good.toString(), "--invariant", "page-tables").rc());
    }
}
