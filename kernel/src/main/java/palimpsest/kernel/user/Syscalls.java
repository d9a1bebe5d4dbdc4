package palimpsest.kernel.user;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.arch.Traps;
import palimpsest.kernel.sched.Task;

/**
 * The system-call table. User code puts the number in rax and arguments in rdi, rsi, rdx, r10,
 * r8 (x86-64 convention), executes {@code int 0x80}, and finds the result in rax (negative errno
 * on failure).
 *
 * <pre>
 *  0 read(fd, buf, n)      1 write(fd, buf, n)       2 open(path)          3 close(fd)
 *  9 mmap(0, len, prot)   16 ioctl(fd, cmd, arg)    11 munmap(addr, len)      24 sched_yield()      25 mremap(old, oldlen, newlen, flags)
 * 39 getpid()             56 clone(fn, stack, arg, ctid)                  57 fork(child_fn)
 * 59 execve(path)         60 exit(code)             61 wait4(pid, status) 186 gettid()
 * 202 futex(uaddr, op, val)     35 nanosleep(ticks)       175 init_module(name)  176 delete_module(name)
 * </pre>
 * fork and clone take the address of the routine the child starts in: Java code cannot return
 * twice, so the child resumes at child_fn with the parent's registers (rax = 0) and stack.
 */
public final class Syscalls
{
    public static final int RAX = 0;
    public static final int RBX = 1;
    public static final int RCX = 2;
    public static final int RDX = 3;
    public static final int RSI = 4;
    public static final int RDI = 5;
    public static final int R8 = 6;
    public static final int R9 = 7;
    public static final int R10 = 8;

    public static final int SYS_READ = 0;
    public static final int SYS_WRITE = 1;
    public static final int SYS_OPEN = 2;
    public static final int SYS_CLOSE = 3;
    public static final int SYS_MMAP = 9;
    public static final int SYS_IOCTL = 16;
    public static final int SYS_MUNMAP = 11;
    public static final int SYS_SCHED_YIELD = 24;
    public static final int SYS_MREMAP = 25;
    public static final int SYS_GETPID = 39;
    public static final int SYS_CLONE = 56;
    public static final int SYS_FORK = 57;
    public static final int SYS_EXECVE = 59;
    public static final int SYS_EXIT = 60;
    public static final int SYS_WAIT4 = 61;
    public static final int SYS_GETTID = 186;
    public static final int SYS_FUTEX = 202;
    public static final int SYS_NANOSLEEP = 35;
    public static final int SYS_INIT_MODULE = 175;
    public static final int SYS_DELETE_MODULE = 176;

    public static final long ENOSYS = -38;
    public static final long EFAULT = -14;
    public static final long EBADF = -9;
    public static final long ENOMEM = -12;

    private final Kernel k;
    private final Fn writeFn;
    private final Fn forkFn;
    private final Fn cloneFn;
    private final Fn strncpyFn;

    public Syscalls(final Kernel k)
    {
        this.k = k;
        this.writeFn = k.text.fn("sys_write", 0x80);
        this.forkFn = k.text.fn("do_fork", 0x100);
        this.cloneFn = k.text.fn("sys_clone", 0x100);
        this.strncpyFn = k.text.fn("strncpy_from_user", 0x40);
    }

    /** Called by the int 0x80 handler; frame = trap frame, fp = the handler's rbp (pt_regs below it). */
    public long dispatch(final Cpu cpu, final long frame, final long fp, final long nr, final long a0, final long a1,
        final long a2, final long a3, final long a4)
    {
        k.sched.lockKernel(cpu);
        final long r = call(cpu, frame, fp, nr, a0, a1, a2, a3, a4);
        k.sched.unlockKernel(cpu);
        return r;
    }

