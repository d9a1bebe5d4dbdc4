package palimpsest.kernel.lego;

import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.kernel.mm.MmStruct;
import palimpsest.kernel.mm.Vm;
import palimpsest.kernel.patches.LegoSeries;
import palimpsest.kernel.sched.Task;
import palimpsest.kernel.user.Syscalls;

/**
 * The processor component's system calls: those about memory and files go to the memory
 * component (which owns vmas, pages and files) and are followed by the local pcache work; the rest
 * (threads, futexes, console writes, exit) run here as on one node.
 */
public final class LegoSys
{
    /** Not a LegoOS call: the ordinary single-node code runs it. */
    public static final long LOCAL = Long.MIN_VALUE;
    /** mprotect (x86-64 number 10): LegoOS only; the single-node kernel has none. */
    public static final int SYS_MPROTECT = 10;
    /** brk (x86-64 number 12): LegoOS only. */
    public static final int SYS_BRK = 12;

    private final Kernel k;
    private final Lego lego;
    /** SYSC_mremap holds the process's mremap lock and fences the range off from evictions (see mremap). */
    private final boolean serializes;
    private final Fn execveFn;
    private final Fn mmapFn;
    private final Fn munmapFn;
    private final Fn mremapFn;
    private final Fn mprotectFn;
    private final Fn openFn;
    private final Fn readFn;
    private final Fn closeFn;
    private final Fn forkFn;
    private final Fn exitFn;

    LegoSys(final Kernel k, final Lego lego)
    {
        this.k = k;
        this.lego = lego;
        this.serializes = !LegoSeries.active(k.patches, "lego-pcache-move-pte", "lego-mremap-lock");
        this.execveFn = k.text.fn("p2m_execve", 0x200);
        this.mmapFn = k.text.fn("SYSC_mmap", 0x80);
        this.munmapFn = k.text.fn("SYSC_munmap", 0x80);
        this.mremapFn = k.text.fn("SYSC_mremap", 0x100);
        this.openFn = k.text.fn("SYSC_open", 0x80);
        this.mprotectFn = k.text.fn("SYSC_mprotect", 0x100);
        this.readFn = k.text.fn("SYSC_read", 0x100);
        this.closeFn = k.text.fn("SYSC_close", 0x60);
        this.forkFn = k.text.fn("p2m_fork", 0x100);
        this.exitFn = k.text.fn("p2m_exit", 0x60);
    }

    private long tgid(final Cpu cpu)
    {
        return cpu.load64(k.current(cpu) + Task.TGID);
    }

    private long rpc(final Cpu cpu, final int op, final long a1, final long a2, final long a3, final long body, final long len,
        final long rbody, final long max, final long[] out)
    {
        final long tg = tgid(cpu);
        final long reply = lego.replyBuf(cpu);
        final long st = lego.ibapi.call(cpu, lego.home(cpu, tg), op, tg, a1, a2, a3, body, len, reply, rbody, max, 0);
        if (out != null)
        {
            out[0] = cpu.load64(reply + 8);
        }
        lego.replyDone(cpu, reply);
        return st;
    }

