package palimpsest.emulator.scenarios;

import java.util.List;

import palimpsest.emulator.ScenarioArg;
import palimpsest.emulator.Apic;
import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;

/**
 * Bare-metal SMP: the BSP installs an IDT, brings the APs up with INIT, a delay and SIPI (with a
 * second SIPI if an AP is slow, as the MP spec says), then every CPU arms a periodic APIC timer
 * and plays ping-pong round the ring: CPU i pings i+1 with a fixed IPI and waits (hlt) for the
 * pong; the ping handler answers with a pong IPI. Handlers count with LOCK-prefixed xadd. The BSP
 * checks every count and powers off, or reports failure with a non-zero power code.
 *
 * <p>Each CPU has at most one ping in flight, so no IPI can coalesce with another in the IRR and
 * every count is exact: pings[i] = pongs[i] = rounds, total = 2 * cpus * rounds.
 */
public final class IpiPingPong implements Scenario
{
    static final long AP_TRAMPOLINE = 0x8000;
    static final long BSP_MAIN = 0x100000;
    static final long CPU_MAIN = 0x100400;
    static final long PING_HANDLER = 0x100800;
    static final long PONG_HANDLER = 0x100900;
    static final long TIMER_HANDLER = 0x100A00;
    static final long UNEXPECTED = 0x100A80;
    static final long CONSOLE_LOCKED = 0x100B00;
    static final long IDT = 0x200000;
    static final long DATA = 0x300000;
    static final long AP_ONLINE = DATA;
    static final long READY = DATA + 0x08;
    static final long DONE = DATA + 0x10;
    static final long TOTAL = DATA + 0x18;
    static final long CONSOLE_LOCK = DATA + 0x20;
    static final long PER_CPU = DATA + 0x1000;
    static final long PER_CPU_SIZE = 0x100;
    static final long PINGS = 0;
    static final long PONGS = 8;
    static final long TICKS = 16;
    static final long SCRATCH = 0x40;
    static final long STACKS = 0x400000;
    static final long STACK_SIZE = 0x10000;

    static final int PING_VECTOR = 0x50;
    static final int PONG_VECTOR = 0x51;
    static final int TIMER_VECTOR = 0x40;
    static final long TIMER_PERIOD = 20_000;
    static final int INIT_DELAY = 30_000;
    static final long SIPI_WAIT = 60_000;

    static final long DEFAULT_ROUNDS = 6_000;

    @Override
    public String name()
    {
        return "ipi-pingpong";
    }

    @Override
    public String description()
    {
        return "bare metal: INIT/SIPI bring-up, APIC timers, CPUs ping each other round the ring with IPIs (arg rounds=N)";
    }

    @Override
    public List<ScenarioArg> args()
    {
        return List.of(
            ScenarioArg.number("rounds", String.valueOf(DEFAULT_ROUNDS),
                "ping-pong rounds each cpu plays round the ring (1..100000000)"));
    }

    @Override
    public MachineConfig defaultConfig()
    {
        return new MachineConfig(1, 4, 128);
    }

