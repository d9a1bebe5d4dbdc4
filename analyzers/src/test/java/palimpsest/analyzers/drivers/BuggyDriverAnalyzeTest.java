package palimpsest.analyzers.drivers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.Analysis;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.recorder.Recording;
import palimpsest.recorder.RecordingSummary;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.kernel.Mark;
import palimpsest.trace.Event;
import palimpsest.trace.EventFormatter;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceReader;

/**
 * Recorded positive cases from a plugin driver ({@link BuggyDriver}): each bug's run is analyzed
 * with every analyzer and must be named by its class, and each fixed form must report nothing.
 */
class BuggyDriverAnalyzeTest
{
    private static final ScenarioCatalog CATALOG = ScenarioCatalog.load();

    @TempDir
    Path dir;

    record Run(RecordingSummary summary, Analysis.Result result)
    {
    }

    private Path trace(final String bug, final boolean fixed)
    {
        return dir.resolve(bug + (fixed ? "-fixed" : ""));
    }

    private Recording recording(final String bug, final boolean fixed)
    {
        return new Recording(CATALOG.find(BuggyDriverScenario.NAME))
            .context(new ScenarioContext(Map.of("bug", bug, "fixed", fixed ? "1" : "0"), "head", List.of())).schedule("seeded", 1)
            .keyframeEvery(0).output(trace(bug, fixed));
    }

    private Run run(final String bug, final boolean fixed)
    {
        final Recording rec = recording(bug, fixed);
        final RecordingSummary sum = rec.run();
        return new Run(sum, Analysis.run(trace(bug, fixed), Symbols.of(rec.header(), CATALOG), null));
    }

    private static String all(final Analysis.Result r)
    {
        final StringBuilder sb = new StringBuilder(r.verdict).append('\n');
        for (final Finding f : r.findings)
        {
            sb.append("* [").append(f.analyzer).append("] ").append(f.title).append('\n').append(f.report).append('\n');
        }
        return sb.toString();
    }

    private static Finding only(final Analysis.Result r, final String bugClass)
    {
        Finding found = null;
        for (final Finding f : r.findings)
        {
            if (f.bugClass.equals(bugClass))
            {
                assertEquals(null, found, () -> "one " + bugClass + " finding: " + all(r));
                found = f;
            }
        }
        assertNotNull(found, () -> "no " + bugClass + " finding: " + all(r));
        return found;
    }

    @Test
    void anUninitialisedLengthFromAKmallocedRequestIsKmsanAtTheCopyNamingTheModulesKmalloc()
    {
        final Run run = run("uninit-length", false);
        assertEquals(Verdict.Kind.GOOD, run.summary().verdict().kind, run.summary().verdict()::toString);
        final Analysis.Result r = run.result();
        assertEquals(1, r.findings.size(), () -> all(r));
        final Finding f = only(r, "uninit-value");
        assertTrue(r.verdict.startsWith("verdict: uninit-value: buggy_ioctl [buggydrv]'s kmalloc at event "), r.verdict);
        // Module names survive the unload: the report is printed after rmmod freed the module's text.
        assertTrue(f.report.contains("BUG: KMSAN: uninit-value in buggy_ioctl+0x30/0x100 [buggydrv]\n buggy_ioctl+0x30/0x100 [buggydrv]\n"), f.report);
        assertTrue(f.report.contains("and used as a length at event"), f.report);
        assertTrue(f.report.contains("Uninit was created at:\n kmem_cache_alloc+0x"), f.report);
        assertTrue(f.report.contains(" __kmalloc+0x9/0x60\n buggy_ioctl+0x25/0x100 [buggydrv]\n"), f.report);
        assertTrue(f.report.contains("Bytes 8-15 of 64 are uninitialized (kmalloc(64) from the kmalloc-64 cache)"), f.report);
        assertTrue(f.report.contains("The bytes: 6b 6b 6b 6b 6b 6b 6b 6b"), f.report);
    }

