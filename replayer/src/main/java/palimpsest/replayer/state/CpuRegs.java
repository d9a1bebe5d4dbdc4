package palimpsest.replayer.state;

/**
 * One cpu's registers as the trace knows them at some event: pc and icount (carried by every event
 * of that cpu and by the CPU_SWITCH away from it), SP, FP, FLAGS, CR3, CPL (REG events), CR2 (the
 * address of the last #PF) and the fiber the cpu runs (TASK_SWITCH). General registers are Java
 * locals in the emulator and are not part of it.
 *
 * <p>Mutable and reused by {@link TraceState}; {@link #copyFrom} takes a snapshot.
 */
public final class CpuRegs
{
    /** No fiber: a cpu that has not been started. */
    public static final long NO_FIBER = 0;

    final int cpu;
    long pc;
    long icount;
    long sp;
    long fp;
    long flags;
    long cr3;
    long cr2;
    int cpl;
    long fiber = NO_FIBER;

    public CpuRegs(final int cpu)
    {
        this.cpu = cpu;
    }

    public int cpu()
    {
        return cpu;
    }

    public long pc()
    {
        return pc;
    }

    public long icount()
    {
        return icount;
    }

    public long sp()
    {
        return sp;
    }

    public long fp()
    {
        return fp;
    }

    public long flags()
    {
        return flags;
    }

    /** Whether interrupts are enabled (FLAGS.IF). */
    public boolean interruptsEnabled()
    {
        return (flags & (1L << 9)) != 0;
    }

    public long cr3()
    {
        return cr3;
    }

    public long cr2()
    {
        return cr2;
    }

    public int cpl()
    {
        return cpl;
    }

    /** Id of the fiber this cpu runs ({@link #NO_FIBER} if none). */
    public long fiber()
    {
        return fiber;
    }

    public CpuRegs copyFrom(final CpuRegs o)
    {
        pc = o.pc;
        icount = o.icount;
        sp = o.sp;
        fp = o.fp;
        flags = o.flags;
        cr3 = o.cr3;
        cr2 = o.cr2;
        cpl = o.cpl;
        fiber = o.fiber;
        return this;
    }

    /** Sets every field (keyframes). */
    public void set(final long pc, final long icount, final long sp, final long fp, final long flags, final long cr3,
        final long cr2, final int cpl, final long fiber)
    {
        this.pc = pc;
        this.icount = icount;
        this.sp = sp;
        this.fp = fp;
        this.flags = flags;
        this.cr3 = cr3;
        this.cr2 = cr2;
        this.cpl = cpl;
        this.fiber = fiber;
    }

    public boolean sameAs(final CpuRegs o)
    {
        return pc == o.pc && icount == o.icount && sp == o.sp && fp == o.fp && flags == o.flags && cr3 == o.cr3 &&
            cr2 == o.cr2 && cpl == o.cpl && fiber == o.fiber;
    }

    @Override
    public String toString()
    {
        return String.format("cpu%d pc=%016x ic=%d sp=%016x fp=%016x flags=%x cr3=%x cr2=%x cpl=%d fiber=%d",
            cpu, pc, icount, sp, fp, flags, cr3, cr2, cpl, fiber);
    }
}