    /** Called by the syscall dispatcher on a processor: the result, or {@link #LOCAL}. */
    public long syscall(final Cpu cpu, final long mm, final int nr, final long a0, final long a1, final long a2, final long a3)
    {
        final long[] out = new long[1];
        switch (nr)
        {
            case Syscalls.SYS_MMAP:
            {
                mmapFn.enter(cpu);
                addressSpaceLock(cpu, mm, mmapFn);
                final long st = rpc(cpu, McManager.OP_MMAP, a1, a2, 0, 0, 0, 0, 0, out);
                addressSpaceUnlock(cpu, mm, mmapFn);
                return mmapFn.leave(cpu, st != 0 ? st : out[0]);
            }
            case Syscalls.SYS_MUNMAP:
            {
                munmapFn.enter(cpu);
                if ((a0 & Layout.PAGE_MASK()) != 0 || a1 <= 0)
                {
                    return munmapFn.leave(cpu, Vm.EINVAL);
                }
                addressSpaceLock(cpu, mm, munmapFn);
                final long st = rpc(cpu, McManager.OP_MUNMAP, a0, a1, 0, 0, 0, 0, 0, null);
                if (st == 0)
                {
                    final long end = a0 + ((a1 + Layout.PAGE_SIZE - 1) & ~(Layout.PAGE_SIZE - 1));
                    lego.pcache.zapRange(cpu, mm, a0, end);
                    k.smp.flushTlbRange(cpu, Layout.pa(cpu.load64(mm + MmStruct.PGD)), a0, end);
                }
                addressSpaceUnlock(cpu, mm, munmapFn);
                return munmapFn.leave(cpu, st);
            }
            case Syscalls.SYS_MREMAP: return mremap(cpu, mm, a0, a1, a2, a3, out);
            case SYS_MPROTECT: return mprotect(cpu, mm, a0, a1, a2);
            case SYS_BRK:
            {
                final long tg = tgid(cpu);
                addressSpaceLock(cpu, mm, null);
                final long reply = lego.replyBuf(cpu);
                final long st = lego.ibapi.call(cpu, lego.home(cpu, tg), McManager.OP_BRK, tg, a0, 0, 0, 0, 0, reply, 0, 0, 0);
                final long now = cpu.load64(reply + 8);
                final long old = cpu.load64(reply + 16);
                lego.replyDone(cpu, reply);
                final long newEnd = (now + Layout.PAGE_SIZE - 1) & ~(Layout.PAGE_SIZE - 1);
                final long oldEnd = (old + Layout.PAGE_SIZE - 1) & ~(Layout.PAGE_SIZE - 1);
                if (st == 0 && newEnd < oldEnd)
                {
                    lego.pcache.zapRange(cpu, mm, newEnd, oldEnd);
                    k.smp.flushTlbRange(cpu, Layout.pa(cpu.load64(mm + MmStruct.PGD)), newEnd, oldEnd);
                }
                addressSpaceUnlock(cpu, mm, null);
                return st != 0 ? st : now;
            }
            case Syscalls.SYS_OPEN:
            {
                openFn.enter(cpu);
                final long kbuf = k.slab.kmalloc(cpu, 256);
                final long n = k.sys.strncpyFromUser(cpu, kbuf, a0, 255);
                final long st = n < 0 ? n : rpc(cpu, McManager.OP_OPEN, 0, 0, 0, kbuf, (n + 8) & ~7L, 0, 0, out);
                k.slab.kfree(cpu, kbuf);
                return openFn.leave(cpu, st != 0 ? st : out[0]);
            }
            case Syscalls.SYS_READ:
            {
                readFn.enter(cpu);
                final long kbuf = k.slab.kmalloc(cpu, 4096);
                long done = 0;
                long st = 0;
                while (done < a2)
                {
                    final long n = Math.min(4096, a2 - done);
                    st = rpc(cpu, McManager.OP_READ, a0, n, 0, 0, 0, kbuf, 4096, out);
                    if (st != 0 || out[0] <= 0)
                    {
                        break;
                    }
                    readFn.at(cpu, 0x80);
                    k.vm.copyToUser(cpu, a1 + done, kbuf, out[0]);
                    done += out[0];
                    if (out[0] < n)
                    {
                        break;
                    }
                }
                k.slab.kfree(cpu, kbuf);
                return readFn.leave(cpu, done > 0 || st == 0 ? done : st);
            }
            case Syscalls.SYS_CLOSE:
            {
                closeFn.enter(cpu);
                return closeFn.leave(cpu, rpc(cpu, McManager.OP_CLOSE, a0, 0, 0, 0, 0, 0, 0, null));
            }
            case Syscalls.SYS_EXECVE: return userExecve(cpu, a0, a1, a2);
            default: return LOCAL;
        }
    }

    private long mremap(final Cpu cpu, final long mm, final long old, final long oldLen, final long newLen, final long flags,
        final long[] out)
    {
        mremapFn.enter(cpu);
        if ((old & Layout.PAGE_MASK()) != 0 || newLen <= 0)
        {
            return mremapFn.leave(cpu, Vm.EINVAL);
        }
        if (k.patches.enabled("lego-mremap-trace"))
        {
            mremapFn.at(cpu, 0x18);
            cpu.load64(Globals.LEGO_NR_MEMORY);
        }
        // Without the lock (LegoOS before 02/06) two threads' mremaps are ordered on the memory
        // component (its mmap_sem) but not here: a later move into A can reach the ptes before an
        // earlier move out of A, and pcache_move_pte then moves the wrong line's pte and rmap.
        addressSpaceLock(cpu, mm, mremapFn);
        final long r = mremapLocked(cpu, mm, old, oldLen, newLen, flags, out);
        addressSpaceUnlock(cpu, mm, mremapFn);
        return mremapFn.leave(cpu, r);
    }