    @Test
    void anUninitialisedBranchConditionIsKmsanAtTheBranch()
    {
        final Analysis.Result r = run("uninit-branch", false).result();
        assertEquals(1, r.findings.size(), () -> all(r));
        final Finding f = only(r, "uninit-value");
        assertTrue(f.report.contains("BUG: KMSAN: uninit-value in buggy_ioctl+0x40/0x100 [buggydrv]"), f.report);
        assertTrue(f.report.contains("and used as a branch condition at event"), f.report);
        assertTrue(f.report.contains("Bytes 0-7 of 64 are uninitialized"), f.report);
        assertEquals("buggy_ioctl [buggydrv]'s kmalloc", f.culprit);
    }

    @Test
    void aStackBufferOverflowInTheIoctlNamesTheWriterAndTheBadReturnItCaused()
    {
        final Run run = run("stack", false);
        assertEquals(Verdict.Kind.BAD, run.summary().verdict().kind, run.summary().verdict()::toString);
        assertTrue(run.summary().verdict().message.contains("general protection fault"), run.summary().verdict()::toString);
        final Analysis.Result r = run.result();
        assertTrue(r.verdict.startsWith("verdict: stack-out-of-bounds: copy_from_user at event "), r.verdict);
        assertTrue(r.verdict.contains("; it led to: oops at 4141414141414141 in buggy_set_name+0x5e/0x60 [buggydrv]"), r.verdict);
        assertEquals(1, r.stories.size(), () -> all(r));
        final Finding smash = only(r, "stack-out-of-bounds");
        assertTrue(smash.report.contains("BUG: KASAN: stack-out-of-bounds in copy_from_user+0x"), smash.report);
        assertTrue(smash.report.contains(" copy_from_user+0x4/0x40\n buggy_set_name+0x9/0x60 [buggydrv]\n buggy_ioctl+0x9/0x100 [buggydrv]\n"), smash.report);
        assertTrue(smash.report.contains("of the frame of buggy_set_name"), smash.report);
        final Finding oops = only(r, "oops");
        assertTrue(oops.report.contains("[1] fault: bad return: ret to 4141414141414141, not text (general protection fault on a non-canonical"
            + " address), the return address popped from "), oops.report);
        assertTrue(oops.report.contains("written 0x4141414141414141 (was 0xffffffff806"), oops.report);
        assertTrue(oops.report.contains("writer: copy_from_user <- buggy_set_name+0x9/0x60 [buggydrv] <- buggy_ioctl+0x9/0x100 [buggydrv]"), oops.report);
    }

    @Test
    void aDmaIntoTheFreedRxBufferNamesWhoPostedItAndWhoFreedIt()
    {
        final Run run = run("dma-uaf", false);
        assertEquals(Verdict.Kind.GOOD, run.summary().verdict().kind, run.summary().verdict()::toString);
        final Analysis.Result r = run.result();
        final Finding f = only(r, "dma-use-after-free");
        assertTrue(r.verdict.startsWith("verdict: dma-use-after-free: kmem_cache_free <- kfree <- buggy_ioctl+0x65/0x100 [buggydrv]"), r.verdict);
        assertTrue(f.report.contains("BUG: KASAN: use-after-free in DMA by nic0 (device 0x8000, node 0's NIC)"), f.report);
        assertTrue(f.report.contains("The buffer was posted (descriptor written) by task 5 on cpu0 at event "), f.report);
        assertTrue(f.report.contains(" buggy_init+0x36/0x80 [buggydrv]\n buggydrv_init_module+0x9/0x40 [buggydrv]\n"), f.report);
        assertTrue(f.report.contains("and freed, while the device still owned it, by task 5 on cpu0 at event "), f.report);
        assertTrue(f.report.contains(" kfree+0x9/0x60\n buggy_ioctl+0x65/0x100 [buggydrv]\n"), f.report);
        // The device's write is the dma analyzer's: no heap report names a cpu for it.
        assertFalse(all(r).contains("cpu32768"), () -> all(r));
        assertFalse(all(r).contains("in 0x0\n"), () -> all(r));
    }