    private long call(final Cpu cpu, final long frame, final long fp, final long nr, final long a0, final long a1,
        final long a2, final long a3, final long a4)
    {
        final long t = k.current(cpu);
        final long mm = cpu.load64(t + Task.MM);
        if (k.lego != null && k.lego.isProcessor(cpu))
        {
            final long r = k.lego.sys.syscall(cpu, mm, (int)nr, a0, a1, a2, a3);
            if (r != palimpsest.kernel.lego.LegoSys.LOCAL)
            {
                return r;
            }
        }
        switch ((int)nr)
        {
            case SYS_READ: return k.vfs.sysRead(cpu, a0, a1, a2);
            case SYS_WRITE: return sysWrite(cpu, mm, a0, a1, a2);
            case SYS_OPEN: return k.vfs.sysOpen(cpu, a0);
            case SYS_CLOSE: return k.vfs.sysClose(cpu, a0);
            case SYS_MMAP: return k.vm.doMmap(cpu, mm, a1, a2);
            case SYS_IOCTL: return k.vfs.sysIoctl(cpu, a0, a1, a2);
            case SYS_MUNMAP: return k.vm.doMunmap(cpu, mm, a0, a1);
            case SYS_SCHED_YIELD:
                k.sched.schedule(cpu);
                return 0;
            case SYS_MREMAP: return k.vm.doMremap(cpu, mm, a0, a1, a2, a3);
            case SYS_GETPID: return cpu.load64(t + Task.TGID);
            case SYS_GETTID: return cpu.load64(t + Task.PID);
            case SYS_CLONE: return sysClone(cpu, t, mm, a0, a1, a2, a3);
            case SYS_FORK: return doFork(cpu, t, mm, frame, fp, a0);
            case SYS_EXECVE: return k.loader.sysExecve(cpu, a0);
            case SYS_EXIT:
                k.sched.unlockKernel(cpu);
                k.sched.doExit(cpu, a0 & 0xFF);
                return 0;
            case SYS_WAIT4: return k.sched.doWait(cpu, a0, a1);
            case SYS_NANOSLEEP:
                k.timers.scheduleTimeout(cpu, a0);
                return 0;
            case SYS_INIT_MODULE: return k.modules.sysInitModule(cpu, a0);
            case SYS_DELETE_MODULE: return k.modules.sysDeleteModule(cpu, a0);
            case SYS_FUTEX:
                if (a1 == Futex.FUTEX_WAIT)
                {
                    return k.futex.wait(cpu, mm, a0, a2);
                }
                if (a1 == Futex.FUTEX_WAKE)
                {
                    return k.futex.wake(cpu, mm, a0, a2);
                }
                return ENOSYS;
            default: return branchSyscall(cpu, frame, nr, a0, a1, a2);
        }
    }

    /** The system calls of the JOS and Akaros configurations (ENOSYS elsewhere). */
    private long branchSyscall(final Cpu cpu, final long frame, final long nr, final long a0, final long a1, final long a2)
    {
        if (k.akaros != null)
        {
            if (nr == palimpsest.kernel.akaros.ProcYield.SYS_PROC_YIELD)
            {
                return k.akaros.yield.sysProcYield(cpu, frame, a0);
            }
            if (nr == palimpsest.kernel.akaros.Perfmon.SYS_PROFILER_START)
            {
                return k.akaros.perfmon.sysProfilerStart(cpu, a0);
            }
        }
        if (k.jos != null)
        {
            return k.jos.env.syscall(cpu, frame, nr, a0, a1, a2);
        }
        return ENOSYS;
    }

    private long sysWrite(final Cpu cpu, final long mm, final long fd, final long buf, final long len)
    {
        writeFn.enter(cpu);
        if (fd != 1 && fd != 2)
        {
            // An open char device: its driver's write (fds 1 and 2 are the console).
            final long file = k.vfs.fileOf(cpu, fd);
            if (file != 0 && k.vfs.isCharDev(cpu, file))
            {
                return writeFn.leave(cpu, k.chrdevs.call(cpu, file, palimpsest.kernel.module.CharDevs.FOP_WRITE, file, buf, len, EBADF));
            }
            return writeFn.leave(cpu, EBADF);
        }
        if (len < 0 || !k.vm.accessOk(cpu, mm, buf, len, false))
        {
            return writeFn.leave(cpu, EFAULT);
        }
        // LegoOS's stdio_file_write kmallocs the count it was given; under its SLOB a line of
        // output is a small block, not a page of its own (issue 14, bug 4).
        final long kbuf = k.slab.kmalloc(cpu, k.slab.isSlob() ? Math.max(8, Math.min(len, 1024)) : 1024);
        long done = 0;
        while (done < len)
        {
            final long n = Math.min(1024, len - done);
            k.vm.copyFromUser(cpu, kbuf, buf + done, n);
            k.printk.write(cpu, kbuf, n);
            done += n;
        }
        k.slab.kfree(cpu, kbuf);
        return writeFn.leave(cpu, len);
    }

