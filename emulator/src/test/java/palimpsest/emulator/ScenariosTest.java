package palimpsest.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.TestSupport.Run;
import palimpsest.emulator.input.InputSources;
import palimpsest.trace.EventKind;

/** The hardware scenarios end GOOD under seeded and chaos schedules, and runs are reproducible. */
class ScenariosTest
{
    static final MachineConfig TWO_NODES = new MachineConfig(2, 1, 16);
    static final MachineConfig FOUR_CPUS = new MachineConfig(1, 4, 16);

    static ScenarioContext args(final String... kv)
    {
        final TreeMap<String, String> m = new TreeMap<>();
        for (int i = 0; i < kv.length; i += 2)
        {
            m.put(kv[i], kv[i + 1]);
        }
        return new ScenarioContext(m, "", List.of());
    }

    private static HashingSink good(final String name, final MachineConfig cfg, final ScenarioContext ctx, final String schedule, final long seed)
    {
        final HashingSink sink = new HashingSink();
        final Run r = TestSupport.runScenario(name, cfg, ctx, sink, schedule, seed);
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, name + " " + schedule + " seed " + seed + ": " + r);
        return sink;
    }

    @Test
    void ipiPingPongIsGoodUnderSeededAndChaos()
    {
        final HashingSink s = good("ipi-pingpong", FOUR_CPUS, args("rounds", "400"), "seeded", 1);
        assertTrue(s.perKind[EventKind.IPI] >= 2 * 4 * 400 + 6, "pings, pongs, INIT and SIPI");
        assertTrue(s.perKind[EventKind.RMW] >= 2 * 2 * 4 * 400, "lock xadd in the handlers");
        good("ipi-pingpong", FOUR_CPUS, args("rounds", "150"), "chaos", 1);
        good("ipi-pingpong", new MachineConfig(1, 3, 16), args("rounds", "100"), "chaos", 2);
    }

    @Test
    void ipiPingPongDefaultLengthIsALongRecording()
    {
        final HashingSink s = good("ipi-pingpong", null, ScenarioContext.empty(), "seeded", 5);
        assertTrue(s.count >= 1_000_000 && s.count <= 3_000_000, "default run has " + s.count + " events");
    }

    @Test
    void netEchoIsGoodUnderSeededAndChaos()
    {
        final HashingSink s = good("net-echo", TWO_NODES, ScenarioContext.empty(), "seeded", 1);
        assertTrue(s.perKind[EventKind.NET_SEND] >= 128 && s.perKind[EventKind.DMA_WRITE] > 0);
        for (final long seed : new long[] {1, 2, 3})
        {
            good("net-echo", TWO_NODES, args("frames", "150"), "chaos", seed);
        }
    }

    @Test
    void netEchoRecoversFromDrops()
    {
        // Chaos drops about one frame in 50; with 400 round trips some are lost and retransmitted.
        final HashingSink sink = new HashingSink();
        final Run r = TestSupport.runScenario("net-echo", TWO_NODES, args("frames", "400"), sink, "chaos", 11);
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.toString());
        assertTrue(r.machine.fabric().dropped() > 0, "chaos dropped nothing");
        assertTrue(r.machine.memory(0).read64(0x300010) > 0, "no retransmits recorded");
        assertTrue(r.machine.console(0).text().contains("retransmits"));
    }

    @Test
    void tlbStaleIsGoodWithAndWithoutInvlpg()
    {
        for (final String schedule : new String[] {"seeded", "chaos"})
        {
            final HashingSink sink = new HashingSink();
            final Run r = TestSupport.runScenario("tlb-stale", null, ScenarioContext.empty(), sink, schedule, 3);
            assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.toString());
            assertTrue(r.machine.console(0).text().contains("stale TLB entry"), r.machine.console(0).text());
            final Run f = TestSupport.runScenario("tlb-stale", null, args("invlpg", "1"), new HashingSink(), schedule, 3);
            assertEquals(Verdict.Kind.GOOD, f.verdict.kind, f.toString());
            assertTrue(!f.machine.console(0).text().contains("stale TLB entry"));
        }
    }

    @Test
    void scenariosAreGoodUnderTheFreeRunningSchedule()
    {
        good("ipi-pingpong", FOUR_CPUS, args("rounds", "200"), "free", 0);
        good("net-echo", TWO_NODES, args("frames", "50"), "free", 0);
        good("tlb-stale", null, ScenarioContext.empty(), "free", 0);
    }

    @Test
    void verdictIsBadWhenTheRunDoesNotFinish()
    {
        final Scenario s = TestSupport.scenario("ipi-pingpong");
        final Machine m = new Machine(FOUR_CPUS, new HashingSink(), InputSources.create("seeded", 1));
        s.load(m, args("rounds", "1000"));
        final Outcome o = m.run(200_000);
        assertEquals(Outcome.Kind.LIMIT, o.kind);
        assertEquals(Verdict.Kind.BAD, s.verdict(m, o).kind);
    }

    @Test
    void sameSeedSameEventStreamDifferentSeedDifferentSchedule()
    {
        final ScenarioContext ctx = args("rounds", "300");
        final HashingSink a = good("ipi-pingpong", FOUR_CPUS, ctx, "seeded", 42);
        final HashingSink b = good("ipi-pingpong", FOUR_CPUS, ctx, "seeded", 42);
        final HashingSink c = good("ipi-pingpong", FOUR_CPUS, ctx, "seeded", 43);
        assertEquals(a.count, b.count);
        assertEquals(a.hash, b.hash, "same seed, same events");
        assertNotEquals(a.hash, c.hash);
        assertNotEquals(a.scheduleHash, c.scheduleHash, "different seed, different schedule");

        final HashingSink x = good("net-echo", TWO_NODES, args("frames", "100"), "chaos", 9);
        final HashingSink y = good("net-echo", TWO_NODES, args("frames", "100"), "chaos", 9);
        final HashingSink z = good("net-echo", TWO_NODES, args("frames", "100"), "chaos", 10);
        assertEquals(x.hash, y.hash, "chaos is deterministic given its seed, payloads included");
        assertNotEquals(x.hash, z.hash);
    }

    @Test
    void scenariosAreFoundAndPcsSymbolize()
    {
        final Scenario s = TestSupport.scenario("ipi-pingpong");
        final Machine m = new Machine(FOUR_CPUS, new HashingSink(), InputSources.create("seeded", 1));
        s.load(m, ScenarioContext.empty());
        assertEquals("ping_interrupt+0x20/0x100", m.code().symbolize(0x100820));
        assertEquals("ap_trampoline+0x0/0x100", m.code().symbolize(0x8000));
        assertEquals(Cpu.LOCK_PREFIX, m.memory(0).read8(0x100820), "LOCK prefix byte at the xadd site");
        TestSupport.scenario("net-echo");
        TestSupport.scenario("tlb-stale");
    }
}
