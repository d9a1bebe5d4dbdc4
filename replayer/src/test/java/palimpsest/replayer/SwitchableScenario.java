package palimpsest.replayer;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;

/**
 * Test scenario: two CPUs bump a shared counter; when {@link #variant} is set, one store writes a
 * different value at a known iteration, so a replay of a recording made without it must diverge
 * exactly at that store.
 */
public final class SwitchableScenario implements Scenario
{
    static volatile boolean variant;
    static final long DATA = 0x20000;
    static final long SITE = 0x3000;
    static final int CHANGED_ITERATION = 700;

    @Override
    public String name()
    {
        return "test-switchable";
    }

    @Override
    public String description()
    {
        return "replay test scenario";
    }

    @Override
    public palimpsest.emulator.MachineConfig defaultConfig()
    {
        return new palimpsest.emulator.MachineConfig(1, 2, 4);
    }

    @Override
    public void load(final Machine m, final ScenarioContext ctx)
    {
        m.memory(0).write8(SITE, Cpu.LOCK_PREFIX);
        m.code().define("ap_main", 0x8000, 0x100, c -> body(c, 1));
        m.code().define("bsp_main", 0x9000, 0x100, c ->
        {
            c.apicWrite(palimpsest.emulator.Apic.ICR_HI, 1L << 24);
            c.apicWrite(palimpsest.emulator.Apic.ICR_LO, palimpsest.emulator.Apic.icr(0, palimpsest.emulator.Apic.MODE_INIT, 0));
            c.compute(2_000);
            c.apicWrite(palimpsest.emulator.Apic.ICR_LO, palimpsest.emulator.Apic.icr(8, palimpsest.emulator.Apic.MODE_SIPI, 0));
            body(c, 0);
            while (c.load64(DATA + 8) < 2)
            {
                c.pause();
            }
            c.out(Machine.POWER_PORT, 0);
        });
        m.code().define("bump", SITE, 0x100, null);
        m.setBootEntry(0, 0x9000);
    }

    private static void body(final Cpu c, final int id)
    {
        for (int i = 0; i < 2_000; i++)
        {
            c.pc(0x9000 + 0x10 + id);
            final long v = c.load64(DATA + 16 + id * 8);
            c.store64(DATA + 16 + id * 8, variant && id == 0 && i == CHANGED_ITERATION ? v + 2 : v + 1);
            c.xadd(SITE, DATA, 8, 1);
        }
        c.xadd(SITE, DATA + 8, 8, 1);
        if (id == 1)
        {
            c.cli();
            while (true)
            {
                c.hlt();
            }
        }
    }

    @Override
    public Verdict verdict(final Machine m, final Outcome o)
    {
        return o.clean() ? Verdict.good("ok") : Verdict.bad(o.toString());
    }
}
