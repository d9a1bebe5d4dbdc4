package palimpsest.kernel.akaros;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Oops;
import palimpsest.kernel.arch.Traps;

/**
 * Akaros's kernel page-fault path for a core no process owns (kern/arch/x86/trap.c): print the HW
 * trap frame and the backtrace of the kernel context, then {@code panic("Proc-less Page Fault in
 * the Kernel at %p!")}. The backtrace stops at the interrupt entry, as Akaros's does: the frame
 * whose return address is the interrupted pc of the trap frame just above it.
 */
public final class AkarosTrap
{
    private static final String[] REGS = {"rax", "rbx", "rcx", "rdx", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
    /** Our pt_regs index of each of Akaros's printed registers (-1: rbp, saved by the entry). */
    private static final int[] INDEX = {0, 1, 2, 3, -1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};

    private final Kernel k;
    private final Fn panicFn;

    public AkarosTrap(final Kernel k)
    {
        this.k = k;
        this.panicFn = k.text.fn("__panic", 0x80);
    }

    /** The page fault at addr in kernel mode on a proc-less core; entryFp = the #PF entry's rbp. Never returns. */
    public void proclessFault(final Cpu cpu, final long frame, final long entryFp, final long addr)
    {
        panicFn.enter(cpu);
        cpu.cli();
        final StringBuilder sb = new StringBuilder();
        sb.append(String.format("HW TRAP frame at 0x%016x on core %d%n", frame, cpu.id()));
        for (int i = 0; i < REGS.length; i++)
        {
            final long v = INDEX[i] < 0 ? cpu.load64(entryFp) : cpu.load64(Traps.regAddr(entryFp, INDEX[i]));
            sb.append(String.format("  %-4s 0x%016x%n", REGS[i], v));
        }
        final boolean user = (cpu.load64(frame + Traps.F_CS) & 3) == 3;
        sb.append(String.format("  trap 0x%08x Page Fault%n", Traps.VEC_PF));
        sb.append(String.format("  gsbs 0x%016x%n", k.thisCpu(cpu)));
        sb.append(String.format("  fsbs 0x%016x%n", 0));
        sb.append(String.format("  err  0x--------%08x%n", cpu.load64(frame + Traps.F_ERR)));
        final long rip = cpu.load64(frame + Traps.F_PC);
        sb.append(String.format("  rip  0x%016x%n", rip));
        sb.append(String.format("  cs   0x------------%04x%n", user ? 0x23 : 0x08));
        sb.append(String.format("  flag 0x%016x%n", cpu.load64(frame + Traps.F_FLAGS)));
        sb.append(String.format("  rsp  0x%016x%n", cpu.load64(frame + Traps.F_SP)));
        sb.append(String.format("  ss   0x------------%04x%n%n", user ? 0x1b : 0x10));
        sb.append("Backtrace of kernel context on Core ").append(cpu.id()).append(":\n");
        backtrace(cpu, sb, rip, cpu.load64(entryFp));
        sb.append(String.format("kernel panic at kern/arch/x86/trap.c:270, from core %d: Proc-less Page Fault in the Kernel at 0x%016x!%n",
            cpu.id(), addr));
        sb.append("Entering Nanwan's Dungeon on Core ").append(cpu.id()).append(" (Ints off):\n");
        k.printk.emit(cpu, sb.toString());
        cpu.out(Machine.POWER_PORT, Oops.EXIT_PANIC);
    }

    private void backtrace(final Cpu cpu, final StringBuilder sb, final long pc, final long fp)
    {
        int n = 1;
        sb.append(line(n++, pc));
        final long region = cpu.sp() & -Layout.THREAD_SIZE;
        long f = fp;
        while (f != 0 && n <= 16 && (f & -Layout.THREAD_SIZE) == region && (f & 7) == 0)
        {
            final long ra = cpu.load64(f + 8);
            if (ra == cpu.load64(f + 16 + Traps.F_PC))
            {
                break;                                  // the interrupt entry: the interrupted context is not walked
            }
            sb.append(line(n++, ra));
            f = cpu.load64(f);
        }
    }

    private String line(final int n, final long pc)
    {
        final String name = k.machine.code().nameAt(pc);
        return String.format(" #%02d [<0x%016x>] in %s%n", n, pc, name == null ? "??" : name);
    }
}
