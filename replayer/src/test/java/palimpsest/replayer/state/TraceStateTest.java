package palimpsest.replayer.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.Random;
import java.util.TreeSet;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import palimpsest.emulator.CpuCore;
import palimpsest.emulator.Machine;
import palimpsest.recorder.Recording;
import palimpsest.recorder.RecordingSummary;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.Event;
import palimpsest.trace.TraceReader;

/**
 * What proves TraceState right: after n events it must equal, byte for byte and register for
 * register, the machine re-executed from the same trace and stopped the moment event n-1 is emitted.
 */
class TraceStateTest
{
    @TempDir
    Path dir;

    private final ScenarioCatalog catalog = ScenarioCatalog.load();

    @ParameterizedTest
    @CsvSource({"word-count,free,0,6", "ipi-pingpong,seeded,1,8", "ipi-pingpong,chaos,2,6", "net-echo,chaos,3,6",
        "fork-cow,seeded,5,6", "tlb-stale,chaos,4,4", "text-poke-scribble,seeded,1,6"})
    void stateAfterNEventsEqualsAReExecutionStoppedThere(final String scenario, final String schedule, final long seed,
        final int points)
    {
        final Path trace = dir.resolve(scenario);
        final RecordingSummary rec = new Recording(catalog.find(scenario)).schedule(schedule, seed).output(trace).run();
        final long total = rec.events();
        assertTrue(total > 1000, "a real run: " + total);
        final TreeSet<Long> at = new TreeSet<>();
        at.add(1L);
        at.add(2L);
        at.add(total);
        final Random random = new Random(seed * 31 + scenario.hashCode());
        while (at.size() < points + 3)
        {
            at.add(1 + (long)(random.nextDouble() * total));
        }
        final TraceState state = TraceState.initial(trace, catalog);
        assertEquals(0, state.position());
        try (TraceReader reader = TraceReader.open(trace))
        {
            final Event e = new Event();
            for (final long n : at)
            {
                assertEquals(n, state.advanceTo(reader, e, n));
                final Machine m = ReExecution.stoppedAfter(trace, catalog, n);
                if (m == null)
                {
                    continue;
                }
                compare(scenario + " (last event " + e + ")", n, state, m);
            }
        }
    }

    private static void compare(final String scenario, final long n, final TraceState state, final Machine m)
    {
        for (int node = 0; node < m.config().nodes; node++)
        {
            final byte[] want = m.memory(node).array();
            final byte[] got = state.memory(node).array();
            final int diff = java.util.Arrays.mismatch(want, got);
            if (diff >= 0)
            {
                fail(String.format("%s after %d events: node %d memory differs first at %x: re-executed %02x, state %02x",
                    scenario, n, node, diff, want[diff], got[diff]));
            }
        }
        for (int cpu = 0; cpu < m.cpuCount(); cpu++)
        {
            final CpuCore c = m.core(cpu);
            final CpuRegs want = new CpuRegs(cpu);
            want.set(c.pc(), c.icount(), c.sp(), c.fp(), c.flags(), c.cr3(), c.cr2(), c.cpl(),
                c.currentFiber() == null ? CpuRegs.NO_FIBER : c.currentFiber().id());
            final CpuRegs got = state.regs(cpu);
            if (!want.sameAs(got))
            {
                fail(scenario + " after " + n + " events:\n re-executed " + want + "\n state       " + got);
            }
        }
    }
}
