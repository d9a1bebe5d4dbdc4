package palimpsest.kernel;

import palimpsest.emulator.Console;
import palimpsest.emulator.Cpu;

/**
 * printk: one line to the serial console, prefixed with {@code [sec.usec]} from virtual time
 * (one tick = one nanosecond) and serialized by logbuf_lock, which lives in kernel data.
 */
public final class Printk
{
    public static final long TICKS_PER_SEC = 1_000_000_000L;

    private final Kernel k;
    private final Fn printkFn;
    private final Fn consoleWriteFn;

    Printk(final Kernel k)
    {
        this.k = k;
        this.printkFn = k.text.fn("printk", 0x80);
        this.consoleWriteFn = k.text.fn("serial_console_write", 0x40);
    }

    public static String stamp(final long tsc)
    {
        return String.format("[%5d.%06d] ", tsc / TICKS_PER_SEC, (tsc / 1000) % 1_000_000);
    }

    public void printk(final Cpu cpu, final String msg)
    {
        printkFn.enter(cpu);
        final String line = (k.patches.enabled("printk-time") ? stamp(cpu.rdtsc()) : "") + msg + "\n";
        final boolean f = k.spin.lockIrqSave(cpu, Globals.LOGBUF_LOCK);
        emit(cpu, line);
        k.spin.unlockIrqRestore(cpu, Globals.LOGBUF_LOCK, f);
        printkFn.leave(cpu);
    }

    /** Raw console output without the lock (oops path: bust_spinlocks). */
    public void emit(final Cpu cpu, final String s)
    {
        consoleWriteFn.enter(cpu);
        for (int i = 0; i < s.length(); i++)
        {
            cpu.out(Console.PORT, s.charAt(i));
        }
        consoleWriteFn.leave(cpu);
    }

    /** Console output of bytes in kernel memory (sys_write to fd 1/2 after copy_from_user): under logbuf_lock. */
    public void write(final Cpu cpu, final long buf, final long len)
    {
        final boolean f = k.spin.lockIrqSave(cpu, Globals.LOGBUF_LOCK);
        consoleWriteFn.enter(cpu);
        for (long i = 0; i < len; i++)
        {
            cpu.out(Console.PORT, cpu.load8(buf + i));
        }
        consoleWriteFn.leave(cpu);
        k.spin.unlockIrqRestore(cpu, Globals.LOGBUF_LOCK, f);
    }
}