    /** Whether mremaps are ordered on the processor (lego-mremap-lock, or a kernel without the 02/05 code). */
    boolean serializesMremap()
    {
        return serializes;
    }

    /**
     * The process's mremap lock, taken by every call that changes its address space on the memory
     * component (mmap, munmap, brk, mprotect, mremap) when mremaps are ordered here: an mremap's
     * move on M frees its old range there at once, but the range's ptes leave it only with the
     * last pcache_move_pte; an mmap answered in between got that range with the moving lines
     * still mapped in it (its first stores went into the other buffer's line, which then moved
     * away: the keys page word_count lost under chaos schedules, with and without the 02/06 fix).
     * Its holder may sleep in an RPC, so waiters yield.
     */
    private void addressSpaceLock(final Cpu cpu, final long mm, final Fn fn)
    {
        if (!serializes)
        {
            return;
        }
        final long lock = mm + MmStruct.LEGO_MREMAP_LOCK;
        while (cpu.xchg(k.spin.atomicSite(), lock, 4, cpu.apicId() + 1) != 0)
        {
            if (fn != null)
            {
                fn.at(cpu, 0x28);
            }
            k.sched.yield(cpu);
        }
        cpu.mark(Mark.LOCK_ACQUIRE, lock, cpu.pc());
    }

    private void addressSpaceUnlock(final Cpu cpu, final long mm, final Fn fn)
    {
        if (!serializes)
        {
            return;
        }
        final long lock = mm + MmStruct.LEGO_MREMAP_LOCK;
        if (fn != null)
        {
            fn.at(cpu, fn == mremapFn ? 0xe0 : 0x50);
        }
        cpu.mark(Mark.LOCK_RELEASE, lock, cpu.pc());
        cpu.store32(lock, 0);
    }

    private long mremapLocked(final Cpu cpu, final long mm, final long old, final long oldLen, final long newLen, final long flags,
        final long[] out)
    {
        final long oldSize = (oldLen + Layout.PAGE_SIZE - 1) & ~(Layout.PAGE_SIZE - 1);
        final long newSize = (newLen + Layout.PAGE_SIZE - 1) & ~(Layout.PAGE_SIZE - 1);
        // Dirty pages of the range still in the victim cache go home first: they are written by address.
        final boolean fenced = serializes;
        if (fenced)
        {
            lego.pcache.beginMove(cpu, tgid(cpu), old, old + oldSize);
        }
        else
        {
            lego.pcache.flushVictims(cpu, lego.pcache.base(cpu), tgid(cpu), old, old + oldSize);
        }
        final long st = mremapMove(cpu, mm, old, oldLen, newLen, flags, oldSize, newSize, out);
        if (fenced)
        {
            lego.pcache.endMove(cpu);
        }
        return st;
    }

    private long mremapMove(final Cpu cpu, final long mm, final long old, final long oldLen, final long newLen, final long flags,
        final long oldSize, final long newSize, final long[] out)
    {
        final long st = rpc(cpu, McManager.OP_MREMAP, old, oldLen, newLen | (flags << 56), 0, 0, 0, 0, out);
        if (st != 0)
        {
            return st;
        }
        final long to = out[0];
        if (to == old)
        {
            if (newSize < oldSize)
            {
                lego.pcache.zapRange(cpu, mm, old + newSize, old + oldSize);
                k.smp.flushTlbRange(cpu, Layout.pa(cpu.load64(mm + MmStruct.PGD)), old + newSize, old + oldSize);
            }
            return to;
        }
        k.printk.printk(cpu, String.format("SYSC_mremap(cpu%d): move: [0x%x - 0x%x] -> [0x%x - 0x%x]", cpu.apicId(), old,
            old + oldSize, to, to + oldSize));
        mremapFn.at(cpu, 0x80);
        lego.pcache.movePtes(cpu, mm, old, to, oldSize);
        return to;
    }