    @Override
    public void load(final Machine m, final ScenarioContext ctx)
    {
        final MachineConfig cfg = m.config();
        if (cfg.nodes != 1)
        {
            throw new IllegalArgumentException("ipi-pingpong runs on one node, got " + cfg.nodes);
        }
        if (cfg.memMiB < 16)
        {
            throw new IllegalArgumentException("ipi-pingpong needs at least 16 MiB, got " + cfg.memMiB);
        }
        final long rounds = ctx.longArg("rounds", DEFAULT_ROUNDS);
        if (rounds < 1 || rounds > 100_000_000L)
        {
            throw new IllegalArgumentException("rounds must be 1..100000000, got " + rounds);
        }
        final int n = cfg.cpusPerNode;
        final Program p = new Program(n, rounds);
        Bare.text(m, "ap_trampoline", AP_TRAMPOLINE, 0x100, p::apTrampoline);
        Bare.text(m, "bsp_main", BSP_MAIN, 0x400, p::bspMain);
        Bare.text(m, "cpu_main", CPU_MAIN, 0x400, c -> p.cpuMain(c, Bare.localApicId(c)));
        Bare.text(m, "ping_interrupt", PING_HANDLER, 0x100, p::ping);
        Bare.text(m, "pong_interrupt", PONG_HANDLER, 0x100, p::pong);
        Bare.text(m, "apic_timer_interrupt", TIMER_HANDLER, 0x80, p::tick);
        Bare.text(m, "unexpected_interrupt", UNEXPECTED, 0x80, Bare.unexpected(UNEXPECTED));
        Bare.text(m, "console_write_locked", CONSOLE_LOCKED, 0x100, null);
        for (final long site : Program.LOCK_SITES)
        {
            Bare.lockSite(m, site);
        }
        // A statically initialised IDT in the image's data, as the loader places it.
        for (int v = 0; v < 256; v++)
        {
            m.memory(0).write64(IDT + v * 8L, UNEXPECTED);
        }
        m.memory(0).write64(IDT + PING_VECTOR * 8L, PING_HANDLER);
        m.memory(0).write64(IDT + PONG_VECTOR * 8L, PONG_HANDLER);
        m.memory(0).write64(IDT + TIMER_VECTOR * 8L, TIMER_HANDLER);
        m.setBootEntry(0, BSP_MAIN);
    }

    @Override
    public long maxInstructions()
    {
        return 50_000_000_000L;
    }

    @Override
    public Verdict verdict(final Machine m, final Outcome outcome)
    {
        final String console = m.console(0).text();
        if (!outcome.clean())
        {
            return Verdict.bad("run ended " + outcome);
        }
        if (!console.contains("ipi-pingpong: PASS"))
        {
            return Verdict.bad("powered off without the PASS line");
        }
        final PhysicalMemory mem = m.memory(0);
        final int n = m.config().cpusPerNode;
        long total = 0;
        for (int i = 0; i < n; i++)
        {
            total += mem.read64(PER_CPU + i * PER_CPU_SIZE + PINGS) + mem.read64(PER_CPU + i * PER_CPU_SIZE + PONGS);
        }
        if (total != mem.read64(TOTAL))
        {
            return Verdict.bad("per-cpu counts " + total + " != total " + mem.read64(TOTAL));
        }
        return Verdict.good(n + " cpus exchanged " + total + " IPIs");
    }

    /** The program: Java bodies of the functions at the addresses above. */
    static final class Program
    {
        static final long SITE_AP_ONLINE = AP_TRAMPOLINE + 0x40;
        static final long SITE_READY = CPU_MAIN + 0x40;
        static final long SITE_DONE = CPU_MAIN + 0x300;
        static final long SITE_PINGS = PING_HANDLER + 0x20;
        static final long SITE_PING_TOTAL = PING_HANDLER + 0x30;
        static final long SITE_PONGS = PONG_HANDLER + 0x20;
        static final long SITE_PONG_TOTAL = PONG_HANDLER + 0x30;
        static final long SITE_CONSOLE_LOCK = CONSOLE_LOCKED + 0x10;
        static final long[] LOCK_SITES = {
            SITE_AP_ONLINE, SITE_READY, SITE_DONE, SITE_PINGS, SITE_PING_TOTAL, SITE_PONGS, SITE_PONG_TOTAL, SITE_CONSOLE_LOCK
        };

        final int n;
        final long rounds;

        Program(final int n, final long rounds)
        {
            this.n = n;
            this.rounds = rounds;
        }

        static long perCpu(final int id)
        {
            return PER_CPU + id * PER_CPU_SIZE;
        }

        void println(final Cpu c, final String s)
        {
            final long ret = c.pc();
            c.call(CONSOLE_LOCKED);
            while (c.xchg(SITE_CONSOLE_LOCK, CONSOLE_LOCK, 8, 1) != 0)
            {
                c.pc(CONSOLE_LOCKED + 0x20);
                while (c.load64(CONSOLE_LOCK) != 0)
                {
                    c.pause();
                }
            }
            c.pc(CONSOLE_LOCKED + 0x30);
            Bare.print(c, s + "\n");
            c.pc(CONSOLE_LOCKED + 0x40);
            c.store64(CONSOLE_LOCK, 0);
            c.ret();
            c.pc(ret);
        }

