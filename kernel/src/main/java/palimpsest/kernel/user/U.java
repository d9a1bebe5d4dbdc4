package palimpsest.kernel.user;

import palimpsest.emulator.Cpu;

/**
 * The user-space C library in miniature: system-call stubs and string helpers. Runs at cpl 3;
 * every memory access is a user access through the MMU.
 */
public final class U
{
    private U()
    {
    }

    public static long syscall(final Cpu cpu, final int nr, final long a0, final long a1, final long a2, final long a3)
    {
        cpu.setReg(Syscalls.RAX, nr);
        cpu.setReg(Syscalls.RDI, a0);
        cpu.setReg(Syscalls.RSI, a1);
        cpu.setReg(Syscalls.RDX, a2);
        cpu.setReg(Syscalls.R10, a3);
        cpu.intn(0x80);
        return cpu.reg(Syscalls.RAX);
    }

    public static long syscall(final Cpu cpu, final int nr, final long a0, final long a1, final long a2)
    {
        return syscall(cpu, nr, a0, a1, a2, 0);
    }

    public static void exit(final Cpu cpu, final long code)
    {
        syscall(cpu, Syscalls.SYS_EXIT, code, 0, 0);
        throw new IllegalStateException("exit returned");
    }

    public static long write(final Cpu cpu, final long buf, final long len)
    {
        return syscall(cpu, Syscalls.SYS_WRITE, 1, buf, len);
    }

    /** Stores s into user memory at scratch and writes it to stdout (printf's final step). */
    public static void print(final Cpu cpu, final long scratch, final String s)
    {
        for (int i = 0; i < s.length(); i++)
        {
            cpu.store8(scratch + i, s.charAt(i));
        }
        write(cpu, scratch, s.length());
    }

    public static long open(final Cpu cpu, final long path)
    {
        return syscall(cpu, Syscalls.SYS_OPEN, path, 0, 0);
    }

    public static long read(final Cpu cpu, final long fd, final long buf, final long n)
    {
        return syscall(cpu, Syscalls.SYS_READ, fd, buf, n);
    }

    public static long close(final Cpu cpu, final long fd)
    {
        return syscall(cpu, Syscalls.SYS_CLOSE, fd, 0, 0);
    }

    public static long mmap(final Cpu cpu, final long len)
    {
        return syscall(cpu, Syscalls.SYS_MMAP, 0, len, 3);
    }

    public static long munmap(final Cpu cpu, final long addr, final long len)
    {
        return syscall(cpu, Syscalls.SYS_MUNMAP, addr, len, 0);
    }

    public static long mremap(final Cpu cpu, final long old, final long oldLen, final long newLen, final long flags)
    {
        return syscall(cpu, Syscalls.SYS_MREMAP, old, oldLen, newLen, flags);
    }

    public static long fork(final Cpu cpu, final long childFn)
    {
        return syscall(cpu, Syscalls.SYS_FORK, childFn, 0, 0);
    }

    public static long clone(final Cpu cpu, final long fn, final long stack, final long arg, final long ctid)
    {
        return syscall(cpu, Syscalls.SYS_CLONE, fn, stack, arg, ctid);
    }

    public static long wait(final Cpu cpu, final long status)
    {
        return syscall(cpu, Syscalls.SYS_WAIT4, -1, status, 0);
    }

    public static long getpid(final Cpu cpu)
    {
        return syscall(cpu, Syscalls.SYS_GETPID, 0, 0, 0);
    }

    /** nanosleep, in timer ticks (jiffies). */
    public static long sleep(final Cpu cpu, final long ticks)
    {
        return syscall(cpu, Syscalls.SYS_NANOSLEEP, ticks, 0, 0);
    }

    public static long ioctl(final Cpu cpu, final long fd, final long cmd, final long arg)
    {
        return syscall(cpu, Syscalls.SYS_IOCTL, fd, cmd, arg);
    }

    public static long initModule(final Cpu cpu, final long name)
    {
        return syscall(cpu, Syscalls.SYS_INIT_MODULE, name, 0, 0);
    }

    public static long deleteModule(final Cpu cpu, final long name)
    {
        return syscall(cpu, Syscalls.SYS_DELETE_MODULE, name, 0, 0);
    }

    public static long yield(final Cpu cpu)
    {
        return syscall(cpu, Syscalls.SYS_SCHED_YIELD, 0, 0, 0);
    }

    public static long futexWait(final Cpu cpu, final long uaddr, final long val)
    {
        return syscall(cpu, Syscalls.SYS_FUTEX, uaddr, Futex.FUTEX_WAIT, val);
    }

    public static long futexWake(final Cpu cpu, final long uaddr, final long n)
    {
        return syscall(cpu, Syscalls.SYS_FUTEX, uaddr, Futex.FUTEX_WAKE, n);
    }

    /** pthread_join on a clone(..., ctid): waits until the kernel cleared *ctid at the thread's exit. */
    public static void join(final Cpu cpu, final long ctid)
    {
        long t;
        while ((t = cpu.load32(ctid)) != 0)
        {
            futexWait(cpu, ctid, t);
        }
    }

    public static long strlen(final Cpu cpu, final long s)
    {
        long n = 0;
        while (cpu.load8(s + n) != 0)
        {
            n++;
        }
        return n;
    }

    /** strcmp over user memory. */
    public static int strcmp(final Cpu cpu, final long a, final long b)
    {
        for (long i = 0; ; i++)
        {
            final int ca = (int)cpu.load8(a + i);
            final int cb = (int)cpu.load8(b + i);
            if (ca != cb || ca == 0)
            {
                return ca - cb;
            }
        }
    }

    public static void memcpy(final Cpu cpu, final long to, final long from, final long n)
    {
        long i = 0;
        if (((to | from) & 7) == 0)
        {
            for (; i + 8 <= n; i += 8)
            {
                cpu.store64(to + i, cpu.load64(from + i));
            }
        }
        for (; i < n; i++)
        {
            cpu.store8(to + i, cpu.load8(from + i));
        }
    }

    /** Reads a NUL-terminated user string into a Java string (for formatting output: registers, not state). */
    public static String str(final Cpu cpu, final long s)
    {
        final StringBuilder sb = new StringBuilder();
        for (long i = 0; ; i++)
        {
            final long c = cpu.load8(s + i);
            if (c == 0)
            {
                return sb.toString();
            }
            sb.append((char)c);
        }
    }
}