    /**
     * SYSC_mprotect: the memory component changes the vma; here every mapped line of the range
     * takes the new write permission (losing W in its pte), and the range's TLB entries go.
     */
    private long mprotect(final Cpu cpu, final long mm, final long start, final long len, final long prot)
    {
        mprotectFn.enter(cpu);
        final long t = k.current(cpu);
        k.printk.printk(cpu, "SYSC_mprotect() cpu(" + cpu.apicId() + ") tsk(" + cpu.load64(t + Task.PID) + "/" + tgid(cpu) + "/" +
            k.sched.comm(cpu, t) + ")");
        k.printk.printk(cpu, String.format("    start:0x%x,len:0x%x,prot:0x%x", start, len, prot));
        if (k.patches.enabled("lego-mprotect-strace"))
        {
            k.printk.printk(cpu, String.format("strace__mprotect cpu%d start=0x%x, len=0x%x, prot(0x%x)=%s", cpu.apicId(), start, len,
                prot, prot == 0 ? "PROT_NONE" : ((prot & 1) != 0 ? "PROT_READ" : "") + ((prot & 3) == 3 ? "|" : "") +
                ((prot & 2) != 0 ? "PROT_WRITE" : "")));
        }
        if (lego.pcache.releasesVictimPages())
        {
            // The range's dirty victims go home before its protection changes (their pages are
            // given back: lego-victim-page-alloc).
            mprotectFn.at(cpu, 0x40);
            lego.pcache.releaseVictims(cpu, tgid(cpu), start, start + ((len + Layout.PAGE_SIZE - 1) & ~(Layout.PAGE_SIZE - 1)));
        }
        addressSpaceLock(cpu, mm, mprotectFn);
        final long st = rpc(cpu, McManager.OP_MPROTECT, start, len, prot, 0, 0, 0, 0, null);
        if (st == 0)
        {
            mprotectFn.at(cpu, 0x80);
            lego.pcache.protectRange(cpu, mm, start, start + ((len + Layout.PAGE_SIZE - 1) & ~(Layout.PAGE_SIZE - 1)),
                (prot & MmStruct.VM_WRITE) != 0);
        }
        addressSpaceUnlock(cpu, mm, mprotectFn);
        return mprotectFn.leave(cpu, st);
    }

    // ------------------------------------------------------------------ exec, fork, exit

    /** execve(path, argv, envp) from user space (argv/envp may be 0). */
    private long userExecve(final Cpu cpu, final long path, final long argv, final long envp)
    {
        final long kbuf = k.slab.kmalloc(cpu, 256);
        final long n = k.sys.strncpyFromUser(cpu, kbuf, path, 255);
        if (n < 0)
        {
            k.slab.kfree(cpu, kbuf);
            return n;
        }
        final List<String> args = userStrings(cpu, argv);
        final List<String> env = userStrings(cpu, envp);
        if (args.isEmpty())
        {
            args.add(McManager.cstring(cpu, kbuf));
        }
        final long r = execve(cpu, kbuf, args, env);
        k.slab.kfree(cpu, kbuf);
        return r;
    }

    private List<String> userStrings(final Cpu cpu, final long array)
    {
        final List<String> out = new ArrayList<>();
        if (array == 0)
        {
            return out;
        }
        final long kbuf = k.slab.kmalloc(cpu, 256);
        for (int i = 0; i < 16; i++)
        {
            final long p = k.vm.getUser(cpu, array + i * 8L, 8);
            if (p == 0 || k.sys.strncpyFromUser(cpu, kbuf, p, 255) < 0)
            {
                break;
            }
            out.add(McManager.cstring(cpu, kbuf));
        }
        k.slab.kfree(cpu, kbuf);
        return out;
    }

    /** kernel_init's exec of the init program: argv = [path] + the cluster's init arguments, Linux's init environment. */
    public long execve(final Cpu cpu, final long path)
    {
        final List<String> args = new ArrayList<>();
        args.add(McManager.cstring(cpu, path));
        args.addAll(lego.config.initArgs);
        return execve(cpu, path, args, List.of("HOME=/", "TERM=linux"));
    }

