package palimpsest.recorder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.EventSink;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceStatus;
import palimpsest.trace.TraceWriter;

class RecordingTest
{
    /** One cpu: prints, then loops stores/loads; records the sink it was given and its allocation. */
    static final class Loop implements Scenario
    {
        volatile EventSink sinkSeen;
        volatile long allocatedInLoop = -1;
        volatile long eventsInLoop;

        @Override
        public String name()
        {
            return "rec-loop";
        }

        @Override
        public String description()
        {
            return "recorder test loop";
        }

        @Override
        public MachineConfig defaultConfig()
        {
            return new MachineConfig(1, 1, 4);
        }

        @Override
        public void load(final Machine machine, final ScenarioContext context)
        {
            final long rounds = context.longArg("rounds", 1000);
            sinkSeen = machine.sink();
            machine.code().define("loop_main", 0xF000, 0x100, cpu -> run(cpu, rounds));
            machine.setBootEntry(0, 0xF000);
        }

        private void run(final Cpu cpu, final long rounds)
        {
            cpu.out(0x3F8, 'h');
            cpu.out(0x3F8, '\n');
            // warm up, then measure this thread's allocation over the second half
            final long half = rounds / 2;
            for (long i = 0; i < half; i++)
            {
                step(cpu, i);
            }
            final com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
            final long before = mx.getCurrentThreadAllocatedBytes();
            for (long i = half; i < rounds; i++)
            {
                step(cpu, i);
            }
            allocatedInLoop = mx.getCurrentThreadAllocatedBytes() - before;
            eventsInLoop = (rounds - half) * 2;
            cpu.out(Machine.POWER_PORT, 0);
        }

        private static void step(final Cpu cpu, final long i)
        {
            final long a = 0x10000 + (i & 63) * 8;
            cpu.store64(a, cpu.load64(a) + i);
        }

        @Override
        public Verdict verdict(final Machine machine, final Outcome outcome)
        {
            return outcome.clean() ? Verdict.good("ok") : Verdict.bad(outcome.toString());
        }
    }

    @Test
    void recordsHeaderEventsAndOutcome(@TempDir final Path tmp)
    {
        final Loop s = new Loop();
        final Path dir = tmp.resolve("t");
        final StringBuilder console = new StringBuilder();
        final RecordingSummary r = new Recording(s)
            .context(new ScenarioContext(Map.of("rounds", "5000"), "", List.of()))
            .schedule("seeded", 42)
            .keyframeEvery(0) // with keyframes on, a KeyframeRecorder forwards to the writer
            .output(dir)
            .console((node, ch) -> console.append(ch))
            .run();
        assertEquals(Outcome.Kind.POWEROFF, r.outcome().kind);
        assertEquals(Verdict.Kind.GOOD, r.verdict().kind);
        assertEquals("h\n", console.toString());
        assertTrue(r.events() >= 10_000, "events " + r.events());
        assertTrue(r.chunks() >= 1);
        assertTrue(r.bytes() > 0 && r.bytesPerEvent() > 0);
        assertTrue(r.instructions() >= 10_000);
        assertTrue(s.sinkSeen instanceof TraceWriter, "the trace writer is the machine's sink, unwrapped: " + s.sinkSeen);

        try (TraceReader reader = TraceReader.open(dir))
        {
            final TraceHeader h = reader.header();
            assertEquals("rec-loop", h.scenario());
            assertEquals(Map.of("rounds", "5000"), h.scenarioArgs());
            assertEquals("seeded", h.scheduleKind());
            assertEquals(42, h.seed());
            assertEquals(1, h.nodes());
            assertEquals(1, h.cpusPerNode());
            assertEquals(4, h.memMiB());
            assertEquals(Version.tool(), h.toolVersion());
            assertFalse(h.toolVersion().contains("${"), h.toolVersion());
            assertEquals(h, r.header());
            final Event e = new Event();
            long n = 0;
            long stores = 0;
            while (reader.next(e))
            {
                assertEquals(n, e.index());
                n++;
                if (e.kind() == EventKind.STORE)
                {
                    stores++;
                }
            }
            assertEquals(TraceStatus.COMPLETE, reader.status(), reader.statusMessage());
            assertEquals(r.events(), n);
            assertTrue(stores >= 5000, "stores " + stores);
            assertEquals(r.outcome().wireCode(), reader.end().outcomeCode());
            assertEquals(r.outcome().toString(), reader.end().outcomeMessage());
        }
    }

