package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.user.Syscalls;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * A launcher (LegoOS's mc-manager handling p2m execve): forks a child per round, the child execs
 * {@code /bin/greeter}, the launcher waits and checks the exit status. It has no initialised data
 * (its own exec leaves nothing in the header word a kmalloc'ed stack vma takes as vm_ops);
 * {@link Greeter} has 0x30 bytes of it.
 */
public final class Launcher extends UserProgram
{
    private final int rounds;
    private long path;
    private long scratch;
    private long status;
    private long childFn;

    public Launcher(final int rounds)
    {
        super("launcher", "/bin/launcher", 0xa00000);
        this.rounds = rounds;
    }

    @Override
    protected void define(final Image img)
    {
        img.fn("main", 0x100, this::main);
        childFn = img.fn("child", 0x80, this::child);
        scratch = img.bss(256);
        path = img.bss(32);
        status = img.bss(8);
    }

    private void main(final Cpu cpu)
    {
        cpu.pc(textBase());
        final String child = "/bin/greeter";
        for (int i = 0; i < child.length(); i++)
        {
            cpu.store8(path + i, child.charAt(i));
        }
        cpu.store8(path + child.length(), 0);
        int good = 0;
        for (int r = 0; r < rounds; r++)
        {
            final long pid = U.fork(cpu, childFn);
            if (pid < 0)
            {
                break;
            }
            U.wait(cpu, status);
            if (cpu.load64(status) == 0)
            {
                good++;
            }
        }
        U.print(cpu, scratch, "exec: " + good + " of " + rounds + " execs of /bin/greeter ran\n");
        U.exit(cpu, good == rounds ? 0 : 1);
    }

    private void child(final Cpu cpu)
    {
        cpu.pc(childFn);
        U.syscall(cpu, Syscalls.SYS_EXECVE, path, 0, 0);
        U.exit(cpu, 127);
    }
}
