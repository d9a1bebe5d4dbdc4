package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 6 on the real 0xf0 trace: text-poke-scribble recorded on v2.6.25-git2 (text_poke maps
 * virt_to_page of an e1000 LOCK site, a dentry slab page, and patches it at suspend with 0x3e and
 * at resume with 0xf0; __d_lookup later follows the damaged d_hash.next and oopses). The analyzers
 * must name the writer, the object it hit and the link to the crash; the fixed kernel and v2.6.25
 * must come out clean.
 */
class TextPokeScribbleAnalyzeTest
{
    private static final String FAULT = "fffff0000032e550";

    @TempDir
    static Path dir;

    static Path bad;

    @BeforeAll
    static void recordTheBadRun()
    {
        bad = dir.resolve("bad");
        final PalRunner.Result rec = PalRunner.pal("record", "--scenario", "text-poke-scribble", "--kernel", "v2.6.25-git2",
            "-o", bad.toString());
        assertEquals(1, rec.rc(), rec::toString);
        assertTrue(rec.out().contains("BUG: unable to handle kernel paging request at " + FAULT), rec::toString);
    }

    /**
     * Issue 17: one decode of the trace feeds every analyzer and the who-wrote index (built in the
     * pass when it is not on disk), and every second stage's probes share one more pass; the same
     * findings whether the index was built in the pass or read from disk.
     */
    @Test
    void analyzeDecodesTheTraceOnceAndItsSecondStagesShareOneProbePass() throws Exception
    {
        final Path idx = palimpsest.analyzers.whowrote.WhoWroteIndex.fileOf(bad);
        java.nio.file.Files.deleteIfExists(idx);
        final palimpsest.trace.TraceHeader h;
        try (var r = palimpsest.trace.TraceReader.open(bad))
        {
            h = r.header();
        }
        final palimpsest.recorder.ScenarioCatalog catalog = palimpsest.recorder.ScenarioCatalog.load(getClass().getClassLoader());
        final palimpsest.analyzers.Analysis.Result built = palimpsest.analyzers.Analysis.run(bad,
            palimpsest.analyzers.core.Symbols.of(h, catalog), null);
        assertTrue(java.nio.file.Files.isRegularFile(idx), "the pass wrote " + idx);
        assertEquals(1, built.probePasses, "one probe pass for every second stage");
        assertTrue(built.analyzers.size() >= 13, built.analyzers::toString);
        final palimpsest.analyzers.Analysis.Result again = palimpsest.analyzers.Analysis.run(bad,
            palimpsest.analyzers.core.Symbols.of(h, catalog), null);
        assertEquals(reports(built), reports(again));
        assertEquals(built.verdict, again.verdict);
        assertTrue(built.findings.size() >= 9, reports(built));
    }

    private static String reports(final palimpsest.analyzers.Analysis.Result r)
    {
        final StringBuilder sb = new StringBuilder();
        r.findings.forEach(f -> sb.append(f.event).append(' ').append(f.title).append('\n').append(f.report));
        return sb.toString();
    }

    @Test
    void analyzeNamesTextPokeFromAlternativesSmpLockTheDentryItHitAndTheOops()
    {
        final PalRunner.Result r = PalRunner.pal("analyze", bad.toString());
        assertEquals(1, r.rc(), r::toString);
        final String out = r.out();
        // The oops chain, one line: the faulting load, X, the 0xf0 byte, its writer and the resume path.
        final Matcher chain = Pattern.compile("\\[oops] event (\\d+): oops at " + FAULT + " in __d_lookup\\+0x[0-9a-f]+/0x100"
            + " <- pointer loaded from (ffff88[0-9a-f]+) <- byte 5 written 0xf0 at event (\\d+) by text_poke <- alternatives_smp_lock"
            + " <- alternatives_smp_switch <- do_boot_cpu <- _cpu_up <- enable_nonboot_cpus <- enter_state <- kpowerd").matcher(out);
        assertTrue(chain.find(), out);
        final String x = chain.group(2);
        final String pokeEvent = chain.group(3);
        // The chain's detail: X is a live dentry, and the same byte got 0x3e at suspend first.
        assertTrue(out.contains("  [3] from X = " + x), out);
        assertTrue(out.contains("The buggy address belongs to the object at " + x + " which belongs to the cache dentry of size 128"), out);
        assertTrue(out.matches("(?s).*\\[5] before that, the same byte was written:\\n      0x3e \\(was 0x[0-9a-f]+\\) at event \\d+ by "
            + "text_poke <- alternatives_smp_unlock <- alternatives_smp_switch <- native_cpu_die <- cpu_down.*"), out);

        // The code-write audit: the 0xf0 store at resume and the 0x3e store at suspend, both into X's byte 5,
        // meant for an e1000 LOCK site printed with the module's own symbols.
        final String physX5 = Long.toHexString(Long.parseUnsignedLong(x, 16) + 5 - palimpsest.kernel.Layout.PAGE_OFFSET);
        assertTrue(out.contains("* [code] event " + pokeEvent + ": code write of 0xf0 by text_poke <- alternatives_smp_lock"), out);
        assertTrue(out.contains("landed at phys " + physX5 + " (live dentry object " + x + " +5)"), out);
        assertTrue(out.matches("(?s).*\\* \\[code] event \\d+: code write of 0x3e by text_poke <- alternatives_smp_unlock <- "
            + "alternatives_smp_switch <- native_cpu_die <- cpu_down[^\\n]*\\(live dentry object " + x + " \\+5\\).*"), out);
        assertTrue(out.matches("(?s).*The writer meant to write 0xf0 at ffffffff806[0-9a-f]+ e1000_\\w+\\+0x[0-9a-f]+/0x[0-9a-f]+ \\[e1000].*"), out);
        assertTrue(out.contains("Allocated by task 0 on cpu0 at event"), out);
        assertTrue(out.contains(" d_alloc+0x"), out);
        // Every code finding is a text_poke into the dentry page: none for the boot-time and core-kernel pokes,
        // which went through the vmap alias of the right page.
        final Matcher codes = Pattern.compile("\\* \\[code] [^\\n]*\\n").matcher(out);
        int n = 0;
        while (codes.find())
        {
            n++;
            assertTrue(codes.group().contains("live dentry object"), codes.group());
        }
        assertEquals(8, n, out); // 4 e1000 LOCK sites, suspend and resume
        assertTrue(out.contains(" 10 finding(s)"), out); // and the oops chain's own lead: the differing byte's writer
        assertTrue(out.startsWith("verdict: code-write: text_poke <- alternatives_smp_lock at event " + pokeEvent + " [code]; it led to: oops at "
            + FAULT + " in __d_lookup"), out);
    }

