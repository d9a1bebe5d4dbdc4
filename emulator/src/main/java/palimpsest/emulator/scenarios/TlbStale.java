package palimpsest.emulator.scenarios;

import java.util.List;

import palimpsest.emulator.ScenarioArg;
import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Paging;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;

/**
 * The TLB is a cache the software must shoot down itself. The program builds 4-level page tables
 * (identity map of the low 2 MiB, plus one page V far away), maps V to frame A and reads it (the
 * TLB fills), points V's PTE at frame B <i>without</i> invlpg and reads again: it still sees A
 * through the stale entry. After invlpg it sees B. Then the same with a CR3 reload as the flush:
 * PTE back to A, read (stale B), reload CR3, read A.
 *
 * <p>Argument {@code invlpg=1} flushes right after the PTE change, so the second read already
 * sees B. GOOD when every read returns what that hardware model says it must.
 */
public final class TlbStale implements Scenario
{
    static final long MAIN = 0x100000;
    static final long PF_HANDLER = 0x100800;
    static final long UNEXPECTED = 0x100900;
    static final long IDLE = 0x100A00;
    static final long IDT = 0x110000;
    static final long STACK_TOP = 0x130000;
    static final long PML4 = 0x140000;
    static final long PDPT = 0x141000;
    static final long PD = 0x142000;
    static final long PT = 0x143000;
    static final long PD_HI = 0x144000;
    static final long PT_HI = 0x145000;
    static final long FRAME_A = 0x150000;
    static final long FRAME_B = 0x151000;
    static final long RESULTS = 0x160000;
    /** The test page: PML4[0] -> PDPT[256] -> PD_HI[0] -> PT_HI[0xFF]. */
    static final long V = 0x40_0000_0000L + 0xFF000L;
    static final long V_PTE = PT_HI + Paging.index(V, 1) * 8L;

    static final long VALUE_A = 0xAAAA_0000_0000_000AL;
    static final long VALUE_B = 0xBBBB_0000_0000_000BL;
    static final long FLAGS = Paging.P | Paging.W;

    @Override
    public String name()
    {
        return "tlb-stale";
    }

    @Override
    public String description()
    {
        return "bare metal: a PTE changed without invlpg is still used through the stale TLB entry (arg invlpg=1 flushes at once)";
    }

    @Override
    public List<ScenarioArg> args()
    {
        return List.of(
            ScenarioArg.number("invlpg", "0", "1: flush the changed PTE's TLB entry at once (the fixed code), 0: leave it stale"));
    }

    @Override
    public MachineConfig defaultConfig()
    {
        return new MachineConfig(1, 1, 16);
    }

    @Override
    public void load(final Machine m, final ScenarioContext ctx)
    {
        if (m.config().memMiB < 4)
        {
            throw new IllegalArgumentException("tlb-stale needs at least 4 MiB, got " + m.config().memMiB);
        }
        final boolean flush = ctx.longArg("invlpg", 0) != 0;
        Bare.text(m, "tlb_stale_main", MAIN, 0x800, c -> run(c, flush));
        Bare.text(m, "idle_node", IDLE, 0x40, c ->
        {
            c.pc(IDLE);
            c.cli();
            c.hlt(); // with IF clear: never wakes
        });
        m.setBootEntry(0, MAIN);
        for (int n = 1; n < m.config().nodes; n++)
        {
            m.setBootEntry(n, IDLE);
        }
        Bare.text(m, "page_fault", PF_HANDLER, 0x100, Bare.unexpected(PF_HANDLER));
        Bare.text(m, "unexpected_interrupt", UNEXPECTED, 0x80, Bare.unexpected(UNEXPECTED));
    }

    @Override
    public Verdict verdict(final Machine m, final Outcome outcome)
    {
        if (!outcome.clean())
        {
            return Verdict.bad("run ended " + outcome);
        }
        final PhysicalMemory mem = m.memory(0);
        final boolean flush = mem.read64(RESULTS + 0x30) != 0;
        final long[] expected = {VALUE_A, flush ? VALUE_B : VALUE_A, VALUE_B, VALUE_B, VALUE_A};
        for (int i = 0; i < expected.length; i++)
        {
            final long got = mem.read64(RESULTS + i * 8L);
            if (got != expected[i])
            {
                return Verdict.bad("read " + (i + 1) + " through V returned " + Bare.hex(got) + ", expected " + Bare.hex(expected[i]));
            }
        }
        return Verdict.good(flush ? "invlpg right after the PTE change: no stale read" :
            "stale read of frame A after the PTE moved to B, fresh after invlpg; CR3 reload flushed too");
    }