    @Test
    void theFixedDriverAndTheBugFreeRunReportNothing()
    {
        for (final String bug : new String[] {"none", "uninit-length", "uninit-branch", "stack", "dma-uaf", "lockup"})
        {
            final Run run = run(bug, true);
            assertEquals(Verdict.Kind.GOOD, run.summary().verdict().kind, () -> bug + ": " + run.summary().verdict());
            assertEquals("verdict: clean (no findings)", run.result().verdict, () -> bug + ": " + all(run.result()));
        }
    }

    @Test
    void aLockNeverReleasedOnAnErrorPathIsASoftLockupNamingWhoHoldsIt()
    {
        final Run run = run("lockup", false);
        assertEquals(Verdict.Kind.BAD, run.summary().verdict().kind, run.summary().verdict()::toString);
        final Analysis.Result r = run.result();
        assertEquals(1, r.findings.size(), () -> all(r));
        final Finding f = only(r, "lockup");
        assertEquals(Finding.Role.SYMPTOM, f.role);
        assertTrue(r.verdict.startsWith("verdict: BUG: soft lockup - CPU#0 stuck: spinning in _spin_lock+0x14/0x40 on "), r.verdict);
        assertTrue(r.verdict.contains("; no cause found: no finding links it to an earlier event; checked: "), r.verdict);
        assertTrue(f.report.contains("called from buggy_ioctl+0x95/0x100 [buggydrv]"), f.report);
        assertTrue(f.report.contains("The lock is held: taken at event "), f.report);
        assertTrue(f.report.contains(" by buggy_ioctl+0x95/0x100 [buggydrv] on cpu0 task "), f.report);
        assertTrue(f.report.contains("never released since (by the spinning task itself: a recursive lock)"), f.report);
    }

    @Test
    void moduleFunctionsKeepTheirNamesInTheDumpAfterTheModuleIsUnloaded() throws Exception
    {
        final Path t = trace("uninit-length", true);
        final Recording rec = recording("uninit-length", true);
        rec.run();
        // As pal dump streams: the module symbols are remembered at load; by the end the module is gone
        // (rmmod: its text unregistered, its memory vfree'd), and its pcs still symbolize.
        final Symbols symbols = Symbols.of(rec.header(), CATALOG);
        long ioctlPc = 0;
        boolean unloaded = false;
        try (TraceReader reader = TraceReader.open(t))
        {
            final MachineShadow shadow = new MachineShadow(reader.header().cpuCount(), reader.header().cpusPerNode());
            symbols.readModulesFrom(shadow.memory());
            final Event e = new Event();
            while (reader.next(e))
            {
                symbols.onEvent(e);
                shadow.apply(e);
                if (ioctlPc == 0 && e.kind() == EventKind.REG && symbols.sym(e.pc()).startsWith("buggy_ioctl+"))
                {
                    ioctlPc = e.pc();
                }
                unloaded |= e.kind() == EventKind.MARK && e.a() == Mark.MODULE_UNLOAD;
            }
        }
        assertTrue(unloaded, "the program unloads the module");
        assertTrue(ioctlPc != 0, "the ioctl ran");
        final String sym = symbols.sym(ioctlPc);
        assertTrue(sym.matches("buggy_ioctl\\+0x[0-9a-f]+/0x100 \\[buggydrv\\]"), sym);
        final StringBuilder line = new StringBuilder();
        new EventFormatter(symbols::symbolOrNull, null, Mark::name).format(markAt(t, ioctlPc), line);
        assertTrue(line.toString().contains("pc=" + sym), line::toString);
    }

    /** The first event at pc. */
    private static Event markAt(final Path t, final long pc)
    {
        try (TraceReader reader = TraceReader.open(t))
        {
            final Event e = new Event();
            while (reader.next(e))
            {
                if (e.pc() == pc)
                {
                    return e;
                }
            }
        }
        throw new AssertionError("no event at " + Long.toHexString(pc));
    }
}
