package palimpsest.analyzers.regs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.emulator.ScenarioContext;
import palimpsest.recorder.Recording;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.Event;
import palimpsest.trace.Reg;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceSeeker;

/**
 * {@link RegisterProvenance#lastWriteNear} (backwards through the chunk table) gives the pass's
 * answer (event, pc, value and how) for every tracked register of every cpu, before events at chunk
 * starts, inside chunks, near the start and at the end of a recorded kernel run.
 */
class RegisterProvenanceTest
{
    private static final int[] REGS = {Reg.SP, Reg.FP, Reg.FLAGS, Reg.CR3, Reg.CPL};

    @TempDir
    Path dir;

    @Test
    void backwardsThroughTheChunkTableIsThePass()
    {
        final Path t = dir.resolve("fork-cow");
        new Recording(ScenarioCatalog.load().find("fork-cow")).context(new ScenarioContext(Map.of(), "head", List.of()))
            .schedule("seeded", 3).keyframeEvery(0).output(t).run();
        final List<Long> befores = new ArrayList<>();
        final int cpus;
        try (TraceSeeker s = TraceSeeker.open(t))
        {
            assertTrue(s.chunks() > 8, "several chunks: " + s.chunks());
            cpus = s.header().cpuCount();
            final long n = s.events();
            for (final long b : new long[] {1, 50, s.chunkFirstIndex(1), s.chunkFirstIndex(1) + 1, s.chunkFirstIndex(s.chunks() / 2) + 7,
                n / 3, n - 1, n})
            {
                befores.add(b);
            }
            befores.sort(null);
        }
        // The pass (what lastWrite does), its answers taken just before each event of befores.
        final List<String[][]> expected = new ArrayList<>();
        try (TraceReader r = TraceReader.open(t))
        {
            final Event e = new Event();
            final RegisterWriters w = new RegisterWriters(cpus);
            long at = 0;
            int k = 0;
            while (k < befores.size())
            {
                while (k < befores.size() && befores.get(k) == at)
                {
                    expected.add(answers(w, cpus));
                    k++;
                }
                if (k == befores.size() || !r.next(e))
                {
                    break;
                }
                w.onEvent(e);
                at = e.index() + 1;
            }
        }
        assertEquals(befores.size(), expected.size());
        int written = 0;
        for (int k = 0; k < befores.size(); k++)
        {
            for (int cpu = 0; cpu < cpus; cpu++)
            {
                for (int i = 0; i < REGS.length; i++)
                {
                    final RegisterProvenance.Answer got = RegisterProvenance.lastWriteNear(t, cpu, REGS[i], befores.get(k));
                    assertEquals(expected.get(k)[cpu][i], got.event + " " + got.pc + " " + got.value + " " + got.how,
                        "cpu" + cpu + " " + Reg.name(REGS[i]) + " before " + befores.get(k));
                    written += got.event >= 0 ? 1 : 0;
                }
            }
        }
        assertTrue(written > befores.size() * 4, "most registers were written: " + written);
    }

    private static String[][] answers(final RegisterWriters w, final int cpus)
    {
        final String[][] a = new String[cpus][REGS.length];
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            for (int i = 0; i < REGS.length; i++)
            {
                final int reg = REGS[i];
                final long ev = w.event(cpu, reg);
                a[cpu][i] = ev < 0 ? "-1 0 0 " : ev + " " + w.pc(cpu, reg) + " " + w.value(cpu, reg) + " " + w.describe(cpu, reg);
            }
        }
        return a;
    }
}
