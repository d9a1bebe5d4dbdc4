package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.jos.Jos;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * JOS's user/hello, made to run long enough for every cpu's timer to fire a few times: it prints
 * {@code hello, world} and {@code i am environment 00001000}, spins at user level (the timer
 * interrupts it at CPL 3), and exits.
 */
public final class JosHello extends UserProgram
{
    private final long spin;
    private long buf;

    public JosHello(final long spinInstructions)
    {
        super("hello", "/bin/hello", 0x800000);
        this.spin = spinInstructions;
    }

    @Override
    protected void define(final Image img)
    {
        img.fn("umain", 0x100, this::umain);
        buf = img.bss(128);
    }

    private void umain(final Cpu cpu)
    {
        cpu.pc(textBase());
        U.print(cpu, buf, "hello, world\n");
        U.print(cpu, buf, String.format("i am environment %08x%n", Jos.envId(U.getpid(cpu))));
        for (long done = 0; done < spin; done += 1000)
        {
            cpu.compute(1000);
        }
        U.print(cpu, buf, "hello: done\n");
        U.exit(cpu, 0);
    }
}
