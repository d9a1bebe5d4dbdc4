package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * The smallest exec'd program with a C stack frame: {@code main} pushes rbp as any compiled function
 * does, which faults in the first page below the initial stack pointer through the stack vma that
 * {@code __bprm_mm_init} made (LegoOS's kmalloc'ed vma: that fault calls a garbage {@code vm_ops}).
 * Prints one line and exits 0. The {@code boot} scenario runs it as init with {@code --arg init=hello}.
 */
public final class Hello extends UserProgram
{
    public static final String LINE = "hello: exec'd, stack frame at ";

    private long gScratch;

    public Hello()
    {
        super("hello", "/bin/hello", 0xB00000);
    }

    @Override
    protected void define(final Image img)
    {
        img.fn("main", 0x80, this::main);
        gScratch = img.bss(128);
    }

    private void main(final Cpu cpu)
    {
        cpu.pc(textBase());
        // push rbp; mov rbp, rsp
        cpu.push(cpu.fp());
        cpu.setFp(cpu.sp());
        U.print(cpu, gScratch, LINE + "0x" + Long.toHexString(cpu.fp()) + "\n");
        U.exit(cpu, 0);
    }
}
