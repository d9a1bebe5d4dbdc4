package palimpsest.kernel;

import palimpsest.emulator.Cpu;

/**
 * Marked accesses, Linux's READ_ONCE/WRITE_ONCE and {@code __data_racy}: the software says, in the
 * trace, that an access (or every access to a variable) is meant to race, so a data-race detector
 * must not report it, and may take it as the x86 acquire (load) or release (store) it is. Plain
 * {@code cpu.load/store} stay plain: a missing lock around them is a race.
 *
 * <p>A marked access is a {@link Mark#ACCESS_ONCE} annotation followed by the access (a MARK costs
 * no instruction: timing does not change). A variable declared with {@link #racy} (a {@link
 * Mark#DATA_RACY} annotation, once, when it comes to life) is a handshake variable: a polled flag,
 * a state word two cpus hand back and forth. Use READ_ONCE at a lockless reader of lock-protected
 * data (the writers stay checked), {@code racy} for variables that are never lock-protected.
 */
public final class Once
{
    private Once()
    {
    }

    /** READ_ONCE of a 64-bit word. */
    public static long read64(final Cpu cpu, final long addr)
    {
        cpu.mark(Mark.ACCESS_ONCE, addr, 8);
        return cpu.load64(addr);
    }

    /** WRITE_ONCE of a 64-bit word. */
    public static void write64(final Cpu cpu, final long addr, final long value)
    {
        cpu.mark(Mark.ACCESS_ONCE, addr, 8);
        cpu.store64(addr, value);
    }

    /** Declares [addr, addr + size) a variable whose every access is marked ({@code __data_racy}). */
    public static void racy(final Cpu cpu, final long addr, final long size)
    {
        cpu.mark(Mark.DATA_RACY, addr, size);
    }
}
