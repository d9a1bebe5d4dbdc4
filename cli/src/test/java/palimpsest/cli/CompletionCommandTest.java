package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code source <(pal completion bash)} in a real bash: the script's completion function, called as
 * bash calls it on TAB (COMP_WORDS, COMP_CWORD), offers the registries' names.
 */
class CompletionCommandTest
{
    @TempDir
    static Path dir;

    static Path script;

    @BeforeAll
    static void writeTheScript() throws IOException
    {
        final PalRunner.Result r = PalRunner.pal("completion", "bash");
        assertEquals(0, r.rc(), r::toString);
        script = dir.resolve("pal-completion.bash");
        Files.writeString(script, r.out());
    }

    /** The candidates bash would offer for the words of a command line, the last one being completed. */
    private static List<String> complete(final String... words) throws IOException, InterruptedException
    {
        final StringBuilder array = new StringBuilder();
        for (final String w : words)
        {
            array.append('\'').append(w.replace("'", "'\\''")).append("' ");
        }
        // compopt only works inside a real completion; the function's result is COMPREPLY either way.
        final String cmd = "compopt() { :; }; source '" + script + "'; COMP_WORDS=(" + array + "); COMP_CWORD=" + (words.length - 1) +
            "; COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}; _complete_pal; printf '%s\\n' \"${COMPREPLY[@]}\"";
        final Process p = new ProcessBuilder("bash", "--norc", "--noprofile", "-c", cmd).redirectErrorStream(true).start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out.lines().filter(l -> !l.isEmpty()).toList();
    }

    @Test
    void recordScenarioTCompletesTheScenariosStartingWithT() throws Exception
    {
        final List<String> c = complete("pal", "record", "--scenario", "t");
        assertTrue(c.containsAll(List.of("tlb-shootdown", "text-poke-scribble", "tlb-stale")), c::toString);
        for (final String s : c)
        {
            assertTrue(s.startsWith("t"), c::toString);
        }
    }

    @Test
    void verbsKernelVersionsAndPatchesComplete() throws Exception
    {
        assertTrue(complete("pal", "ti").contains("timeline"));
        final List<String> versions = complete("pal", "record", "--kernel", "v2.6.25");
        assertTrue(versions.containsAll(List.of("v2.6.25", "v2.6.25-git2")), versions::toString);
        final List<String> patches = complete("pal", "replay", "x", "--patch", "+x86-fix");
        assertEquals(List.of("+x86-fix-text-poke-core-kernel-text"), patches);
        final List<String> bisect = complete("pal", "bisect", "--scenario", "text-poke-scribble", "--good", "v2.6.2");
        assertTrue(bisect.contains("v2.6.25"), bisect::toString);
        final List<String> inv = complete("pal", "bisect", "t", "--invariant", "sl");
        assertEquals(List.of("slab-poison"), inv);
        final List<String> opts = complete("pal", "timeline", "--f");
        assertTrue(opts.containsAll(List.of("--format", "--from", "--force")), opts::toString);
    }

    @Test
    void zshGetsTheSameScriptAndAnUnknownShellIsOneLine()
    {
        final PalRunner.Result zsh = PalRunner.pal("completion", "zsh");
        assertEquals(0, zsh.rc(), zsh::toString);
        assertTrue(zsh.out().startsWith("#compdef pal"), zsh.out());
        assertTrue(zsh.out().contains("bashcompinit"), "picocli's script loads bashcompinit under zsh");
        final PalRunner.Result fish = PalRunner.pal("completion", "fish");
        assertEquals(2, fish.rc(), fish::toString);
        assertTrue(fish.err().startsWith("pal: completion: unknown shell 'fish'"), fish::toString);
        assertFalse(fish.err().contains("\tat "), fish::toString);
    }

    @Test
    void zshLoadsTheScriptAndRegistersPal() throws Exception
    {
        final boolean zsh = java.util.stream.Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
            .anyMatch(d -> Files.isExecutable(Path.of(d, "zsh")));
        // .ci/run sets PAL_REQUIRE_TEST_TOOLS: there a missing zsh fails the test; elsewhere it skips.
        if (System.getenv("PAL_REQUIRE_TEST_TOOLS") != null)
        {
            org.junit.jupiter.api.Assertions.assertTrue(zsh, "no zsh on PATH, and PAL_REQUIRE_TEST_TOOLS is set");
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(zsh, "no zsh here");
        final Path z = dir.resolve("pal-completion.zsh");
        Files.writeString(z, PalRunner.pal("completion", "zsh").out());
        final Process p = new ProcessBuilder("zsh", "-f", "-c", "source '" + z + "' && print -r -- ${_comps[pal]}")
            .redirectErrorStream(true).start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("_bash_complete") || out.contains("_complete_pal"), out);
    }

    @Test
    void versionNamesTheTraceFormat()
    {
        final PalRunner.Result v = PalRunner.pal("--version");
        assertEquals(0, v.rc(), v::toString);
        assertTrue(v.out().startsWith("palimpsest "), v.out());
        assertTrue(v.out().contains("trace format " + palimpsest.trace.TraceFormat.VERSION + " (writes format "
            + palimpsest.trace.TraceFormat.VERSION + "; reads only format "), v.out());
    }
}
