package palimpsest.trace;

/**
 * The event vocabulary of a trace. Kind codes are part of the on-disk format: never renumber,
 * only append (and bump {@link TraceFormat#VERSION} when the encoding of a kind changes).
 *
 * <p>Kinds 0..6 are the memory-access family: they all carry cpu, icount, pc, virtual and physical
 * address, size, value and (for stores) the old value.
 */
public final class EventKind
{
    /** Load from memory by an instruction. */
    public static final int LOAD = 0;
    /** Store to memory by an instruction; carries the old value. */
    public static final int STORE = 1;
    /** Read-modify-write (xchg, cmpxchg, xadd): value = new, old = value before. */
    public static final int RMW = 2;
    /** Instruction fetch from text (for example the LOCK prefix byte of an atomic). */
    public static final int FETCH = 3;
    /** Page-table walk read by the MMU: vaddr = address being translated, paddr = entry address. */
    public static final int WALK = 4;
    /** NIC DMA read of emulated memory (cpu = device id, see {@link #deviceId}). */
    public static final int DMA_READ = 5;
    /** NIC DMA write into emulated memory; carries the old value. */
    public static final int DMA_WRITE = 6;
    /** Interrupt delivered to a CPU: a = vector, b = source (see emulator InterruptSource). */
    public static final int INTERRUPT = 7;
    /** Exception raised: a = vector (13 #GP, 14 #PF...), b = error code, c = faulting address (CR2). */
    public static final int EXCEPTION = 8;
    /** IPI sent through the local APIC ICR: a = destination cpu, b = delivery mode, c = vector. */
    public static final int IPI = 9;
    /** Frame handed to the fabric by a NIC: cpu = device id, a = dst node, b = frame id, payload. */
    public static final int NET_SEND = 10;
    /** Frame delivered by the fabric into a NIC: cpu = device id, a = src node, b = frame id, payload. */
    public static final int NET_DELIVER = 11;
    /** Task switch on one CPU (kernel switch_to): a = from task id, b = to task id. */
    public static final int TASK_SWITCH = 12;
    /** The executor moved the baton between CPUs: cpu = new cpu, a = previous cpu. */
    public static final int CPU_SWITCH = 13;
    /** A nondeterministic input (flagged): a = input kind (see {@link InputKind}), b = value. */
    public static final int INPUT = 14;
    /** Port I/O: a = port, b = value, c = 1 for out, 0 for in. */
    public static final int IO = 15;
    /**
     * Register write (SP, FP, IF, CR3...): a = register id (see {@link Reg}), b = value. Every
     * change of SP, FP, FLAGS, CR3 and CPL is one (push, pop, trap entry and iret included); pc
     * and icount travel with every event. Ids from {@link Reg#COUNT} on are the emulator's
     * (invlpg, core reset, sync: where a core is when it stops running or before timed actions).
     */
    public static final int REG = 16;
    /** Annotation by the running software (allocation, free, lock...): a = type, b, c = operands. */
    public static final int MARK = 17;

    public static final int COUNT = 18;

    private static final String[] NAMES = {
        "load", "store", "rmw", "fetch", "walk", "dma-read", "dma-write", "interrupt", "exception", "ipi",
        "net-send", "net-deliver", "task-switch", "cpu-switch", "input", "io", "reg", "mark"
    };

    private EventKind()
    {
    }

    public static boolean isAccess(final int kind)
    {
        return kind <= DMA_WRITE;
    }

    public static boolean isWrite(final int kind)
    {
        return kind == STORE || kind == RMW || kind == DMA_WRITE;
    }

    public static String name(final int kind)
    {
        return kind >= 0 && kind < COUNT ? NAMES[kind] : "kind#" + kind;
    }

    /** @return the kind code for a name as printed by {@link #name}, or -1. */
    public static int byName(final String name)
    {
        for (int i = 0; i < COUNT; i++)
        {
            if (NAMES[i].equals(name))
            {
                return i;
            }
        }
        return -1;
    }

    /** Device ids share the cpu field with CPUs: device id of node n's NIC is 0x8000 + n. */
    public static int deviceId(final int node)
    {
        return 0x8000 + node;
    }

    public static boolean isDevice(final int cpu)
    {
        return cpu >= 0x8000;
    }
}