    /** fork(child_fn): a new process with a copy-on-write copy of the address space. */
    private long doFork(final Cpu cpu, final long parent, final long mm, final long frame, final long fp, final long entry)
    {
        forkFn.enter(cpu);
        if (mm == 0 || !palimpsest.kernel.Layout.isUser(entry))
        {
            return forkFn.leave(cpu, -22);
        }
        final long child = k.sched.copyProcess(cpu, k.sched.comm(cpu, parent), Task.PF_USER, entry, 0);
        forkFn.at(cpu, 0x40);
        cpu.store64(child + Task.MM, k.vm.dupMm(cpu, mm));
        cpu.store64(child + Task.FILES, k.vfs.dupFiles(cpu, cpu.load64(parent + Task.FILES)));
        for (int r = 0; r < 9; r++)
        {
            cpu.store64(child + Task.REGS + r * 8L, cpu.load64(Traps.regAddr(fp, r)));
        }
        cpu.store64(child + Task.USER_SP, cpu.load64(frame + Traps.F_SP));
        final long pid = cpu.load64(child + Task.PID);
        if (k.lego != null && k.lego.isProcessor(cpu))
        {
            k.lego.sys.fork(cpu, mm, cpu.load64(child + Task.MM), pid);
        }
        k.sched.wakeUpNew(cpu, child);
        return forkFn.leave(cpu, pid);
    }

    /** clone(fn, stack, arg, ctid): a thread sharing the address space and files; *ctid = tid, cleared and woken at exit. */
    private long sysClone(final Cpu cpu, final long parent, final long mm, final long entry, final long stack, final long arg,
        final long ctid)
    {
        cloneFn.enter(cpu);
        if (mm == 0 || (ctid != 0 && !k.vm.accessOk(cpu, mm, ctid, 4, true)))
        {
            return cloneFn.leave(cpu, EFAULT);
        }
        final long child = k.sched.copyProcess(cpu, k.sched.comm(cpu, parent), Task.PF_USER | Task.PF_THREAD, entry, arg);
        cloneFn.at(cpu, 0x40);
        k.vm.mmget(cpu, mm);
        cpu.store64(child + Task.MM, mm);
        cpu.store64(child + Task.TGID, cpu.load64(parent + Task.TGID));
        final long files = cpu.load64(parent + Task.FILES);
        if (files != 0)
        {
            cpu.xadd(k.spin.atomicSite(), files, 8, 1);
        }
        cpu.store64(child + Task.FILES, files);
        cpu.store64(child + Task.CLEAR_CHILD_TID, ctid);
        cpu.store64(child + Task.REGS + RDI * 8L, arg);
        cpu.store64(child + Task.USER_SP, stack);
        final long tid = cpu.load64(child + Task.PID);
        if (ctid != 0)
        {
            k.vm.putUser(cpu, ctid, 4, tid);
        }
        k.sched.wakeUpNew(cpu, child);
        return cloneFn.leave(cpu, tid);
    }

    /** Copies a NUL-terminated user string into kernel memory; returns its length or -EFAULT. */
    public long strncpyFromUser(final Cpu cpu, final long kbuf, final long user, final long max)
    {
        strncpyFn.enter(cpu);
        final long mm = cpu.load64(k.current(cpu) + Task.MM);
        long i = 0;
        for (; i < max; i++)
        {
            if ((i & 0xFFF) == 0 || ((user + i) & 0xFFF) == 0)
            {
                if (!k.vm.accessOk(cpu, mm, user + i, 1, false))
                {
                    return strncpyFn.leave(cpu, EFAULT);
                }
            }
            final long c = cpu.load8(user + i);
            cpu.store8(kbuf + i, c);
            if (c == 0)
            {
                return strncpyFn.leave(cpu, i);
            }
        }
        cpu.store8(kbuf + i, 0);
        return strncpyFn.leave(cpu, i);
    }
}
