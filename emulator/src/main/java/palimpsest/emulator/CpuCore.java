package palimpsest.emulator;

/**
 * The physical state of one CPU: registers, TLB, local APIC state, interrupt request/in-service
 * bits and the instruction counter. Code never holds a CpuCore; it holds the {@link Cpu} handle of
 * its fiber, which is bound to whichever core the fiber currently runs on.
 */
public final class CpuCore
{
    public static final int TLB_SIZE = 256;
    static final int TLB_MASK = TLB_SIZE - 1;
    static final long FLAG_IF = 1L << 9;

    /** TLB value bits below the frame address. */
    static final long TLB_W = 2;
    static final long TLB_U = 4;
    static final long TLB_NX = 1;

    public final int id;
    public final int node;
    public final int apicId;
    final PhysicalMemory mem;

    // Registers.
    final long[] gpr = new long[16];
    long sp;
    long fp;
    long pc;
    long flags;
    long cr3;
    long cr2;
    int cpl;
    long idtr;
    /** Per destination cpu of this node: when the last IPI this core sent there is due (IPIs stay in order). */
    final long[] ipiLastDue = new long[MachineConfig.MAX_CPUS_PER_NODE];
        /** Stack pointer loaded on a trap from user mode (TSS.RSP0). */
    long rsp0;

    /** Retired instructions. */
    long icount;

    // TLB: tag = vpn + 1 (0 = invalid), value = frame | TLB_* bits.
    final long[] tlbTag = new long[TLB_SIZE];
    final long[] tlbVal = new long[TLB_SIZE];

    // Interrupt controller: 256 request and in-service bits.
    final long[] irr = new long[4];
    final long[] isr = new long[4];
    /** Why each vector was last raised ({@link InterruptSource}), for INTERRUPT events. */
    final byte[] irqSource = new byte[256];

    // APIC timer and PMU.
    long lvtTimer = Apic.LVT_MASKED;
    long timerInit;
    long timerDiv = 1;
    long timerDue = Long.MAX_VALUE;
    long timerGen;
    long lvtPerf = Apic.LVT_MASKED;
    long perfPeriod;
    long perfDue = Long.MAX_VALUE;
    long icrHi;

    // Executor state.
    boolean online;
    boolean halted;
    boolean initReceived;
    Fiber current;
    long sliceEnd;
    long sliceStartIcount;
    /** icount of the last sti that enabled interrupts: no delivery at the boundary right after it. */
    long stiShadow = -1;
    /** The icount at which the next instruction boundary must call into the executor. */
    long checkAt;

    CpuCore(final int id, final int node, final int apicId, final PhysicalMemory mem)
    {
        this.id = id;
        this.node = node;
        this.apicId = apicId;
        this.mem = mem;
    }

    void flushTlb()
    {
        java.util.Arrays.fill(tlbTag, 0);
    }

    void flushTlbPage(final long vaddr)
    {
        final long vpn = vaddr >>> Paging.PAGE_SHIFT;
        final int i = (int)vpn & TLB_MASK;
        if (tlbTag[i] == vpn + 1)
        {
            tlbTag[i] = 0;
        }
    }

    /** Where a periodic timer's next period starts: the due time of the period that just fired. */
    long timerDueBase()
    {
        return timerDueFired;
    }

    long timerDueFired;

    boolean interruptsEnabled()
    {
        return (flags & FLAG_IF) != 0;
    }

    void raise(final int vector)
    {
        irr[vector >>> 6] |= 1L << (vector & 63);
    }

    static int highest(final long[] bits)
    {
        for (int w = 3; w >= 0; w--)
        {
            if (bits[w] != 0)
            {
                return w * 64 + 63 - Long.numberOfLeadingZeros(bits[w]);
            }
        }
        return -1;
    }

    /** The vector that would be delivered now if IF allowed it, or -1. */
    int deliverableVector()
    {
        final int req = highest(irr);
        if (req < 0)
        {
            return -1;
        }
        final int svc = highest(isr);
        return svc < 0 || (req >>> 4) > (svc >>> 4) ? req : -1;
    }

    boolean runnable()
    {
        if (!online || current == null)
        {
            return false;
        }
        return !halted || (interruptsEnabled() && deliverableVector() >= 0);
    }

    // Read-only views for tests, keyframes and oops printers.
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

    public long pc()
    {
        return pc;
    }

    public long flags()
    {
        return flags;
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

    public long gpr(final int i)
    {
        return gpr[i];
    }

    public boolean online()
    {
        return online;
    }

    public boolean halted()
    {
        return halted;
    }

    public Fiber currentFiber()
    {
        return current;
    }

    /** Whether the TLB holds a translation for vaddr's page, and to which frame (-1 if none). */
    public long tlbLookup(final long vaddr)
    {
        final long vpn = vaddr >>> Paging.PAGE_SHIFT;
        final int i = (int)vpn & TLB_MASK;
        return tlbTag[i] == vpn + 1 ? tlbVal[i] & ~Paging.PAGE_MASK : -1;
    }
}