    @Test
    void whoWroteOnTheFaultingAddressFollowsTheOopsToTheTextPokeStore()
    {
        final PalRunner.Result r = PalRunner.pal("who-wrote", bad.toString(), "--addr", FAULT);
        assertEquals(0, r.rc(), r::toString);
        final Matcher m = Pattern.compile(FAULT + " was never written: it is the faulting address of the oops at event \\d+; "
            + "the bad pointer was loaded from (ffff88[0-9a-f]+) at event \\d+, whose byte 5 was last written by event (\\d+):").matcher(r.out());
        assertTrue(m.find(), r::toString);
        final String x = m.group(1);
        final String ev = m.group(2);
        assertTrue(r.out().contains("#" + ev + " cpu0 task "), r::toString);
        assertTrue(r.out().contains("store.1 virt ffffc9"), r::toString); // through text_poke's vmap alias
        assertTrue(r.out().contains("by text_poke+0x"), r::toString);
        assertTrue(r.out().contains("  0x3e -> 0xf0"), r::toString);
        assertTrue(r.out().contains("  writer: text_poke <- alternatives_smp_lock <- alternatives_smp_switch"), r::toString);
        assertTrue(r.out().contains("object at " + x + " which belongs to the cache dentry"), r::toString);

        // Direct: who wrote byte 5 of X; with --all also the 0x3e at suspend, the first scribble.
        final String x5 = Long.toHexString(Long.parseUnsignedLong(x, 16) + 5);
        final PalRunner.Result direct = PalRunner.pal("who-wrote", bad.toString(), "--addr", x5);
        assertEquals(0, direct.rc(), direct::toString);
        assertTrue(direct.out().contains("#" + ev + " cpu0 task "), direct::toString);
        assertTrue(direct.out().contains("  0x3e -> 0xf0"), direct::toString);
        final PalRunner.Result all = PalRunner.pal("who-wrote", bad.toString(), "--addr", x5, "--all");
        assertEquals(0, all.rc(), all::toString);
        assertTrue(all.out().contains("  writer: text_poke <- alternatives_smp_unlock <- alternatives_smp_switch <- native_cpu_die"), all::toString);

        // pal state, from the trace alone: byte 5 of X just before the 0xf0 store (0x3e, the UP form
        // poked at suspend), and 0xf0 right after it.
        final long n = Long.parseLong(ev);
        assertEquals("3e", stateByte5(x, n), "byte 5 of X before the resume poke");
        assertEquals("f0", stateByte5(x, n + 1), "byte 5 of X after the resume poke");

        // An address nobody wrote that is not the oops's: still "nobody", exit 1.
        final PalRunner.Result other = PalRunner.pal("who-wrote", bad.toString(), "--addr", "fffff0000032e000");
        assertEquals(1, other.rc(), other::toString);
        assertTrue(!other.out().contains("was never written"), other::toString);
    }

    @ParameterizedTest
    @ValueSource(strings = {"v2.6.25-git2:+x86-fix-text-poke-core-kernel-text", "v2.6.25"})
    void theFixedKernelAndTheOldOneAreClean(final String kernel)
    {
        final String[] kp = kernel.split(":");
        final Path t = dir.resolve(kp[0] + (kp.length > 1 ? "-fix" : ""));
        final PalRunner.Result rec = kp.length > 1
            ? PalRunner.pal("record", "--scenario", "text-poke-scribble", "--kernel", kp[0], "--patch", kp[1], "-o", t.toString())
            : PalRunner.pal("record", "--scenario", "text-poke-scribble", "--kernel", kp[0], "-o", t.toString());
        assertEquals(0, rec.rc(), rec::toString);
        final PalRunner.Result r = PalRunner.pal("analyze", t.toString());
        assertEquals(0, r.rc(), r::toString);
        assertTrue(r.out().contains(" 0 finding(s)"), r::toString);
    }

    /** Byte 5 of the 8 bytes at x as pal state prints them at event n (hex dump: address then bytes). */
    private static String stateByte5(final String x, final long n)
    {
        final PalRunner.Result r = PalRunner.pal("state", bad.toString(), "--at", String.valueOf(n), "--cpu", "0", "--mem", x + ":8");
        assertEquals(0, r.rc(), r::toString);
        final Matcher m = Pattern.compile("(?m)^\\s+" + x + "((?:\\s+[0-9a-f]{2}){8})").matcher(r.out());
        assertTrue(m.find(), r::toString);
        return m.group(1).trim().split("\\s+")[5];
    }
}
