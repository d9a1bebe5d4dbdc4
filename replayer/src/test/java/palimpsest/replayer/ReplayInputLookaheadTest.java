package palimpsest.replayer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.emulator.input.SeededInput;
import palimpsest.recorder.Recording;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.DecodeAhead;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.InputKind;
import palimpsest.trace.TraceReader;

/**
 * ReplayInput answering from the verifier's next recorded event gives the recorded answers, in
 * order, as a stream of inputs would: while the run agrees with the recording, and after it has
 * diverged (a what-if run going on), when it reads on from the first input it had not answered.
 */
class ReplayInputLookaheadTest
{
    @TempDir
    Path dir;

    /** Asks in what the emulator asks for the recorded input e (the question its kind names). */
    private static long ask(final ReplayInput in, final Event e)
    {
        final int cpu = e.cpu();
        switch ((int)e.a())
        {
            case InputKind.SLICE:
                return in.slice(cpu);
            case InputKind.PICK_CPU:
                return in.pickCpu(e.b() >= 0 && e.b() < 64 ? 1L << e.b() : 1, 0);
            case InputKind.IRQ_DELAY:
                return in.irqDelay(cpu, 32);
            case InputKind.NET_LATENCY:
                return in.netLatency(0, 1, 64);
            case InputKind.NET_DROP:
                return in.netDrop(0, 1, 64) ? 1 : 0;
            case InputKind.RANDOM:
                return in.random();
            default:
                return in.stimulus(0, 0);
        }
    }

    @Test
    void theRecordedAnswersInOrderBeforeAndAfterADivergence()
    {
        final Path trace = dir.resolve("t");
        new Recording(ScenarioCatalog.load().find("ipi-pingpong")).schedule("chaos", 2).output(trace).run();
        long inputs = 0;
        long divergeAt = -1;
        try (TraceReader r = TraceReader.open(trace))
        {
            final Event e = new Event();
            while (r.next(e))
            {
                if (e.isInput() && ++inputs == 20)
                {
                    divergeAt = e.index() + 3;
                }
            }
        }
        assertTrue(inputs > 40, "inputs " + inputs);
        assertTrue(divergeAt > 0);
        long answered = 0;
        long afterDivergence = 0;
        try (DecodeAhead d = DecodeAhead.open(trace); TraceReader r = TraceReader.open(trace))
        {
            final Verifier v = new Verifier(d, false);
            final ReplayInput in = new ReplayInput(v, trace, new SeededInput(99));
            final Event e = new Event();
            while (r.next(e))
            {
                if (e.isInput())
                {
                    // Asked first, then recorded: exactly the emulator's order.
                    assertEquals(e.b(), ask(in, e), "answer to input at event " + e.index());
                    answered++;
                    afterDivergence += v.divergence() != null ? 1 : 0;
                }
                if (e.index() == divergeAt)
                {
                    // Another pc: the run departs here and goes on uncompared (what-if).
                    v.event(e.kind(), e.cpu(), e.icount(), e.pc() + 1, e.a(), e.b(), e.c());
                    assertNotNull(v.divergence());
                    continue;
                }
                e.writeTo(v);
            }
            assertNull(in.departure(), in.departure());
            assertEquals(inputs, in.answered());
            in.close();
        }
        assertEquals(inputs, answered);
        assertTrue(afterDivergence > 10, "answers from the stream after the divergence: " + afterDivergence);
    }
}