        void bspMain(final Cpu c)
        {
            c.pc(BSP_MAIN);
            c.setSp(STACKS + STACK_SIZE);
            c.setFp(0);
            c.pc(BSP_MAIN + 0x10);
            // The IDT is static data of the image (see load), so bring-up starts at once.
            c.lidt(IDT);
            // The INIT-to-SIPI wait is timed with the BSP's own APIC timer, as Linux's udelay
            // does: arm it, enable interrupts, and halt until enough ticks have passed.
            c.pc(BSP_MAIN + 0x20);
            c.apicWrite(Apic.TIMER_DIV, 0);
            c.apicWrite(Apic.LVT_TIMER, TIMER_VECTOR | Apic.LVT_PERIODIC);
            c.apicWrite(Apic.TIMER_INIT, INIT_DELAY / 2);
            c.sti();
            final long bspTicks = perCpu(0) + TICKS;
            for (int ap = 1; ap < n; ap++)
            {
                c.pc(BSP_MAIN + 0x80);
                boolean up = false;
                for (int attempt = 0; attempt < 4 && !up; attempt++)
                {
                    if (attempt % 2 == 0)
                    {
                        Bare.ipi(c, ap, 0, Apic.MODE_INIT);
                        c.pc(BSP_MAIN + 0x90);
                        final long until = c.load64(bspTicks) + 2;
                        while (c.load64(bspTicks) < until)
                        {
                            c.hlt();
                        }
                    }
                    c.pc(BSP_MAIN + 0xA0);
                    Bare.ipi(c, ap, (int)(AP_TRAMPOLINE >>> 12), Apic.MODE_SIPI);
                    final long t0 = c.rdtsc();
                    c.pc(BSP_MAIN + 0xB0);
                    while (!(up = c.load64(AP_ONLINE) >= ap) && c.rdtsc() - t0 < SIPI_WAIT)
                    {
                        c.pause();
                    }
                }
                if (!up)
                {
                    c.pc(BSP_MAIN + 0xC0);
                    Bare.print(c, "ipi-pingpong: FAIL cpu" + ap + " did not come up\n");
                    c.out(Machine.POWER_PORT, 3);
                }
            }
            c.pc(BSP_MAIN + 0xF0);
            Bare.print(c, "ipi-pingpong: " + n + " cpus up, " + rounds + " rounds\n");
            c.pc(BSP_MAIN + 0x100);
            c.call(CPU_MAIN);
            cpuMain(c, 0);
            c.ret();
            c.pc(BSP_MAIN + 0x110);
            while (c.load64(DONE) < n)
            {
                c.hlt();
            }
            c.pc(BSP_MAIN + 0x140);
            long sum = 0;
            boolean ok = true;
            for (int i = 0; i < n; i++)
            {
                final long pings = c.load64(perCpu(i) + PINGS);
                final long pongs = c.load64(perCpu(i) + PONGS);
                final long ticks = c.load64(perCpu(i) + TICKS);
                sum += pings + pongs;
                if (pings != rounds || pongs != rounds || ticks == 0)
                {
                    ok = false;
                    println(c, "ipi-pingpong: cpu" + i + " pings " + pings + " pongs " + pongs + " ticks " + ticks +
                        ", expected " + rounds + "/" + rounds + "/>0");
                }
            }
            final long total = c.load64(TOTAL);
            c.pc(BSP_MAIN + 0x180);
            if (!ok || total != sum || total != 2L * n * rounds)
            {
                println(c, "ipi-pingpong: FAIL total " + total + " sum " + sum + " expected " + 2L * n * rounds);
                c.out(Machine.POWER_PORT, 1);
            }
            println(c, "ipi-pingpong: PASS " + total + " IPIs handled by " + n + " cpus");
            c.out(Machine.POWER_PORT, 0);
        }