    /**
     * p2m_execve: the memory component builds the new address space and answers with the entry
     * point and stack; here only an empty page table is made (every page comes through the pcache).
     * Returns only on failure.
     */
    private long execve(final Cpu cpu, final long path, final List<String> argv, final List<String> envp)
    {
        execveFn.enter(cpu);
        final String file = McManager.cstring(cpu, path);
        final long body = k.slab.kmalloc(cpu, 4096);
        long p = body;
        final List<String> all = new ArrayList<>();
        all.add(file);
        all.addAll(argv);
        all.addAll(envp);
        for (final String s : all)
        {
            for (int i = 0; i < s.length() && p < body + 4000; i++)
            {
                cpu.store8(p++, s.charAt(i));
            }
            cpu.store8(p++, 0);
        }
        final long[] out = new long[1];
        final long tg = tgid(cpu);
        final long reply = lego.replyBuf(cpu);
        final long st = lego.ibapi.call(cpu, lego.home(cpu, tg), McManager.OP_EXECVE, tg, argv.size(), envp.size(), 0, body,
            (p - body + 7) & ~7L, reply, 0, 0, 0);
        final long entry = cpu.load64(reply + 8);
        final long sp = cpu.load64(reply + 16);
        out[0] = st;
        lego.replyDone(cpu, reply);
        k.slab.kfree(cpu, body);
        if (st != 0)
        {
            return execveFn.leave(cpu, st);
        }
        execveFn.at(cpu, 0x80);
        final long mm = k.vm.mmAlloc(cpu);
        cpu.store64(mm + MmStruct.LEGO_TGID, tg);
        final long t = k.current(cpu);
        final long old = cpu.load64(t + Task.MM);
        cpu.store64(t + Task.MM, mm);
        cpu.store64(t + Task.ACTIVE_MM, mm);
        cpu.writeCr3(Layout.pa(cpu.load64(mm + MmStruct.PGD)));
        if (old != 0)
        {
            // The memory component replaced this process's old address space itself: no p2m_exit for it.
            cpu.store64(old + MmStruct.LEGO_TGID, 0);
            k.vm.mmput(cpu, old);
        }
        if (cpu.load64(t + Task.FILES) == 0)
        {
            cpu.store64(t + Task.FILES, k.vfs.allocFiles(cpu));
        }
        cpu.store64(t + Task.FLAGS, (cpu.load64(t + Task.FLAGS) & ~Task.PF_KTHREAD) | Task.PF_USER);
        k.sched.setComm(cpu, t, file.substring(file.lastIndexOf('/') + 1));
        execveFn.leave(cpu);
        k.freezer.tryToFreeze(cpu);
        k.loader.enterUser(cpu, entry, sp);
        return 0;
    }

    /**
     * p2m_fork, from do_fork before the child first runs: the parent's dirty lines go home (write
     * protected again), then the memory component copies the address space for the child.
     */
    public void fork(final Cpu cpu, final long parentMm, final long childMm, final long childPid)
    {
        forkFn.enter(cpu);
        final long tg = tgid(cpu);
        k.printk.printk(cpu, "p2m_fork(cpu" + cpu.apicId() + "): I cur:" + tg + "-" + k.sched.comm(cpu, k.current(cpu)) +
            " new:" + childPid + (k.patches.enabled("lego-fork-print-flags") ? " flags:0x11" : ""));
        cpu.store64(childMm + MmStruct.LEGO_TGID, childPid);
        if (k.patches.enabled("lego-pcache-fork-cow"))
        {
            lego.pcache.forkDup(cpu, parentMm, childMm, tg);
        }
        else
        {
            lego.pcache.flushMm(cpu, parentMm, tg);
        }
        final long st = rpc(cpu, McManager.OP_FORK, childPid, cpu.load64(palimpsest.kernel.Globals.LEGO_NODE), 0, 0, 0, 0, 0, null);
        k.printk.printk(cpu, "p2m_fork(cpu" + cpu.apicId() + "): O " + (st == 0 ? "succeed" : "failed " + st) + " cur:" + tg + "-" +
            k.sched.comm(cpu, k.current(cpu)) + " new:" + childPid);
        forkFn.leave(cpu);
    }

    /** p2m_exit: the last user of a process's address space is gone; the memory component frees its copy. */
    void exit(final Cpu cpu, final long tgid)
    {
        exitFn.enter(cpu);
        final long reply = lego.replyBuf(cpu);
        lego.ibapi.call(cpu, lego.home(cpu, tgid), McManager.OP_EXIT, tgid, 0, 0, 0, 0, 0, reply, 0, 0, 0);
        lego.replyDone(cpu, reply);
        exitFn.leave(cpu);
    }
}
