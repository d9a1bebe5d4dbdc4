package palimpsest.kernel.jos;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Oops;
import palimpsest.kernel.arch.Traps;

/**
 * JOS's {@code trap()} checks, as lab 4 part C's exercise has them (kern/trap.c): on entry
 * {@code assert(!(read_eflags() & FL_IF))} (line 293: "external device interrupts are always
 * disabled in the kernel"), and for {@code IRQ_OFFSET + IRQ_TIMER}
 * {@code assert((tf->tf_cs & 3) == 3)} (line 297: the timer only ever interrupts user mode).
 *
 * <p>The second one is wrong on SMP: a cpu with nothing to run halts in {@code sched_halt} with
 * {@code sti; hlt}, and its LAPIC timer then arrives at CPL 0. With one cpu the only environment
 * is always running when the timer fires, so the assertion holds. Patch {@code jos-timer-irq} adds
 * the checks; {@code jos-timer-kernel-mode} drops the wrong one (a kernel-mode timer interrupt in
 * the idle loop just calls sched_yield). {@code jos-timer-trap-gate} is the notes' detour: with a
 * trap gate the cpu does not clear IF on delivery, so the line-293 assertion fires instead.
 */
public final class JosTrap
{
    public static final int LINE_IF = 293;
    public static final int LINE_CS = 297;
    /** JOS's per-cpu cpu_status, in the shared per-cpu page above the shared fields. */
    public static final int CPU_STATUS = 512;
    public static final long CPU_HALTED = 2;

    private final Kernel k;
    private final Fn trapFn;
    private final Fn panicFn;

    public JosTrap(final Kernel k)
    {
        this.k = k;
        this.trapFn = k.text.fn("trap", 0x100);
        this.panicFn = k.text.fn("_panic", 0x80);
    }

    /** The IDT entry of the timer: a trap gate (bit 0, istrap) with the detour patch, else an interrupt gate. */
    public long timerGate(final long handler)
    {
        return k.patches.enabled("jos-timer-trap-gate") ? handler | 1 : handler;
    }

    /** trap()'s checks for the timer vector; frame = the cpu's trap frame. Panics when one fails. */
    public void checkTimer(final Cpu cpu, final long frame)
    {
        trapFn.enter(cpu);
        trapFn.at(cpu, 0x10);
        cpu.compute(1);                         // pushf; pop %eax (read_eflags)
        if (cpu.interruptsEnabled())
        {
            panic(cpu, LINE_IF, "assertion failed: !(read_eflags() & FL_IF)");
        }
        if (!k.patches.enabled("jos-timer-kernel-mode"))
        {
            trapFn.at(cpu, 0x40);
            final long cs = cpu.load64(frame + Traps.F_CS);
            if ((cs & 3) != 3)
            {
                panic(cpu, LINE_CS, "assertion failed: (tf->tf_cs & 3) == 3");
            }
        }
        trapFn.leave(cpu);
    }

    /** sched_halt's {@code xchg(&thiscpu->cpu_status, CPU_HALTED)} (per-cpu field at {@link #CPU_STATUS}). */
    public void markHalted(final Cpu cpu)
    {
        cpu.xchg(k.spin.atomicSite(), k.thisCpu(cpu) + CPU_STATUS, 8, CPU_HALTED);
    }

    /** JOS's _panic: "kernel panic on CPU n at file:line: msg", then the machine stops (the monitor). */
    public void panic(final Cpu cpu, final int line, final String msg)
    {
        panicFn.enter(cpu);
        cpu.cli();
        k.printk.emit(cpu, "kernel panic on CPU " + cpu.id() + " at kern/trap.c:" + line + ": " + msg + "\n");
        k.printk.emit(cpu, "Welcome to the JOS kernel monitor!\n");
        cpu.out(Machine.POWER_PORT, Oops.EXIT_PANIC);
    }
}
