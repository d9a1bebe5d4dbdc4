package palimpsest.hunt.testing;

import palimpsest.emulator.Apic;
import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;

/**
 * A seed-dependent bug for hunt tests, small enough to run fifty times in a second or two: two
 * bare-metal CPUs each add 1 to a counter in emulated memory {@code rounds} times with a plain
 * load and store (no LOCK). Whether an update is lost depends on where the schedule switches
 * CPUs: between one CPU's load and store, with the other CPU inside its own increment. The BSP
 * checks the sum and powers off with code 1 when updates were lost ({@code racy-counter: lost N
 * of M updates}), 0 otherwise.
 */
public final class RacyCounter implements Scenario
{
    static final long AP_TRAMPOLINE = 0x8000;
    static final long BSP_MAIN = 0x100000;
    static final long INCREMENT = 0x100400;
    static final long UNEXPECTED = 0x100800;
    static final long IDT = 0x200000;
    static final long DATA = 0x300000;
    static final long AP_ONLINE = DATA;
    static final long AP_DONE = DATA + 0x08;
    static final long COUNTER = DATA + 0x40;
    static final long STACKS = 0x380000;
    static final long SITE_ONLINE = AP_TRAMPOLINE + 0x40;
    static final long SITE_DONE = AP_TRAMPOLINE + 0x60;

    @Override
    public String name()
    {
        return "racy-counter";
    }

    @Override
    public String description()
    {
        return "test scenario: two cpus increment a counter without LOCK (arg rounds=N)";
    }

    @Override
    public MachineConfig defaultConfig()
    {
        return new MachineConfig(1, 2, 4);
    }

    @Override
    public void load(final Machine m, final ScenarioContext ctx)
    {
        final long rounds = ctx.longArg("rounds", 3);
        if (rounds < 1 || rounds > 1_000_000)
        {
            throw new IllegalArgumentException("rounds must be 1..1000000, got " + rounds);
        }
        if (m.config().cpusPerNode < 2 || m.config().nodes != 1)
        {
            throw new IllegalArgumentException("racy-counter wants one node of 2 cpus");
        }
        text(m, "ap_trampoline", AP_TRAMPOLINE, 0x100, c -> ap(c, rounds));
        text(m, "bsp_main", BSP_MAIN, 0x400, c -> bsp(c, rounds));
        text(m, "counter_inc", INCREMENT, 0x40, null);
        text(m, "unexpected_interrupt", UNEXPECTED, 0x40, c ->
        {
            c.pc(UNEXPECTED);
            c.out(Machine.POWER_PORT, 0x10);
        });
        m.memory(0).write8(SITE_ONLINE, Cpu.LOCK_PREFIX);
        m.memory(0).write8(SITE_DONE, Cpu.LOCK_PREFIX);
        for (int v = 0; v < 256; v++)
        {
            m.memory(0).write64(IDT + v * 8L, UNEXPECTED);
        }
        m.setBootEntry(0, BSP_MAIN);
    }

    private static void text(final Machine m, final String name, final long start, final long size,
        final palimpsest.emulator.Routine r)
    {
        m.code().define(name, start, size, r);
        m.memory(0).fill(start, (int)size, (byte)0x90);
    }

    @Override
    public Verdict verdict(final Machine m, final Outcome outcome)
    {
        final String console = m.console(0).text();
        if (outcome.kind == Outcome.Kind.FAILURE && console.contains("lost"))
        {
            return Verdict.bad(console.substring(console.indexOf("racy-counter")).strip());
        }
        if (!outcome.clean())
        {
            return Verdict.bad("run ended " + outcome);
        }
        return Verdict.good("no update lost");
    }

    private static void increment(final Cpu c, final long rounds)
    {
        final long ret = c.pc();
        c.call(INCREMENT);
        for (long i = 0; i < rounds; i++)
        {
            c.pc(INCREMENT + 0x10);
            final long v = c.load64(COUNTER);
            c.pc(INCREMENT + 0x18);
            c.store64(COUNTER, v + 1);
        }
        c.ret();
        c.pc(ret);
    }

    private static void bsp(final Cpu c, final long rounds)
    {
        c.pc(BSP_MAIN);
        c.setSp(STACKS + 0x8000);
        c.setFp(0);
        c.lidt(IDT);
        c.pc(BSP_MAIN + 0x20);
        c.apicWrite(Apic.ICR_HI, 1L << 24);
        c.apicWrite(Apic.ICR_LO, Apic.icr(0, Apic.MODE_INIT, Apic.DEST_NONE));
        c.apicWrite(Apic.ICR_HI, 1L << 24);
        c.apicWrite(Apic.ICR_LO, Apic.icr((int)(AP_TRAMPOLINE >>> 12), Apic.MODE_SIPI, Apic.DEST_NONE));
        c.pc(BSP_MAIN + 0x40);
        while (c.load64(AP_ONLINE) == 0)
        {
            c.pause();
        }
        c.pc(BSP_MAIN + 0x60);
        increment(c, rounds);
        c.pc(BSP_MAIN + 0x80);
        while (c.load64(AP_DONE) == 0)
        {
            c.pause();
        }
        c.pc(BSP_MAIN + 0xA0);
        final long got = c.load64(COUNTER);
        final String line = got == 2 * rounds ? "racy-counter: PASS " + got + "\n" :
            "racy-counter: lost " + (2 * rounds - got) + " of " + 2 * rounds + " updates\n";
        for (int i = 0; i < line.length(); i++)
        {
            c.out(palimpsest.emulator.Console.PORT, line.charAt(i));
        }
        c.out(Machine.POWER_PORT, got == 2 * rounds ? 0 : 1);
    }

    private static void ap(final Cpu c, final long rounds)
    {
        c.pc(AP_TRAMPOLINE);
        c.setSp(STACKS + 0x10000);
        c.setFp(0);
        c.lidt(IDT);
        c.pc(SITE_ONLINE);
        c.xadd(SITE_ONLINE, AP_ONLINE, 8, 1);
        c.pc(AP_TRAMPOLINE + 0x50);
        increment(c, rounds);
        c.pc(SITE_DONE);
        c.xadd(SITE_DONE, AP_DONE, 8, 1);
        c.pc(AP_TRAMPOLINE + 0x80);
        c.cli();
        while (true)
        {
            c.hlt();
        }
    }
}