    static void run(final Cpu c, final boolean flush)
    {
        c.pc(MAIN);
        c.setSp(STACK_TOP);
        c.setFp(0);
        Bare.fillIdt(c, IDT, UNEXPECTED);
        Bare.setVector(c, IDT, Paging.VEC_PF, PF_HANDLER);
        c.lidt(IDT);
        c.pc(MAIN + 0x40);
        c.store64(FRAME_A, VALUE_A);
        c.store64(FRAME_B, VALUE_B);
        c.store64(RESULTS + 0x30, flush ? 1 : 0);
        // Page tables: identity map of the low 2 MiB, and V -> A.
        c.pc(MAIN + 0x80);
        c.store64(PML4, PDPT | FLAGS);
        c.store64(PDPT, PD | FLAGS);
        c.store64(PD, PT | FLAGS);
        for (int i = 0; i < 512; i++)
        {
            c.store64(PT + i * 8L, i * Paging.PAGE_SIZE | FLAGS);
        }
        c.pc(MAIN + 0xC0);
        c.store64(PDPT + Paging.index(V, 3) * 8L, PD_HI | FLAGS);
        c.store64(PD_HI + Paging.index(V, 2) * 8L, PT_HI | FLAGS);
        c.store64(V_PTE, FRAME_A | FLAGS);
        c.pc(MAIN + 0x100);
        c.writeCr3(PML4);
        Bare.print(c, "tlb-stale: paging on, V=" + Bare.hex(V) + " -> frame A " + Bare.hex(FRAME_A) + "\n");

        c.pc(MAIN + 0x140);
        final long r1 = c.load64(V);
        c.store64(RESULTS, r1);
        Bare.print(c, "tlb-stale: read 1 through V: " + Bare.hex(r1) + (r1 == VALUE_A ? " (frame A)" : " (?)") + "\n");

        c.pc(MAIN + 0x180);
        c.store64(V_PTE, FRAME_B | FLAGS);
        if (flush)
        {
            c.invlpg(V);
        }
        c.pc(MAIN + 0x1C0);
        final long r2 = c.load64(V);
        c.store64(RESULTS + 8, r2);
        Bare.print(c, "tlb-stale: PTE now -> frame B " + Bare.hex(FRAME_B) + (flush ? ", invlpg done" : ", no invlpg") +
            "; read 2: " + Bare.hex(r2) + (r2 == VALUE_A ? " (frame A: stale TLB entry)" : r2 == VALUE_B ? " (frame B)" : " (?)") + "\n");

        c.pc(MAIN + 0x200);
        c.invlpg(V);
        final long r3 = c.load64(V);
        c.store64(RESULTS + 16, r3);
        Bare.print(c, "tlb-stale: after invlpg, read 3: " + Bare.hex(r3) + (r3 == VALUE_B ? " (frame B)" : " (?)") + "\n");

        c.pc(MAIN + 0x240);
        c.store64(V_PTE, FRAME_A | FLAGS);
        final long r4 = c.load64(V);
        c.store64(RESULTS + 24, r4);
        c.pc(MAIN + 0x280);
        c.reloadCr3();
        final long r5 = c.load64(V);
        c.store64(RESULTS + 32, r5);
        Bare.print(c, "tlb-stale: PTE back -> A, read 4: " + Bare.hex(r4) + (r4 == VALUE_B ? " (stale B)" : " (?)") +
            "; after CR3 reload, read 5: " + Bare.hex(r5) + (r5 == VALUE_A ? " (frame A)" : " (?)") + "\n");

        c.pc(MAIN + 0x300);
        final boolean ok = r1 == VALUE_A && r2 == (flush ? VALUE_B : VALUE_A) && r3 == VALUE_B && r4 == VALUE_B && r5 == VALUE_A;
        Bare.print(c, ok ? "tlb-stale: PASS\n" : "tlb-stale: FAIL\n");
        c.out(Machine.POWER_PORT, ok ? 0 : 1);
    }
}
