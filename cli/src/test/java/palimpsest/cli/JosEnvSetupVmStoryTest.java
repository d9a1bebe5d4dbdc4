package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;

import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;
import palimpsest.trace.TraceReader;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * JOS's env_setup_vm copying every page-directory entry: the lower tables of the exception-stack
 * slot are shared by kern_pgdir and every environment, so one environment's page_insert frees the
 * exception-stack page another one just allocated, and the damage shows later.
 */
class JosEnvSetupVmStoryTest
{
    @TempDir
    static Path dir;

    static Path bad;

    @BeforeAll
    static void record()
    {
        bad = dir.resolve("bad");
        final PalRunner.Result r = PalRunner.pal("record", "--scenario", "jos-user-exception", "--kernel", "jos-lab4b", "--seed", "1", "-o", bad.toString());
        assertEquals(1, r.rc(), r::toString);
        final String out = r.out();
        // The notes' shapes: an exception stack allocated by one environment, then freed under it.
        final Matcher alloc = Pattern.compile("\\[(0000100\\d)] allocated 0x7e7ffffff000 -> 0x([0-9a-f]+)\\n").matcher(out);
        boolean freedUnderSomeone = false;
        while (alloc.find())
        {
            final String pa = Long.toHexString(Long.parseLong(alloc.group(2), 16));
            freedUnderSomeone |= out.indexOf("freed 0x" + pa + "\n", alloc.end()) >= 0;
        }
        assertTrue(freedUnderSomeone, r::toString);
        // The damage shows later, in one of the shapes the schedule picks: an environment's exception
        // frame holding another's bytes, its own data overwritten, or the freed page's state at exit.
        assertTrue(out.matches("(?s).*\\[0000100\\d] user fault va [0-9a-f]+ ip [0-9a-f]+\\n.*") || out.contains("BUG: Bad page state") ||
            out.matches("(?s).*\\[0000100\\d] string at [0-9a-f]+ was overwritten\\n.*"), r::toString);
    }

    @Test
    void theFixedKernelAndTheKernelBeforeTheBugAreClean()
    {
        for (final String v : new String[] {"jos-lab4b-fix", "jos-lab4a"})
        {
            final Path good = dir.resolve(v);
            final PalRunner.Result r = PalRunner.pal("record", "--scenario", "jos-user-exception", "--kernel", v, "-o", good.toString());
            assertEquals(0, r.rc(), r::toString);
            assertTrue(r.out().contains("faultalloc: every environment read its own strings"), r::toString);
            final PalRunner.Result a = PalRunner.pal("analyze", good.toString());
            assertEquals(0, a.rc(), a::toString);
        }
    }

    @Test
    void oneLeafTablePageIsWrittenFromTwoAddressSpaces()
    {
        // From the events alone: the MMU walks name the leaf table pages (the 4th entry of a walk
        // of a user address, first pass); present entries are stored into one of them while the cpu
        // runs two different CR3s (second pass): two environments' page_inserts, each on its own
        // page directory.
        final Map<Long, Set<Long>> writers = new HashMap<>();
        final Set<Long> leaves = new HashSet<>();
        for (int pass = 0; pass < 2; pass++)
        {
            try (TraceReader r = TraceReader.open(bad))
            {
                final long[] cr3 = new long[r.header().cpuCount()];
                final long[][] walk = new long[cr3.length][3];
                final Event e = new Event();
                while (r.next(e))
                {
                    final int c = e.cpu();
                    if (e.kind() == EventKind.REG && e.a() == Reg.CR3)
                    {
                        cr3[c] = e.b();
                    }
                    else if (e.kind() == EventKind.WALK && pass == 0)
                    {
                        final long[] w = walk[c];
                        if (w[0] != e.icount() || w[1] != e.vaddr() || w[2] == 4)
                        {
                            w[0] = e.icount();
                            w[1] = e.vaddr();
                            w[2] = 0;
                        }
                        if (++w[2] == 4 && e.vaddr() >= 0)
                        {
                            leaves.add(e.paddr() >>> 12);
                        }
                    }
                    else if (pass == 1 && e.kind() == EventKind.STORE && e.size() == 8 && (e.value() & 1) != 0 && leaves.contains(e.paddr() >>> 12))
                    {
                        writers.computeIfAbsent(e.paddr() >>> 12, x -> new HashSet<>()).add(cr3[c]);
                    }
                }
            }
        }
        assertTrue(writers.values().stream().anyMatch(w -> w.size() >= 2), writers.toString());

        // The page-tables invariant breaks at the copy in env_setup_vm.
        final PalRunner.Result inv = PalRunner.pal("bisect", bad.toString(), "--invariant", "page-tables");
        assertEquals(1, inv.rc(), inv::toString);
        assertTrue(inv.out().contains("pc=env_setup_vm+0x20/0x60"), inv::toString);
        assertTrue(inv.out().matches("(?s).*page-table page [0-9a-f]+ is swapper_pg_dir \\(the level-3 table for 7e0000000000\\) and also mm .*"),
            inv::toString);
    }

    @Test
    void analyzeNamesEnvSetupVmAndThePageInsertThatFreedTheOtherEnvironmentsPage()
    {
        final PalRunner.Result a = PalRunner.pal("analyze", bad.toString());
        assertEquals(1, a.rc(), a::toString);
        // The first story's first finding (after the verdict, summary and story header lines).
        final String first = java.util.Arrays.stream(a.out().split("\n")).filter(l -> l.startsWith("* ")).findFirst().orElse("");
        assertTrue(first.matches("\\* \\[pt-share] event \\d+: page-table page [0-9a-f]+ \\(level \\d, user [0-9a-f]+\\) shared between address "
            + "spaces: linked into pid \\d \\(env 0000100\\d\\)'s by env_setup_vm\\+0x20/0x60 \\(event \\d+\\), already pid \\d \\(env 0000100\\d\\)'s"),
            a::toString);
        assertTrue(a.out().matches("(?s).*\\* \\[pt-share] event \\d+: page [0-9a-f]+ freed \\(event \\d+\\) while pid \\d \\(env (0000100\\d)\\) still "
            + "mapped it: pid \\d \\(env (?!\\1)0000100\\d\\)'s set_pte_at <- page_remove <- page_insert <- \\w+ replaced the mapping.*"), a::toString);
    }

    @Test
    void patchBisectNamesTheMemcpy()
    {
        final PalRunner.Result b = PalRunner.pal("bisect", "--scenario", "jos-user-exception", "--good", "jos-lab4a", "--bad", "jos-lab4b");
        assertTrue(b.out().contains("first bad patch: jos-env-setup-vm-memcpy"), b::toString);
    }
}