        void apTrampoline(final Cpu c)
        {
            c.pc(AP_TRAMPOLINE);
            final int id = Bare.localApicId(c);
            c.pc(AP_TRAMPOLINE + 0x10);
            c.setSp(STACKS + (id + 1) * STACK_SIZE);
            c.setFp(0);
            c.lidt(IDT);
            c.xadd(SITE_AP_ONLINE, AP_ONLINE, 8, 1);
            c.pc(AP_TRAMPOLINE + 0x50);
            c.call(CPU_MAIN);
            cpuMain(c, id);
            c.ret();
            c.pc(AP_TRAMPOLINE + 0x80);
            while (true)
            {
                c.hlt();
            }
        }

        void cpuMain(final Cpu c, final int id)
        {
            c.pc(CPU_MAIN);
            final long pc = perCpu(id);
            c.apicWrite(Apic.TIMER_DIV, 0);
            c.apicWrite(Apic.LVT_TIMER, TIMER_VECTOR | Apic.LVT_PERIODIC);
            c.apicWrite(Apic.TIMER_INIT, TIMER_PERIOD);
            c.sti();
            c.pc(CPU_MAIN + 0x30);
            c.xadd(SITE_READY, READY, 8, 1);
            c.pc(CPU_MAIN + 0x50);
            while (c.load64(READY) < n)
            {
                c.pause();
            }
            c.pc(CPU_MAIN + 0x60);
            println(c, "cpu" + id + ": online, pinging cpu" + (id + 1) % n);
            final int next = (id + 1) % n;
            final long report = Math.max(1, rounds / 4);
            for (long r = 0; r < rounds; r++)
            {
                c.pc(CPU_MAIN + 0x100);
                for (int k = 0; k < 4; k++)
                {
                    final long a = pc + SCRATCH + k * 8L;
                    c.store64(a, c.load64(a) + r + k);
                }
                c.compute(16);
                c.pc(CPU_MAIN + 0x180);
                c.cli();
                Bare.ipi(c, next, PING_VECTOR, Apic.MODE_FIXED);
                c.sti();
                c.pc(CPU_MAIN + 0x200);
                while (c.load64(pc + PONGS) <= r)
                {
                    c.hlt();
                }
                if ((r + 1) % report == 0)
                {
                    c.pc(CPU_MAIN + 0x280);
                    println(c, "cpu" + id + ": " + (r + 1) + "/" + rounds + " pongs");
                }
            }
            c.pc(CPU_MAIN + 0x2F0);
            c.xadd(SITE_DONE, DONE, 8, 1);
            c.pc(CPU_MAIN + 0x310);
        }

        void ping(final Cpu c)
        {
            c.pc(PING_HANDLER);
            final int id = Bare.localApicId(c);
            c.xadd(SITE_PINGS, perCpu(id) + PINGS, 8, 1);
            c.xadd(SITE_PING_TOTAL, TOTAL, 8, 1);
            c.pc(PING_HANDLER + 0x40);
            Bare.ipi(c, (id + n - 1) % n, PONG_VECTOR, Apic.MODE_FIXED);
            c.pc(PING_HANDLER + 0x60);
            c.eoi();
        }

        void pong(final Cpu c)
        {
            c.pc(PONG_HANDLER);
            final int id = Bare.localApicId(c);
            c.xadd(SITE_PONGS, perCpu(id) + PONGS, 8, 1);
            c.xadd(SITE_PONG_TOTAL, TOTAL, 8, 1);
            c.pc(PONG_HANDLER + 0x60);
            c.eoi();
        }

        void tick(final Cpu c)
        {
            c.pc(TIMER_HANDLER);
            final int id = Bare.localApicId(c);
            final long a = perCpu(id) + TICKS;
            c.store64(a, c.load64(a) + 1);
            c.pc(TIMER_HANDLER + 0x20);
            c.eoi();
        }
    }
}
