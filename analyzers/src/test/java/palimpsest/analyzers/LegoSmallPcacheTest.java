package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.emulator.Apic;
import palimpsest.emulator.Verdict;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceReader;

/**
 * The fixed kernel at a small pcache, where lines mremap moved are evicted while their thread
 * touches them: word_count-pthread under a chaos seed whose fill path meets a page's victim slot
 * before the eviction copied the line in (the window in which, before LegoOS's two-step victim
 * insertion was modelled, the fill took the memory node's older copy: a keys page came back zero,
 * `segfault at 0` in strcmp, a short count; LegoVictimFillTest checks the wait in the events).
 * GOOD, and every analyzer silent.
 */
class LegoSmallPcacheTest
{
    private static final ScenarioCatalog CATALOG = ScenarioCatalog.load();

    @TempDir
    Path dir;

    @Test
    void aFillThatWaitsForAVictimAtA128KiBPcacheIsGoodAndClean()
    {
        final LegoRun run = LegoRun.record(CATALOG, dir, "lego-word-count-pthread", "lego-2018-02-06",
            Map.of("words", "6000", "vocab", "6000", "pcache-kb", "128"), "chaos", 12, null);
        assertEquals(Verdict.Kind.GOOD, run.summary.verdict().kind, () -> run.summary.verdict() + "\n" + run.console);
        assertEquals(0, run.analysis.findings.size(), () -> run.analysis.verdict + "\n" + run.analysis.findings);
        assertEquals("verdict: clean (no findings)", run.analysis.verdict);
    }

    /**
     * An IPI is two APIC writes, the destination (ICR_HI) and then the send (ICR_LO). On this seed,
     * before sendIpi wrote them with interrupts off, the ibapi RX interrupt came between the two,
     * its handler's wake-up IPI left its own destination in ICR_HI, and the interrupted shootdown's
     * IPI went there: smp_call_function waited for ever (the run reached the instruction limit).
     * Now the run is GOOD and clean, and no cpu takes an interrupt between its two writes.
     */
    @Test
    void noInterruptComesBetweenAnIpisDestinationAndItsSend() throws Exception
    {
        final LegoRun run = LegoRun.record(CATALOG, dir, "lego-word-count-pthread", "lego-2018-02-06",
            Map.of("words", "12000", "vocab", "12000", "pcache-kb", "128"), "chaos", 16, null);
        assertEquals(Verdict.Kind.GOOD, run.summary.verdict().kind, () -> run.summary.verdict() + "\n" + run.console);
        assertEquals(0, run.analysis.findings.size(), () -> run.analysis.verdict + "\n" + run.analysis.findings);
        final long icrHi = 0xFEE0_0000L + Apic.ICR_HI;
        final long icrLo = 0xFEE0_0000L + Apic.ICR_LO;
        final boolean[] between = new boolean[64];
        long sends = 0;
        long interrupts = 0;
        try (TraceReader r = TraceReader.open(run.trace))
        {
            final Event e = new Event();
            while (r.next(e))
            {
                if (e.kind() == EventKind.IO && e.a() == icrHi)
                {
                    between[e.cpu()] = true;
                }
                else if (e.kind() == EventKind.IO && e.a() == icrLo)
                {
                    sends += between[e.cpu()] ? 1 : 0;
                    between[e.cpu()] = false;
                }
                else if (e.kind() == EventKind.INTERRUPT)
                {
                    interrupts++;
                    final long at = e.index();
                    assertTrue(!between[e.cpu()], () -> "cpu" + e.cpu() + " took an interrupt at event " + at + " between ICR_HI and ICR_LO");
                }
            }
        }
        assertTrue(sends > 1000 && interrupts > 1000, sends + " IPIs sent, " + interrupts + " interrupts");
    }
}
