package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.user.Syscalls;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * fork + exec with argv/envp, as the LegoOS diary's {@code handle_p2m_fork} / {@code handle_p2m_execve}
 * logs show. The parent writes a pattern into a .bss page, forks; the child checks it inherited
 * the pattern (the parent's dirty pcache lines must have reached the memory component before it
 * copied the address space), then execs {@link Echo} with three arguments and three environment
 * strings. The parent rewrites its pattern after the fork, waits, and checks it still sees its own
 * data. Exit 0 = all good.
 */
public final class LegoExec extends UserProgram
{
    private long gPattern;
    private long gStrings;
    private long gVec;
    private long gScratch;
    private long gStatus;
    private long childFn;

    public LegoExec()
    {
        super("lego_exec", "/bin/lego_exec", 0x800000);
    }

    @Override
    protected void define(final Image img)
    {
        img.fn("main", 0x100, this::main);
        childFn = img.fn("lego_exec_child", 0x100, this::child);
        gPattern = img.bss(4096);
        gStrings = img.bss(256);
        gVec = img.bss(128);
        gScratch = img.bss(256);
        gStatus = img.bss(8);
    }

    private void fill(final Cpu cpu, final long seed)
    {
        for (int i = 0; i < 512; i++)
        {
            cpu.store64(gPattern + i * 8L, seed * 0x9E3779B97F4A7C15L + i);
        }
    }

    private boolean check(final Cpu cpu, final long seed)
    {
        for (int i = 0; i < 512; i++)
        {
            if (cpu.load64(gPattern + i * 8L) != seed * 0x9E3779B97F4A7C15L + i)
            {
                return false;
            }
        }
        return true;
    }

    private void main(final Cpu cpu)
    {
        fill(cpu, 1);
        final long child = U.fork(cpu, childFn);
        fill(cpu, 2);
        final long pid = U.wait(cpu, gStatus);
        final long code = (cpu.load32(gStatus) >> 8) & 0xFF;
        final boolean mine = check(cpu, 2);
        U.print(cpu, gScratch, "lego-exec: child " + (pid == child ? "" : "MISMATCH ") + "exited " + code + ", parent data " +
            (mine ? "intact" : "CORRUPTED") + " (pid " + child + ")\n");
        U.exit(cpu, code == 0 && mine && pid == child ? 0 : 1);
    }

    private long string(final Cpu cpu, final long at, final String s)
    {
        for (int i = 0; i < s.length(); i++)
        {
            cpu.store8(at + i, s.charAt(i));
        }
        cpu.store8(at + s.length(), 0);
        return at + s.length() + 1;
    }

    private void child(final Cpu cpu)
    {
        if (!check(cpu, 1))
        {
            U.print(cpu, gScratch, "lego-exec: the child did not inherit the parent's data\n");
            U.exit(cpu, 3);
        }
        final String[] argv = {"/bin/echo_args", "alpha", "beta"};
        final String[] envp = {"HOME=/", "TERM=linux", "LEGO=1"};
        long p = gStrings;
        final long path = p;
        for (int i = 0; i < argv.length; i++)
        {
            cpu.store64(gVec + i * 8L, p);
            p = string(cpu, p, argv[i]);
        }
        cpu.store64(gVec + argv.length * 8L, 0);
        for (int i = 0; i < envp.length; i++)
        {
            cpu.store64(gVec + 64 + i * 8L, p);
            p = string(cpu, p, envp[i]);
        }
        cpu.store64(gVec + 64 + envp.length * 8L, 0);
        U.syscall(cpu, Syscalls.SYS_EXECVE, path, gVec, gVec + 64);
        U.print(cpu, gScratch, "lego-exec: execve failed\n");
        U.exit(cpu, 4);
    }

    /** The exec'ed program: prints argc, argv and envp as it finds them on its stack. */
    public static final class Echo extends UserProgram
    {
        private long gOut;

        public Echo()
        {
            super("echo_args", "/bin/echo_args", 0x900000);
        }

        @Override
        protected void define(final Image img)
        {
            img.fn("main", 0x100, this::main);
            gOut = img.bss(512);
        }

        private void main(final Cpu cpu)
        {
            final long sp = cpu.sp();
            final long argc = cpu.load64(sp);
            final StringBuilder sb = new StringBuilder("echo_args: argc=" + argc);
            long w = sp + 8;
            for (long i = 0; i < argc; i++, w += 8)
            {
                sb.append(" argv[").append(i).append("]=").append(U.str(cpu, cpu.load64(w)));
            }
            w += 8;
            for (int i = 0; cpu.load64(w) != 0; i++, w += 8)
            {
                sb.append(" envp[").append(i).append("]=").append(U.str(cpu, cpu.load64(w)));
            }
            U.print(cpu, gOut, sb.append('\n').toString());
            // mprotect: a page written, made read-only (still readable), writable again.
            final long page = U.mmap(cpu, 4096);
            cpu.store8(page + 8, 0x55);
            final long ro = U.syscall(cpu, 10, page, 4096, 1);
            final long seen = cpu.load8(page + 8);
            final long rw = U.syscall(cpu, 10, page, 4096, 3);
            cpu.store8(page + 8, 0x66);
            final boolean ok = ro == 0 && rw == 0 && seen == 0x55 && cpu.load8(page + 8) == 0x66;
            U.print(cpu, gOut, "echo_args: mprotect " + (ok ? "ok" : "FAILED " + ro + " " + rw + " " + seen) + "\n");
            // brk: the break grows by two pages (usable), then shrinks back.
            final long b0 = U.syscall(cpu, 12, 0, 0, 0);
            final long b1 = U.syscall(cpu, 12, b0 + 8192, 0, 0);
            boolean heap = b1 == b0 + 8192;
            if (heap)
            {
                cpu.store64(b0 + 4096, 0x1234);
                heap = cpu.load64(b0 + 4096) == 0x1234 && cpu.load64(b0) == 0;
            }
            final long b2 = U.syscall(cpu, 12, b0, 0, 0);
            heap &= b2 == b0;
            U.print(cpu, gOut, "echo_args: brk " + (heap ? "ok" : "FAILED " + Long.toHexString(b0) + " " + Long.toHexString(b1) +
                " " + Long.toHexString(b2)) + "\n");
            U.exit(cpu, ok && heap ? 0 : 5);
        }
    }
}