    @Test
    void recordingAllocatesNothingPerEvent(@TempDir final Path tmp)
    {
        final Loop s = new Loop();
        new Recording(s)
            .context(new ScenarioContext(Map.of("rounds", "400000"), "", List.of()))
            .schedule("seeded", 1)
            .output(tmp.resolve("t"))
            .run();
        assertTrue(s.allocatedInLoop >= 0);
        // 400 k events measured; a few KiB of one-off allocation is allowed, not bytes per event.
        assertTrue(s.allocatedInLoop < s.eventsInLoop / 8,
            "allocated " + s.allocatedInLoop + " bytes over " + s.eventsInLoop + " recorded events");
    }

    @Test
    void progressCanBePolledFromAnotherThread(@TempDir final Path tmp) throws Exception
    {
        final Recording rec = new Recording(new Loop())
            .context(new ScenarioContext(Map.of("rounds", "1500000"), "", List.of()))
            .output(tmp.resolve("t"));
        final List<Long> seen = new ArrayList<>();
        final AtomicBoolean done = new AtomicBoolean();
        final Thread poller = new Thread(() ->
        {
            while (!done.get())
            {
                seen.add(rec.events());
                rec.virtualTime();
                Thread.onSpinWait();
            }
        });
        poller.start();
        final RecordingSummary r = rec.run();
        done.set(true);
        poller.join();
        for (int i = 1; i < seen.size(); i++)
        {
            assertTrue(seen.get(i) >= seen.get(i - 1), "progress went backwards");
        }
        assertTrue(seen.stream().anyMatch(v -> v > 0 && v < r.events()), "saw progress mid-run");
        assertEquals(r.events(), rec.events());
        assertTrue(rec.virtualTime() > 0);
    }

    @Test
    void scenarioRejectingItsArgumentsLeavesNoTrace(@TempDir final Path tmp)
    {
        final Path dir = tmp.resolve("t");
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Recording(new Loop())
            .context(new ScenarioContext(Map.of("rounds", "many"), "", List.of()))
            .output(dir)
            .run());
        assertTrue(e.getMessage().contains("rounds"), e.getMessage());
        assertFalse(Files.exists(dir), "half-made trace removed");
    }

    @Test
    void unknownScheduleIsRejectedBeforeAnythingIsWritten(@TempDir final Path tmp)
    {
        final Path dir = tmp.resolve("t");
        assertThrows(IllegalArgumentException.class,
            () -> new Recording(new Loop()).schedule("sometimes", 0).output(dir).run());
        assertFalse(Files.exists(dir));
    }

    @Test
    void catalogFindsBuiltInScenariosAndRebuildsAMachineFromAHeader(@TempDir final Path tmp)
    {
        final ScenarioCatalog c = ScenarioCatalog.load();
        assertEquals(c.names().stream().sorted().toList(), c.names());
        final Loop s = new Loop();
        final RecordingSummary r = new Recording(s).output(tmp.resolve("t")).run();
        final Machine m = ScenarioCatalog.loadWithoutRunning(s, r.header());
        assertEquals("loop_main+0x10/0x100", m.code().symbolize(0xF010));
        assertSame(EventSink.NULL, m.sink());
    }

    @Test
    void aQueryLoadsTheMachineOnceForItsSymbolsAndItsState(@TempDir final Path tmp)
    {
        final Loop s = new Loop();
        final RecordingSummary r = new Recording(s).output(tmp.resolve("t")).run();
        final palimpsest.emulator.CodeMap code = ScenarioCatalog.codeWithoutRunning(s, r.header());
        assertSame(code, ScenarioCatalog.codeWithoutRunning(s, r.header()), "the symbols are loaded once");
        final Machine first = ScenarioCatalog.loadWithoutRunning(s, r.header());
        assertSame(code, first.code(), "the machine the symbols came from is handed over");
        final Machine second = ScenarioCatalog.loadWithoutRunning(s, r.header());
        org.junit.jupiter.api.Assertions.assertNotSame(first, second, "and only once: its owner writes into its memory");
        assertEquals("loop_main+0x10/0x100", second.code().symbolize(0xF010));
    }
}
