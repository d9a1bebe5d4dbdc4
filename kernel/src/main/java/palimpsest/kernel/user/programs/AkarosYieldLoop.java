package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.akaros.Perfmon;
import palimpsest.kernel.akaros.ProcYield;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * An Akaros SCP under the profiler: starts kprof on its core, then yields (not being nice) over
 * and over, each time deep into the kernel's proc_yield path and through smp_idle. Its compiler
 * keeps a loop counter in r12 and a pointer to its yield record in r13 (callee-saved registers the
 * kernel does not touch), at a user address like the seed's 0x6f6770.
 */
public final class AkarosYieldLoop extends UserProgram
{
    private final long yields;
    private long record;
    private long buf;

    public AkarosYieldLoop(final long yields)
    {
        super("yield_loop", "/bin/yield_loop", 0x6e0000);
        this.yields = yields;
    }

    @Override
    protected void define(final Image img)
    {
        img.fn("main", 0x100, this::main);
        img.data(new byte[0x6770]);                  // the uthread table
        record = img.data(new byte[16]);              // the yield record, 0x6f6770
        buf = img.bss(128);
    }

    private void main(final Cpu cpu)
    {
        cpu.pc(textBase());
        final long on = U.syscall(cpu, Perfmon.SYS_PROFILER_START, 1, 0, 0);
        U.print(cpu, buf, on == 0 ? "yield_loop: kprof started\n" : "yield_loop: no profiler\n");
        for (long i = 0; i < yields; i++)
        {
            cpu.pc(textBase() + 0x40);
            cpu.setReg(R12, i);
            cpu.setReg(R13, record);
            cpu.store64(record, i);
            U.syscall(cpu, ProcYield.SYS_PROC_YIELD, 0, 0, 0);
        }
        U.syscall(cpu, Perfmon.SYS_PROFILER_START, 0, 0, 0);
        U.print(cpu, buf, "yield_loop: " + yields + " yields\n");
        U.exit(cpu, 0);
    }

    private static final int R12 = 10;
    private static final int R13 = 11;
}
