package palimpsest.analyzers.regs;

import palimpsest.emulator.Cpu;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;

/**
 * Register provenance as a stream: for every cpu and the registers a REG event can carry (SP, FP,
 * FLAGS, CR3, CPL), the last event that wrote each one, with its pc, the value and how the write
 * happened: an instruction (sti/cli, mov to cr3, a push, leave ...), interrupt or exception
 * delivery (the cpu cleared IF, switched to the kernel stack and CPL 0), iret (restored from the
 * trap frame) or a core reset (INIT/SIPI). Feed it every event in order with {@link #onEvent}; it
 * allocates nothing per event.
 */
public final class RegisterWriters
{
    /** How a register was written. */
    public static final int BY_INSTRUCTION = 0;
    public static final int BY_DELIVERY = 1;
    public static final int BY_IRET = 2;
    public static final int BY_RESET = 3;

    private static final int[] TRACKED = {Reg.SP, Reg.FP, Reg.FLAGS, Reg.CR3, Reg.CPL};

    private final long[][] event;
    private final long[][] pc;
    private final long[][] value;
    private final int[][] how;
    /** Per cpu: icount and vector of the last interrupt/exception delivery, and of the last trap-frame read (iret). */
    private final long[] deliveryIcount;
    private final long[] deliveryVector;
    private final long[] frameLoadIcount;
    private final int[] frameLoads;

    public RegisterWriters(final int cpus)
    {
        event = new long[cpus][Reg.COUNT];
        pc = new long[cpus][Reg.COUNT];
        value = new long[cpus][Reg.COUNT];
        how = new int[cpus][Reg.COUNT];
        for (final long[] row : event)
        {
            java.util.Arrays.fill(row, -1);
        }
        deliveryIcount = new long[cpus];
        deliveryVector = new long[cpus];
        frameLoadIcount = new long[cpus];
        frameLoads = new int[cpus];
        java.util.Arrays.fill(deliveryIcount, -1);
        java.util.Arrays.fill(frameLoadIcount, -1);
    }

    /** Register names accepted by {@link #parse}: if (the IF bit of FLAGS), flags, rsp/sp, rbp/fp, cr3, cpl. */
    public static int parse(final String name)
    {
        switch (name.toLowerCase(java.util.Locale.ROOT))
        {
            case "if":
            case "flags":
            case "rflags":
            case "eflags":
                return Reg.FLAGS;
            case "rsp":
            case "sp":
                return Reg.SP;
            case "rbp":
            case "fp":
                return Reg.FP;
            case "cr3":
                return Reg.CR3;
            case "cpl":
            case "cs":
                return Reg.CPL;
            default:
                return -1;
        }
    }

    public void onEvent(final Event e)
    {
        final int cpu = e.cpu();
        if (cpu >= event.length)
        {
            return;
        }
        final int kind = e.kind();
        if (kind == EventKind.INTERRUPT || kind == EventKind.EXCEPTION)
        {
            deliveryIcount[cpu] = e.icount() + 1;   // the cpu retires one instruction for the delivery
            deliveryVector[cpu] = e.a();
            frameLoads[cpu] = 0;
        }
        else if (kind == EventKind.LOAD && e.size() == 8)
        {
            // iret reads the 7 words of the trap frame at one icount, then writes SP/FLAGS/CPL.
            if (frameLoadIcount[cpu] == e.icount())
            {
                frameLoads[cpu]++;
            }
            else
            {
                frameLoadIcount[cpu] = e.icount();
                frameLoads[cpu] = 1;
            }
        }
        else if (kind == EventKind.REG)
        {
            final int reg = (int)e.a();
            if (reg == Cpu.REG_RESET)
            {
                for (final int r : TRACKED)
                {
                    set(cpu, r, e, 0, BY_RESET);
                }
                return;
            }
            if (reg < 0 || reg >= Reg.COUNT)
            {
                return;
            }
            final int h;
            if (e.icount() == deliveryIcount[cpu])
            {
                h = BY_DELIVERY;
            }
            else if (e.icount() == frameLoadIcount[cpu] && frameLoads[cpu] >= 7)
            {
                h = BY_IRET;
            }
            else
            {
                h = BY_INSTRUCTION;
            }
            set(cpu, reg, e, e.b(), h);
        }
    }

    private void set(final int cpu, final int reg, final Event e, final long v, final int h)
    {
        event[cpu][reg] = e.index();
        pc[cpu][reg] = e.pc();
        value[cpu][reg] = v;
        how[cpu][reg] = h;
    }

    /** Event index of the last write of reg on cpu, -1 if none yet. */
    public long event(final int cpu, final int reg)
    {
        return event[cpu][reg];
    }

    public long pc(final int cpu, final int reg)
    {
        return pc[cpu][reg];
    }

    public long value(final int cpu, final int reg)
    {
        return value[cpu][reg];
    }

    public int how(final int cpu, final int reg)
    {
        return how[cpu][reg];
    }

    /** The vector of the delivery a BY_DELIVERY write belongs to (the last one on that cpu). */
    public long deliveryVector(final int cpu)
    {
        return deliveryVector[cpu];
    }

    /** Whether IF (bit 9 of FLAGS) is set in a FLAGS value. */
    public static boolean ifSet(final long flags)
    {
        return (flags & (1L << 9)) != 0;
    }

    /** "sti", "cli", "interrupt delivery (vector 0xef)", "iret", "core reset" ... for a write of reg. */
    public String describe(final int cpu, final int reg)
    {
        final int h = how[cpu][reg];
        final long v = value[cpu][reg];
        switch (h)
        {
            case BY_DELIVERY:
                return "delivery of vector 0x" + Long.toHexString(deliveryVector[cpu]);
            case BY_IRET:
                return "iret (restored from the trap frame)";
            case BY_RESET:
                return "core reset (INIT/SIPI)";
            default:
                if (reg == Reg.FLAGS)
                {
                    return ifSet(v) ? "sti" : "cli";
                }
                if (reg == Reg.CR3)
                {
                    return "mov to cr3";
                }
                if (reg == Reg.CPL)
                {
                    return v == 3 ? "return to user mode" : "entry to kernel mode";
                }
                return "write of " + Reg.name(reg);
        }
    }
}
