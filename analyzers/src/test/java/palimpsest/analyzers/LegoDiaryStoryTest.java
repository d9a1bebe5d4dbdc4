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
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.recorder.Recording;
import palimpsest.recorder.RecordingSummary;
import palimpsest.recorder.ScenarioCatalog;

/**
 * The LegoOS diary's loader bugs, recorded on two nodes and analyzed: the kmalloc'ed stack vma
 * (lego-2018-02-11) and the .bss that lego_clear_user did not clear (lego-2018-02-16), each named
 * on the verdict line, and nothing on the kernel with the fix.
 */
class LegoDiaryStoryTest
{
    private static final ScenarioCatalog CATALOG = ScenarioCatalog.load();
    private static final MachineConfig LEGO = new MachineConfig(2, 2, 32);

    @TempDir
    Path dir;

    private record Run(RecordingSummary summary, Analysis.Result result)
    {
    }

    private Run run(final String scenario, final String kernel, final Map<String, String> args)
    {
        final Path trace = dir.resolve(scenario + "-" + kernel);
        final Recording rec = new Recording(CATALOG.find(scenario)).context(new ScenarioContext(args, kernel, List.of()))
            .schedule("seeded", 0).keyframeEvery(0).output(trace).config(LEGO);
        final RecordingSummary sum = rec.run();
        return new Run(sum, Analysis.run(trace, Symbols.of(rec.header(), CATALOG), null));
    }

    @Test
    void theKmallocedStackVmaIsNamedAsTheOriginOfTheGarbageVmOps()
    {
        final Run bad = run("lego-word-count-pthread", "lego-2018-02-11", Map.of("words", "200"));
        assertEquals(Verdict.Kind.BAD, bad.summary().verdict().kind, bad.summary().verdict()::toString);
        assertTrue(bad.summary().verdict().toString().contains("NULL pointer dereference at 0000000000000031"),
            bad.summary().verdict()::toString);
        final String v = bad.result().verdict;
        assertTrue(v.startsWith("verdict: uninit-value: __bprm_mm_init's kmalloc at event "), v);
        assertTrue(v.contains("handle_lego_mm_fault+0x160/"), v);
        final Finding kmsan = bad.result().findings.stream().filter(f -> f.analyzer.equals("kmsan")).findFirst().orElseThrow();
        // The bytes were the previous user's: bprm->buf's data-size word (p_filesz 0x31) in the same kmalloc-128 slot.
        assertTrue(kmsan.report.contains("The value 0x0000000000000031 was loaded from"), kmsan.report);
        assertTrue(kmsan.report.contains(" __bprm_mm_init+"), kmsan.report);
        final Run good = run("lego-word-count-pthread", "lego-2018-02-12", Map.of("words", "200"));
        assertEquals(Verdict.Kind.GOOD, good.summary().verdict().kind, good.summary().verdict()::toString);
        assertEquals(0, good.result().findings.size(), () -> good.result().findings.toString());
    }

    @Test
    void theLoaderPathThatLeftBssDirtyIsNamedWithWhatTheBytesAre()
    {
        final Run bad = run("lego-iozone", "lego-2018-02-16", Map.of("words", "200"));
        assertEquals(Verdict.Kind.BAD, bad.summary().verdict().kind, bad.summary().verdict()::toString);
        final String v = bad.result().verdict;
        assertTrue(v.startsWith("verdict: dirty-bss: load_pxe_binary's .bss tail never cleared at event "), v);
        final Finding f = bad.result().findings.stream().filter(x -> x.analyzer.equals("zero-fill")).findFirst().orElseThrow();
        assertEquals(Finding.Role.CAUSE, f.role);
        // What the page held past the data: the file's next bytes (".comment"), copied by the loader on M, never cleared.
        assertTrue(f.report.contains("reads: 2e 63 6f 6d 6d 65 6e 74"), f.report);
        assertTrue(f.report.contains(" load_pxe_binary+") && f.report.contains(" exec_loader+") && f.report.contains(" handle_p2m_execve+"),
            f.report);
        assertTrue(f.report.contains("node 1"), f.report);
        final Run good = run("lego-iozone", "lego-2018-02-17", Map.of("words", "200"));
        assertEquals(Verdict.Kind.GOOD, good.summary().verdict().kind, good.summary().verdict()::toString);
        assertEquals(0, good.result().findings.size(), () -> good.result().findings.toString());
    }
}
