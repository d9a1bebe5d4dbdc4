package palimpsest.emulator.scenarios;

import palimpsest.emulator.Apic;
import palimpsest.emulator.Console;
import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.Routine;

/**
 * Helpers for bare-metal programs: putting text into the code map and into memory (NOP filler,
 * LOCK prefix bytes at atomic sites), the console, the IDT, IPIs. Everything that touches machine
 * state at run time goes through the {@link Cpu} instruction API, so it is recorded.
 */
final class Bare
{
    static final int NOP = 0x90;
    /** DS segment prefix: a harmless prefix byte that is not LOCK. */
    static final int DS_PREFIX = 0x3E;

    private Bare()
    {
    }

    /**
     * Defines a routine in the code map and writes its text bytes (NOPs) into every node's
     * memory, so fetches from it (LOCK prefix checks) read real bytes.
     */
    static long text(final Machine m, final String name, final long start, final long size, final Routine r)
    {
        m.code().define(name, start, size, r);
        for (int n = 0; n < m.config().nodes; n++)
        {
            m.memory(n).fill(start, (int)size, (byte)NOP);
        }
        return start;
    }

    /** Puts the LOCK prefix (0xF0) at an atomic instruction's site in every node's text. */
    static void lockSite(final Machine m, final long site)
    {
        for (int n = 0; n < m.config().nodes; n++)
        {
            m.memory(n).write8(site, Cpu.LOCK_PREFIX);
        }
    }

    /** Writes s to the console, one OUT per byte. */
    static void print(final Cpu cpu, final String s)
    {
        for (int i = 0; i < s.length(); i++)
        {
            cpu.out(Console.PORT, s.charAt(i));
        }
    }

    /** Fills the 256-entry IDT at base with dflt (256 recorded stores). */
    static void fillIdt(final Cpu cpu, final long base, final long dflt)
    {
        for (int v = 0; v < 256; v++)
        {
            cpu.store64(base + v * 8L, dflt);
        }
    }

    static void setVector(final Cpu cpu, final long idt, final int vector, final long handler)
    {
        cpu.store64(idt + vector * 8L, handler);
    }

    /** Sends an IPI to a local APIC id (ICR_HI then ICR_LO; the caller keeps IF clear around it). */
    static void ipi(final Cpu cpu, final int apicId, final int vector, final int mode)
    {
        cpu.apicWrite(Apic.ICR_HI, (long)apicId << 24);
        cpu.apicWrite(Apic.ICR_LO, Apic.icr(vector, mode, Apic.DEST_NONE));
    }

    static int localApicId(final Cpu cpu)
    {
        return (int)(cpu.apicRead(Apic.ID) >>> 24);
    }

    static String hex(final long v)
    {
        return "0x" + Long.toHexString(v);
    }

    /** A handler for vectors nobody expects: prints and reports failure through the power port. */
    static Routine unexpected(final long self)
    {
        return cpu ->
        {
            cpu.pc(self);
            final long vector = cpu.load64(cpu.sp());
            final long err = cpu.load64(cpu.sp() + 8);
            final long rip = cpu.load64(cpu.sp() + 16);
            print(cpu, "cpu" + cpu.id() + ": unexpected vector " + vector + " err " + hex(err) + " at " +
                cpu.machine().symbolizeOrHex(rip) + " cr2 " + hex(cpu.cr2()) + "\n");
            cpu.out(Machine.POWER_PORT, 0x10 + vector);
        };
    }
}
