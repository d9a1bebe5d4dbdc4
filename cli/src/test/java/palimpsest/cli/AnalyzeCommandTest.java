package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AnalyzeCommandTest
{
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"word-count", "fork-cow", "ipi-pingpong"})
    void cleanRecordingsHaveNoFindings(final String scenario)
    {
        final Path t = dir.resolve(scenario);
        final PalRunner.Result rec = PalRunner.pal("record", "--scenario", scenario, "-o", t.toString());
        assertEquals(0, rec.rc(), rec::toString);
        final PalRunner.Result r = PalRunner.pal("analyze", t.toString());
        assertEquals(0, r.rc(), r::toString);
        assertTrue(r.out().contains(" 0 finding(s)"), r::toString);
    }

    @Test
    void whoWroteNamesTheWriterOfAKernelObjectWithItsBacktraceAndAllocation()
    {
        final Path t = dir.resolve("wc");
        assertEquals(0, PalRunner.pal("record", "--scenario", "word-count", "-o", t.toString()).rc());
        // The last dentry (cache 11 of the word-count kernel) the kernel allocates: from the SLAB_ALLOC marks.
        final PalRunner.Result dump = PalRunner.pal("dump", t.toString(), "--kind", "mark");
        String obj = null;
        for (final String line : dump.out().split("\n"))
        {
            if (line.contains("mark slab-alloc ") && line.contains(" c=0xb"))
            {
                obj = line.substring(line.indexOf(" b=0x") + 5, line.indexOf(" c="));
            }
        }
        assertTrue(obj != null, dump.out());
        final PalRunner.Result r = PalRunner.pal("who-wrote", t.toString(), "--addr", obj, "--len", "8");
        assertEquals(0, r.rc(), r::toString);
        assertTrue(r.out().matches("(?s).*#\\d+ cpu\\d task \\d+ store\\.8 virt " + obj + " .* by \\w+\\+0x.*"), r::toString);
        assertTrue(r.out().contains("  writer: "), r::toString);
        assertTrue(r.out().contains("which belongs to the cache dentry"), r::toString);
        assertTrue(r.out().contains("Allocated by task "), r::toString);
        assertTrue(Files.isRegularFile(t.resolve("who-wrote.idx")));
        final PalRunner.Result none = PalRunner.pal("who-wrote", t.toString(), "--addr", obj, "--len", "8", "--before", "1");
        assertEquals(1, none.rc(), none::toString);
    }

    @Test
    void badInputIsOneLineAndExitTwo()
    {
        final PalRunner.Result missing = PalRunner.pal("analyze", dir.resolve("nope").toString());
        assertEquals(2, missing.rc(), missing::toString);
        assertTrue(missing.err().startsWith("pal: "), missing::toString);
        assertFalse(missing.err().contains("\tat "), missing::toString);
        final Path t = dir.resolve("ipi");
        assertEquals(0, PalRunner.pal("record", "--scenario", "ipi-pingpong", "-o", t.toString()).rc());
        final PalRunner.Result badAddr = PalRunner.pal("who-wrote", t.toString(), "--addr", "xyz");
        assertEquals(2, badAddr.rc(), badAddr::toString);
        assertTrue(badAddr.err().startsWith("pal: --addr: not a hex address"), badAddr::toString);
        final PalRunner.Result badLen = PalRunner.pal("who-wrote", t.toString(), "--addr", "1000", "--len", "0");
        assertEquals(2, badLen.rc(), badLen::toString);
        final PalRunner.Result badOnly = PalRunner.pal("analyze", t.toString(), "--only", "nope");
        assertEquals(2, badOnly.rc(), badOnly::toString);
        assertTrue(badOnly.err().startsWith("pal: --only: unknown analyzer 'nope'; known analyzers: heap, code, oops, kmsan"), badOnly::toString);
        final PalRunner.Result only = PalRunner.pal("analyze", t.toString(), "--only", "kmsan,oops");
        assertEquals(0, only.rc(), only::toString);
        assertTrue(only.out().startsWith("verdict: clean (no findings)\n"), only::toString);
        assertTrue(only.out().contains("analyzers: oops, kmsan"), "pass order, whatever --only's order: " + only);
    }
}
