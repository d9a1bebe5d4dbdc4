package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.core.Symbols;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Verdict;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceReader;

/**
 * The LegoOS diary's 02/05, 02/19 and 03/01 bugs on the lego branch of the series, recorded: the
 * mechanism in the events and what pal analyze answers first; the fixed tags analyze clean.
 */
class LegoLateDiaryTest
{
    private static final ScenarioCatalog CATALOG = ScenarioCatalog.load();
    private static final MachineConfig LEGO = new MachineConfig(2, 2, 32);

    /** A COW break's line: the shared line's checksum, then the fill of the same page with its own. */
    private static final java.util.regex.Pattern CSUM_PAIR = java.util.regex.Pattern.compile(
        "pcache_do_wp_page\\(\\): pid:\\d+ tgid:\\d+ address:(0x7e[0-9a-f]+) shared line csum:(0x[0-9a-f]+)\n(?:.*\n)*?.*" +
        "__pcache_do_fill_page\\(\\): O pid:\\d+ tgid:\\d+ address:\\1 flags:0x51 ret:0\\(OKAY\\) csum:(0x[0-9a-f]+)");

    @TempDir
    Path dir;

    private LegoRun record(final String scenario, final String kernel, final Map<String, String> args)
    {
        return LegoRun.record(CATALOG, dir, scenario, kernel, args, "seeded", 0, LEGO);
    }

    @Test
    void forkCowWithoutTheFlushLetsTheParentsThreadWriteTheChildsCopy() throws Exception
    {
        final LegoRun bad = record("lego-fork-cow", "lego-2018-03-01", Map.of("page-csum", "1"));
        assertEquals(Verdict.Kind.BAD, bad.summary.verdict().kind, bad.summary.verdict()::toString);
        assertTrue(bad.summary.verdict().message.contains("the child's copy changed after fork"), bad.summary.verdict()::toString);
        // The mechanism: after fork_dup_pcache made the writer's pte read-only, the writer's cpu
        // stored into the line with no fault, no invlpg and no CR3 write in between.
        long wp = -1;
        int writerCpu = -1;
        long staleStores = 0;
        try (TraceReader r = TraceReader.open(bad.trace))
        {
            final Symbols sym = Symbols.of(r.header(), CATALOG);
            final Event e = new Event();
            boolean dup = false;
            while (r.next(e))
            {
                final String fn = sym.function(e.pc());
                dup |= "fork_dup_pcache".equals(fn);
                if (e.kind() == EventKind.STORE && wp < 0 && dup && "set_pte_at".equals(fn) && e.size() == 8 &&
                    (e.oldValue() & 2) != 0 && (e.value() & 2) == 0 && (e.value() & 1) != 0)
                {
                    wp = e.index();
                }
                else if (wp >= 0 && e.kind() == EventKind.STORE && fn != null && fn.endsWith("fork_cow_writer"))
                {
                    writerCpu = e.cpu();
                    staleStores++;
                }
                else if (wp >= 0 && writerCpu >= 0 && e.cpu() == writerCpu && e.kind() == EventKind.EXCEPTION)
                {
                    break;
                }
            }
        }
        assertTrue(wp >= 0, "fork_dup_pcache write-protected a writable pte");
        assertTrue(staleStores > 0, "the writer kept storing after the write-protect, without a fault");
        final Finding first = bad.analysis.findings.get(0);
        assertTrue(bad.analysis.verdict.startsWith("verdict: stale-tlb: set_pte_at <- fork_dup_pcache <- p2m_fork"), bad.analysis.verdict);
        assertTrue(first.title.contains("wrote through a write-protected translation"), first.title);

        // The diary's csum pair: what the child saw in the shared line, then the memory node's copy of the same page.
        final java.util.regex.Matcher b = CSUM_PAIR.matcher(bad.console);
        assertTrue(b.find(), bad.console::toString);
        assertTrue(!b.group(2).equals(b.group(3)), b.group());

        final LegoRun ok = record("lego-fork-cow", "lego-2018-03-01-fix", Map.of("page-csum", "1"));
        assertEquals(Verdict.Kind.GOOD, ok.summary.verdict().kind, ok.summary.verdict()::toString);
        assertEquals(0, ok.analysis.findings.size(), ok.analysis.findings::toString);
        final java.util.regex.Matcher g = CSUM_PAIR.matcher(ok.console);
        assertTrue(g.find(), ok.console::toString);
        assertEquals(g.group(2), g.group(3), g.group());
    }

    @Test
    void apsBootedWithoutTheirHotplugStatesAreNamedWithTheBootPath()
    {
        final LegoRun bad = record("lego-word-count", "lego-2018-02-05-cpuhp", Map.of("threads", "2", "words", "200"));
        assertEquals(Verdict.Kind.BAD, bad.summary.verdict().kind, bad.summary.verdict()::toString);
        // Short runs on 2 cpus may end before the tick check can tell; the APs are never active, so nothing runs there either.
        final String why = bad.summary.verdict().message;
        assertTrue(why.contains("took no timer tick") || why.contains("ran on cpu 0 only"), why);
        assertTrue(bad.analysis.verdict.startsWith("verdict: cpu-bringup: do_boot_cpu <- _cpu_up"), bad.analysis.verdict);
        assertTrue(bad.analysis.findings.get(0).title.contains("came online without its hotplug states"), bad.analysis.findings::toString);
        final LegoRun ok = record("lego-word-count", "lego-2018-02-05-cpuhp-fix", Map.of("threads", "2", "words", "200"));
        assertEquals(Verdict.Kind.GOOD, ok.summary.verdict().kind, ok.summary.verdict()::toString);
        assertEquals(0, ok.analysis.findings.size(), ok.analysis.findings::toString);
    }

    @Test
    void userTasksConfinedByTheIdleTasksMaskAreFollowedBackToTheNarrowingStore()
    {
        final LegoRun bad = record("lego-word-count", "lego-2018-02-19", Map.of("threads", "2", "words", "200"));
        assertEquals(Verdict.Kind.BAD, bad.summary.verdict().kind, bad.summary.verdict()::toString);
        assertTrue(bad.summary.verdict().message.contains("every user task on [P0] ran on cpu 0 only"), bad.summary.verdict()::toString);
        final Finding f = bad.analysis.findings.get(0);
        assertEquals("cpu-bringup", f.analyzer, bad.analysis.findings::toString);
        assertTrue(f.title.contains("ran on cpu 0 only") && f.title.contains("cpus_allowed 0x1"), f.title);
        // The chain: copy_process copied it into kernel_init's task; sched_init (in start_kernel) narrowed init_task's.
        assertTrue(f.report.contains("copied   at event") && f.report.contains("by copy_process"), f.report);
        assertTrue(f.report.contains("narrowed at event") && f.report.contains("by start_kernel"), f.report);
        final LegoRun ok = record("lego-word-count", "lego-2018-02-19-fix", Map.of("threads", "2", "words", "200"));
        assertEquals(Verdict.Kind.GOOD, ok.summary.verdict().kind, ok.summary.verdict()::toString);
        assertEquals(0, ok.analysis.findings.size(), ok.analysis.findings::toString);
    }
}
