package palimpsest.kernel.lego;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.Paging;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.mm.MmStruct;
import palimpsest.kernel.mm.PageAlloc;
import palimpsest.kernel.patches.LegoSeries;
import palimpsest.kernel.sched.Task;
import palimpsest.kernel.user.Loader;
import palimpsest.kernel.user.UserProgram;

/**
 * The memory component: it owns every process's address space (an mm_struct with its vmas, page
 * tables and pages, all in this node's memory) and serves the processor's requests from
 * {@code mc-manager} kernel threads, one per cpu. The RX interrupt queues requests
 * ({@link #receive}); a retransmitted request (same source and message id) is not run again: if
 * its reply is ready it is sent again, if it is still running the copy is dropped.
 *
 * <pre>
 * struct mc (kzalloc'ed, Globals.LEGO_MC)
 *   +0 qlock  +8 qhead  +16 qtail  +24 nr_managers  +32 managers[16]  +160 served  +168 resent
 *   +192 proxy_lock  +200 dedup_lock
 *   +256  proxies[32]  { tgid, mm, files (16 x {dentry, pos}), 0 }
 *   +1280 dedup[64]    { src+1, msgid, reply (0 while running), 0 }
 * request (2 pages)  +0 next +8 src +16 msgid +24 op +32 a0..+56 a3 +64 len +72 dedup entry +128 body
 * reply   (2 pages)  +0 a0..+24 a3 +32 len +64 body
 * </pre>
 */
public final class McManager
{
    public static final int OP_EXECVE = 1;
    public static final int OP_FORK = 2;
    public static final int OP_MMAP = 3;
    public static final int OP_MUNMAP = 4;
    public static final int OP_MREMAP = 5;
    public static final int OP_PCACHE_MISS = 7;
    public static final int OP_WRITEBACK = 8;
    public static final int OP_OPEN = 9;
    public static final int OP_READ = 10;
    public static final int OP_CLOSE = 11;
    public static final int OP_EXIT = 12;
    public static final int OP_POWEROFF = 13;
    public static final int OP_MPROTECT = 14;
    public static final int OP_BRK = 6;

    static final int QLOCK = 0;
    static final int QHEAD = 8;
    static final int QTAIL = 16;
    static final int NR_MANAGERS = 24;
    static final int MANAGERS = 32;
    static final int SERVED = 160;
    static final int RESENT = 168;
    static final int PROXY_LOCK = 192;
    static final int DEDUP_LOCK = 200;
    static final int PROXIES = 256;
    static final int NR_PROXIES = 32;
    static final int DEDUP = 1280;
    static final int NR_DEDUP = 64;

    static final int R_NEXT = 0;
    static final int R_SRC = 8;
    static final int R_MSGID = 16;
    static final int R_OP = 24;
    static final int R_A0 = 32;
    static final int R_LEN = 64;
    static final int R_DEDUP = 72;
    static final int R_BODY = 128;
    static final int P_LEN = 32;
    static final int P_BODY = 64;
    static final int MAX_FILES = 16;

    private static final long ENOENT = -2;
    private static final long EFAULT = -14;
    private static final long EBADF = -9;
    private static final long ENOEXEC = -8;

    private final Kernel k;
    private final Lego lego;
    private final Fn managerFn;
    private final Fn receiveFn;
    private final Fn dispatchFn;
    private final Fn execveFn;
    private final Fn forkFn;
    private final Fn missFn;
    private final Fn writebackFn;
    private final Fn mmapFn;
    private final Fn munmapFn;
    private final Fn mremapFn;
    private final Fn mprotectFn;
    private final Fn brkFn;
    private final Fn fileFn;
    private final Fn exitFn;
    private final Fn execLoaderFn;
    private final Fn bprmFn;
    private final Fn copyStringsFn;
    private final Fn faultinFn;
    private final Fn legoFaultFn;
    private final Fn clearUserFn;

    McManager(final Kernel k, final Lego lego)
    {
        this.k = k;
        this.lego = lego;
        this.managerFn = k.text.fn("mc_manager", 0x200, this::managerBody);
        this.receiveFn = k.text.fn("mc_receive", 0x100);
        this.dispatchFn = k.text.fn("mc_dispatch", 0x100);
        this.execveFn = k.text.fn("handle_p2m_execve", 0x290);
        this.forkFn = k.text.fn("handle_p2m_fork", 0x100);
        this.missFn = k.text.fn("handle_p2m_pcache_miss", 0x180);
        this.writebackFn = k.text.fn("handle_p2m_flush_one", 0x100);
        this.mmapFn = k.text.fn("handle_p2m_mmap", 0x80);
        this.munmapFn = k.text.fn("handle_p2m_munmap", 0x80);
        this.mremapFn = k.text.fn("handle_p2m_mremap", 0x80);
        this.fileFn = k.text.fn("handle_p2m_file", 0x100);
        this.mprotectFn = k.text.fn("handle_p2m_mprotect", 0x100);
        this.brkFn = k.text.fn("handle_p2m_brk", 0x100);
        this.exitFn = k.text.fn("handle_p2m_exit", 0x80);
        this.execLoaderFn = k.text.fn("exec_loader", 0x350);
        this.bprmFn = k.text.fn("lego_bprm_mm_init", 0x80);
        this.copyStringsFn = k.text.fn("copy_strings", 0x130);
        this.faultinFn = k.text.fn("faultin_page", 0xb0);
        this.legoFaultFn = k.text.fn("handle_lego_mm_fault", 0x550);
        this.clearUserFn = k.text.fn("lego_clear_user", 0x60);
    }

    long base(final Cpu cpu)
    {
        return cpu.load64(Globals.LEGO_MC);
    }

    void init(final Cpu cpu)
    {
        cpu.store64(Globals.LEGO_MC, k.slab.kzalloc(cpu, 4096));
    }

    /** kernel_init of a memory component: one mc-manager per cpu, then it serves until told to power off. */
    void start(final Cpu cpu)
    {
        final long mc = base(cpu);
        final int nr = (int)cpu.load64(Globals.NR_CPUS);
        for (int c = 0; c < nr && c < 16; c++)
        {
            final long t = k.sched.kernelThread(cpu, "mc-manager", managerFn.addr, c, false, c);
            cpu.store64(mc + MANAGERS + c * 8L, t);
            cpu.store64(mc + NR_MANAGERS, c + 1);
        }
        if (k.patches.enabled("lego-mc-count"))
        {
            k.printk.printk(cpu, "Memory-component: " + cpu.load64(mc + NR_MANAGERS) + " manager threads");
        }
        k.printk.printk(cpu, "Memory-component manager is up and running.");
    }

    // ------------------------------------------------------------------ receiving (RX interrupt)

    /** From the RX interrupt: a request is queued for the managers, unless it is a retransmission. */
    void receive(final Cpu cpu, final int src, final long frame, final long len)
    {
        receiveFn.enter(cpu);
        final long mc = base(cpu);
        final long msgid = cpu.load64(frame + Ibapi.F_MSGID);
        final long e = mc + DEDUP + (msgid % NR_DEDUP) * 32;
        final boolean f = k.spin.lockIrqSave(cpu, mc + DEDUP_LOCK);
        if (cpu.load64(e) == src + 1 && cpu.load64(e + 8) == msgid)
        {
            final long rep = cpu.load64(e + 16);
            k.spin.unlockIrqRestore(cpu, mc + DEDUP_LOCK, f);
            cpu.store64(lego.ibapi.base(cpu) + Ibapi.DUPLICATES, cpu.load64(lego.ibapi.base(cpu) + Ibapi.DUPLICATES) + 1);
            if (rep != 0)
            {
                receiveFn.at(cpu, 0x40);
                cpu.store64(mc + RESENT, cpu.load64(mc + RESENT) + 1);
                sendReply(cpu, src, msgid, rep);
            }
            receiveFn.leave(cpu);
            return;
        }
        final long old = cpu.load64(e + 16);
        cpu.store64(e, src + 1);
        cpu.store64(e + 8, msgid);
        cpu.store64(e + 16, 0);
        k.spin.unlockIrqRestore(cpu, mc + DEDUP_LOCK, f);
        if (old != 0)
        {
            k.pages.freePages(cpu, PageAlloc.virtToPage(old), 1);
        }
        receiveFn.at(cpu, 0x60);
        final long req = PageAlloc.pageAddress(k.pages.allocPages(cpu, 1));
        final long body = Math.min(Ibapi.MAX_BODY, cpu.load32(frame + Ibapi.F_LEN));
        cpu.store64(req + R_NEXT, 0);
        cpu.store64(req + R_SRC, src);
        cpu.store64(req + R_MSGID, msgid);
        cpu.store64(req + R_OP, cpu.load32(frame + Ibapi.F_OP));
        for (int i = 0; i < 4; i++)
        {
            cpu.store64(req + R_A0 + i * 8L, cpu.load64(frame + Ibapi.F_A0 + i * 8L));
        }
        cpu.store64(req + R_LEN, body);
        cpu.store64(req + R_DEDUP, e);
        for (long o = 0; o < body; o += 8)
        {
            cpu.store64(req + R_BODY + o, cpu.load64(frame + Ibapi.HDR + o));
        }
        final boolean g = k.spin.lockIrqSave(cpu, mc + QLOCK);
        final long tail = cpu.load64(mc + QTAIL);
        if (tail == 0)
        {
            cpu.store64(mc + QHEAD, req);
        }
        else
        {
            cpu.store64(tail + R_NEXT, req);
        }
        cpu.store64(mc + QTAIL, req);
        k.spin.unlockIrqRestore(cpu, mc + QLOCK, g);
        final long n = cpu.load64(mc + NR_MANAGERS);
        for (int i = 0; i < n; i++)
        {
            receiveFn.at(cpu, 0xc0);
            k.sched.wakeUp(cpu, cpu.load64(mc + MANAGERS + i * 8L));
        }
        receiveFn.leave(cpu);
    }

    private void sendReply(final Cpu cpu, final int dst, final long msgid, final long rep)
    {
        lego.ibapi.send(cpu, dst, Ibapi.TYPE_REPLY, msgid, 0, cpu.load64(rep), cpu.load64(rep + 8), cpu.load64(rep + 16),
            cpu.load64(rep + 24), rep + P_BODY, cpu.load64(rep + P_LEN));
    }

    // ------------------------------------------------------------------ the manager threads

    private void managerBody(final Cpu cpu)
    {
        managerFn.prologue(cpu);
        final long mc = base(cpu);
        while (true)
        {
            managerFn.at(cpu, 0x20);
            if (k.patches.enabled("lego-stop-machine"))
            {
                cpu.load64(Globals.LEGO_NR_MEMORY);
            }
            final boolean f = k.spin.lockIrqSave(cpu, mc + QLOCK);
            final long req = cpu.load64(mc + QHEAD);
            if (req == 0)
            {
                k.sched.setCurrentState(cpu, Task.INTERRUPTIBLE);
                k.spin.unlockIrqRestore(cpu, mc + QLOCK, f);
                k.sched.schedule(cpu);
                continue;
            }
            final long next = cpu.load64(req + R_NEXT);
            cpu.store64(mc + QHEAD, next);
            if (next == 0)
            {
                cpu.store64(mc + QTAIL, 0);
            }
            k.spin.unlockIrqRestore(cpu, mc + QLOCK, f);
            managerFn.at(cpu, 0x80);
            final long rep = PageAlloc.pageAddress(k.pages.allocPages(cpu, 1));
            for (int i = 0; i < 5; i++)
            {
                cpu.store64(rep + i * 8L, 0);
            }
            final boolean poweroff = dispatch(cpu, req, rep);
            final int src = (int)cpu.load64(req + R_SRC);
            final long msgid = cpu.load64(req + R_MSGID);
            final long e = cpu.load64(req + R_DEDUP);
            final boolean g = k.spin.lockIrqSave(cpu, mc + DEDUP_LOCK);
            final boolean mine = cpu.load64(e + 8) == msgid && cpu.load64(e) == src + 1;
            if (mine)
            {
                cpu.store64(e + 16, rep);
            }
            k.spin.unlockIrqRestore(cpu, mc + DEDUP_LOCK, g);
            // Several mc-manager threads serve at once: an atomic increment.
            cpu.xadd(k.spin.atomicSite(), mc + SERVED, 8, 1);
            sendReply(cpu, src, msgid, rep);
            if (!mine)
            {
                k.pages.freePages(cpu, PageAlloc.virtToPage(rep), 1);
            }
            k.pages.freePages(cpu, PageAlloc.virtToPage(req), 1);
            if (poweroff)
            {
                k.printk.printk(cpu, "reboot: Power down");
                cpu.out(Machine.POWER_PORT, 0);
                Lego.haltForever(cpu);
            }
        }
    }

    /** Runs one request; the reply's a0 is its status. True for a power-off request. */
    private boolean dispatch(final Cpu cpu, final long req, final long rep)
    {
        dispatchFn.enter(cpu);
        final long op = cpu.load64(req + R_OP);
        final long tgid = cpu.load64(req + R_A0);
        final long a1 = cpu.load64(req + R_A0 + 8);
        final long a2 = cpu.load64(req + R_A0 + 16);
        final long a3 = cpu.load64(req + R_A0 + 24);
        long status = 0;
        switch ((int)op)
        {
            case OP_EXECVE: status = handleExecve(cpu, req, rep, tgid, a1, a2); break;
            case OP_FORK: status = handleFork(cpu, tgid, a1, a2); break;
            case OP_PCACHE_MISS: status = handleMiss(cpu, rep, tgid, a1, a2); break;
            case OP_WRITEBACK: status = handleWriteback(cpu, req, tgid, a1); break;
            case OP_MMAP:
            {
                mmapFn.enter(cpu);
                final long mm = proxyMm(cpu, tgid);
                final long r = mm == 0 ? EFAULT : k.vm.doMmap(cpu, mm, a1, a2);
                status = mmapFn.leave(cpu, r < 0 ? r : 0);
                cpu.store64(rep + 8, r);
                break;
            }
            case OP_MUNMAP:
            {
                munmapFn.enter(cpu);
                final long mm = proxyMm(cpu, tgid);
                status = munmapFn.leave(cpu, mm == 0 ? EFAULT : k.vm.doMunmap(cpu, mm, a1, a2));
                break;
            }
            case OP_MREMAP:
            {
                mremapFn.enter(cpu);
                final long mm = proxyMm(cpu, tgid);
                final long r = mm == 0 ? EFAULT : k.vm.doMremap(cpu, mm, a1, a2, a3 & ((1L << 56) - 1), a3 >>> 56);
                status = mremapFn.leave(cpu, r < 0 && r > -4096 ? r : 0);
                cpu.store64(rep + 8, r);
                break;
            }
            case OP_MPROTECT: status = handleMprotect(cpu, tgid, a1, a2, a3); break;
            case OP_BRK: status = handleBrk(cpu, rep, tgid, a1); break;
            case OP_OPEN:
            case OP_READ:
            case OP_CLOSE: status = handleFile(cpu, (int)op, req, rep, tgid, a1, a2); break;
            case OP_EXIT: status = handleExit(cpu, tgid); break;
            case OP_POWEROFF: break;
            default: status = -38;
        }
        cpu.store64(rep, status);
        dispatchFn.leave(cpu);
        return op == OP_POWEROFF;
    }

    // ------------------------------------------------------------------ processes

    private long proxy(final Cpu cpu, final long tgid)
    {
        final long mc = base(cpu);
        for (int i = 0; i < NR_PROXIES; i++)
        {
            final long p = mc + PROXIES + i * 32L;
            if (cpu.load64(p + 8) != 0 && cpu.load64(p) == tgid)
            {
                return p;
            }
        }
        return 0;
    }

    long proxyMm(final Cpu cpu, final long tgid)
    {
        final long mc = base(cpu);
        final boolean f = k.spin.lockIrqSave(cpu, mc + PROXY_LOCK);
        final long p = proxy(cpu, tgid);
        final long mm = p == 0 ? 0 : cpu.load64(p + 8);
        k.spin.unlockIrqRestore(cpu, mc + PROXY_LOCK, f);
        return mm;
    }

    /** Installs mm as tgid's address space (files kept or fresh); the one it replaces is returned for mmput. */
    private long setProxy(final Cpu cpu, final long tgid, final long mm, final long files)
    {
        final long mc = base(cpu);
        final boolean f = k.spin.lockIrqSave(cpu, mc + PROXY_LOCK);
        long p = proxy(cpu, tgid);
        long old = 0;
        if (p != 0)
        {
            old = cpu.load64(p + 8);
        }
        else
        {
            for (int i = 0; i < NR_PROXIES && p == 0; i++)
            {
                final long q = mc + PROXIES + i * 32L;
                if (cpu.load64(q + 8) == 0)
                {
                    p = q;
                }
            }
            if (p == 0)
            {
                k.oops.bug(cpu, "BUG: memory component: no free process slot for pid " + tgid);
            }
            cpu.store64(p, tgid);
            cpu.store64(p + 16, files);
        }
        cpu.store64(p + 8, mm);
        k.spin.unlockIrqRestore(cpu, mc + PROXY_LOCK, f);
        return old;
    }

    private long handleFork(final Cpu cpu, final long parent, final long child, final long nid)
    {
        forkFn.enter(cpu);
        k.printk.printk(cpu, "handle_p2m_fork(): nid:" + nid + ",pid:" + child + ",tgid:" + child + ",parent_tgid:" + parent);
        final long pmm = proxyMm(cpu, parent);
        long status = 0;
        if (pmm == 0)
        {
            status = EFAULT;
        }
        else
        {
            final long mm = k.vm.dupMm(cpu, pmm);
            setProxy(cpu, child, mm, k.slab.kzalloc(cpu, MAX_FILES * 16));
        }
        k.printk.printk(cpu, "handle_p2m_fork(): reply: " + status + ":" + (status == 0 ? "OKAY" : "ERROR"));
        return forkFn.leave(cpu, status);
    }

    private long handleExit(final Cpu cpu, final long tgid)
    {
        exitFn.enter(cpu);
        final long mc = base(cpu);
        final boolean f = k.spin.lockIrqSave(cpu, mc + PROXY_LOCK);
        final long p = proxy(cpu, tgid);
        long mm = 0;
        long files = 0;
        if (p != 0)
        {
            mm = cpu.load64(p + 8);
            files = cpu.load64(p + 16);
            cpu.store64(p + 8, 0);
            cpu.store64(p, 0);
        }
        k.spin.unlockIrqRestore(cpu, mc + PROXY_LOCK, f);
        if (mm != 0)
        {
            k.vm.mmput(cpu, mm);
            k.slab.kfree(cpu, files);
        }
        return exitFn.leave(cpu, 0);
    }

    // ------------------------------------------------------------------ exec: the loader

    /**
     * handle_p2m_execve: body = file\0, argc strings, envc strings. Builds a new address space with
     * exec_loader and replies entry (a1) and user stack pointer (a2).
     */
    private long handleExecve(final Cpu cpu, final long req, final long rep, final long tgid, final long argc, final long envc)
    {
        execveFn.enter(cpu);
        final long body = req + R_BODY;
        final String file = cstring(cpu, body);
        k.printk.printk(cpu, "handle_p2m_execve(): pid:" + tgid + ",argc:" + argc + ",envc:" + envc + ",file:" + file);
        long p = body + file.length() + 1;
        final long strings = p;
        for (long i = 0; i < argc + envc; i++)
        {
            execveFn.at(cpu, 0x100);
            final String s = cstring(cpu, p);
            k.printk.printk(cpu, String.format("    %s[%d] (len: %2d):  %s", i < argc ? "argc" : "envc", i < argc ? i : i - argc,
                s.length(), s));
            p += s.length() + 1;
        }
        if (k.patches.enabled("lego-mc-manager-stats"))
        {
            execveFn.at(cpu, 0x1a0);
            cpu.load64(Globals.LEGO_ROLE);
        }
        execveFn.at(cpu, 0x1aa);
        final long r = execLoader(cpu, tgid, body, strings, argc, envc, rep);
        return execveFn.leave(cpu, r);
    }

    private long execLoader(final Cpu cpu, final long tgid, final long path, final long strings, final long argc,
        final long envc, final long rep)
    {
        execLoaderFn.enter(cpu);
        final long dentry = k.vfs.pathLookup(cpu, path);
        if (dentry == 0)
        {
            return execLoaderFn.leave(cpu, ENOENT);
        }
        // bprm->buf: the first BINPRM_BUF_SIZE bytes of the file (a kmalloc-128 object, as the stack vma is).
        final long hdr = k.slab.kmalloc(cpu, Loader.BINPRM_BUF_SIZE);
        k.vfs.kernelRead(cpu, dentry, 0, hdr, Loader.BINPRM_BUF_SIZE);
        if (cpu.load32(hdr) != UserProgram.MAGIC)
        {
            k.slab.kfree(cpu, hdr);
            return execLoaderFn.leave(cpu, ENOEXEC);
        }
        final long entry = cpu.load64(hdr + 8);
        final long textVa = cpu.load64(hdr + 16);
        final long textSize = cpu.load64(hdr + 24);
        final long dataVa = cpu.load64(hdr + 32);
        final long dataSize = cpu.load64(hdr + 40);
        final long bssSize = cpu.load64(hdr + 48);
        final long textOff = cpu.load64(hdr + 56);
        k.slab.kfree(cpu, hdr);
        execLoaderFn.at(cpu, 0x100);
        bprmFn.enter(cpu);
        final long mm = k.loader.bprmMmInit(cpu);
        final long vma = k.vm.findVma(cpu, mm, Layout.USER_STACK_TOP - 1);
        k.printk.printk(cpu, "__bprm_mm_init vma: " + Long.toHexString(vma));
        bprmFn.leave(cpu);
        execLoaderFn.at(cpu, 0x1ce);
        final long sp = copyStrings(cpu, mm, vma, strings, argc, envc);
        execLoaderFn.at(cpu, 0x21e);
        k.loader.loadBinary(cpu, mm, dentry, textVa, textSize, textOff, dataVa, dataSize, bssSize);
        final long startBrk = (dataVa + dataSize + bssSize + Layout.PAGE_SIZE - 1) & ~(Layout.PAGE_SIZE - 1);
        cpu.store64(mm + MmStruct.LEGO_START_BRK, startBrk);
        if (k.patches.enabled("lego-loader-brk-align"))
        {
            execLoaderFn.at(cpu, 0x2a0);
            cpu.load64(mm + MmStruct.LEGO_START_BRK);
        }
        cpu.store64(mm + MmStruct.LEGO_BRK, startBrk);
        final long files = k.slab.kzalloc(cpu, MAX_FILES * 16);
        final long old = setProxy(cpu, tgid, mm, files);
        if (old != 0)
        {
            k.vm.mmput(cpu, old);
            k.slab.kfree(cpu, files);
        }
        cpu.store64(rep + 8, entry);
        cpu.store64(rep + 16, sp);
        return execLoaderFn.leave(cpu, 0);
    }

    /**
     * copy_strings: the argument and environment strings to the top of the new stack, through
     * faultin_page of the temporary stack vma (so each page is faulted in, as the diary's logs show),
     * then the pointer arrays and argc below them. Returns the user stack pointer.
     */
    private long copyStrings(final Cpu cpu, final long mm, final long vma, final long strings, final long argc,
        final long envc)
    {
        copyStringsFn.enter(cpu);
        final int n = (int)(argc + envc);
        final long[] uptr = new long[n];
        long p = strings;
        long top = Layout.USER_STACK_TOP - 16;
        for (int i = 0; i < n; i++)
        {
            final long len = cstring(cpu, p).length() + 1;
            top -= len;
            uptr[i] = top;
            for (long j = 0; j < len; j++)
            {
                copyStringsFn.at(cpu, 0xe1);
                final long kva = faultinPage(cpu, mm, vma, top + j, true);
                if (kva == 0)
                {
                    return copyStringsFn.leave(cpu, EFAULT);
                }
                cpu.store8(kva, cpu.load8(p + j));
            }
            p += len;
        }
        long sp = (top - 8L * (n + 3)) & ~15L;
        long w = sp;
        putUserLong(cpu, mm, vma, w, argc);
        w += 8;
        for (int i = 0; i < n; i++)
        {
            putUserLong(cpu, mm, vma, w, uptr[i]);
            w += 8;
            if (i == argc - 1)
            {
                putUserLong(cpu, mm, vma, w, 0);
                w += 8;
            }
        }
        if (argc == 0)
        {
            putUserLong(cpu, mm, vma, w, 0);
            w += 8;
        }
        putUserLong(cpu, mm, vma, w, 0);
        return copyStringsFn.leave(cpu, sp);
    }

    private void putUserLong(final Cpu cpu, final long mm, final long vma, final long uva, final long v)
    {
        final long kva = faultinPage(cpu, mm, vma, uva, true);
        if (kva != 0)
        {
            cpu.store64(kva, v);
        }
    }

    /**
     * faultin_page: the kernel address of user address uva in mm, faulting the page in through
     * handle_lego_mm_fault when it is not present (or not writable for a write). 0 if it cannot be.
     */
    long faultinPage(final Cpu cpu, final long mm, final long vma, final long uva, final boolean write)
    {
        faultinFn.enter(cpu);
        final long pgd = Layout.pa(cpu.load64(mm + MmStruct.PGD));
        long ptep = k.pt.pte(cpu, pgd, uva, Layout.PAGE_OFFSET, false, true);
        long pte = ptep == 0 ? 0 : cpu.load64(ptep);
        if ((pte & Paging.P) == 0 || (write && (pte & Paging.W) == 0))
        {
            if (vma != 0)
            {
                k.printk.printk(cpu, "faultin_page vma: " + Long.toHexString(vma) + " uva: 0x" + Long.toHexString(uva));
            }
            faultinFn.at(cpu, 0x43);
            if (!handleLegoMmFault(cpu, mm, uva, write))
            {
                return faultinFn.leave(cpu, 0);
            }
            ptep = k.pt.pte(cpu, pgd, uva, Layout.PAGE_OFFSET, false, true);
            pte = cpu.load64(ptep);
        }
        return faultinFn.leave(cpu, Layout.va(pte & Paging.ADDR_MASK) + (uva & Layout.PAGE_MASK()));
    }

    private boolean handleLegoMmFault(final Cpu cpu, final long mm, final long uva, final boolean write)
    {
        legoFaultFn.enter(cpu);
        // handle_pte_fault, inlined: "if (vma->vm_ops && vma->vm_ops->fault)" is a file-backed fault
        // (handle_mm_fault below calls it). A kmalloc'ed vma's vm_ops is its slot's last user's word.
        k.vm.lockMm(cpu, mm);
        final long vma = k.vm.findVma(cpu, mm, uva);
        if (vma != 0)
        {
            legoFaultFn.at(cpu, 0x150);
            final long ops = cpu.load64(vma + MmStruct.VM_OPS);
            if (ops != 0)
            {
                legoFaultFn.at(cpu, 0x160);
                cpu.load64(ops + MmStruct.VMOPS_FAULT);
            }
        }
        k.vm.unlockMm(cpu, mm);
        final boolean ok = k.vm.handleMmFault(cpu, mm, uva, write ? Paging.PF_WRITE | Paging.PF_USER : Paging.PF_USER);
        legoFaultFn.leave(cpu);
        return ok;
    }

    /** lego_clear_user: zeroes len bytes at user address uva of mm (the loader's .bss tail). */
    public void clearUser(final Cpu cpu, final long mm, final long uva, final long len)
    {
        clearUserFn.enter(cpu);
        if (LegoSeries.active(k.patches, "lego-clear-user-todo", "lego-clear-user"))
        {
            // TODO: not implemented (the diary's 02/17: "We did not implement the lego_clear_user function").
            clearUserFn.leave(cpu);
            return;
        }
        for (long i = 0; i < len; i++)
        {
            clearUserFn.at(cpu, 0x20);
            final long kva = faultinPage(cpu, mm, 0, uva + i, true);
            if (kva == 0)
            {
                break;
            }
            cpu.store8(kva, 0);
        }
        clearUserFn.leave(cpu);
    }

    // ------------------------------------------------------------------ pages

    /**
     * handle_p2m_pcache_miss: faults the page in (a write miss breaks copy-on-write) and ships it:
     * body = the 4 KiB page, a1 = the vma's flags, a2 = the page's checksum.
     */
    private long handleMiss(final Cpu cpu, final long rep, final long tgid, final long uva, final long write)
    {
        missFn.enter(cpu);
        final long mm = proxyMm(cpu, tgid);
        if (mm == 0)
        {
            return missFn.leave(cpu, EFAULT);
        }
        final long va = uva & ~(Layout.PAGE_SIZE - 1);
        // Under mmap_sem (LegoOS's down_read; here the mm's one lock, Vm.lockMm): another
        // manager thread may be moving, splitting or unlinking vmas of this mm (an mremap, mmap
        // or mprotect of another thread of the process) meanwhile. The vma's flags are read
        // under it too; the page itself is faulted in after (handle_lego_mm_fault locks again).
        k.vm.lockMm(cpu, mm);
        final long vma = k.vm.findVma(cpu, mm, va);
        if (vma == 0 || Long.compareUnsigned(cpu.load64(vma + MmStruct.VM_START), va) > 0)
        {
            k.vm.unlockMm(cpu, mm);
            return missFn.leave(cpu, EFAULT);
        }
        final long vmFlags = cpu.load64(vma + MmStruct.VM_FLAGS);
        k.vm.unlockMm(cpu, mm);
        final long kva = faultinPage(cpu, mm, 0, va, write != 0);
        if (kva == 0)
        {
            return missFn.leave(cpu, EFAULT);
        }
        missFn.at(cpu, 0x80);
        long csum = 0;
        for (long o = 0; o < Layout.PAGE_SIZE; o += 8)
        {
            final long v = cpu.load64(kva + o);
            cpu.store64(rep + P_BODY + o, v);
            csum = Lego.csumStep(csum, v);
        }
        cpu.store64(rep + 8, vmFlags);
        cpu.store64(rep + 16, csum);
        cpu.store64(rep + P_LEN, Layout.PAGE_SIZE);
        return missFn.leave(cpu, 0);
    }

    /** A dirty line written back by the processor: into the page (breaking copy-on-write first). */
    private long handleWriteback(final Cpu cpu, final long req, final long tgid, final long uva)
    {
        writebackFn.enter(cpu);
        final long mm = proxyMm(cpu, tgid);
        final long kva = mm == 0 ? 0 : faultinPage(cpu, mm, 0, uva & ~(Layout.PAGE_SIZE - 1), true);
        if (kva == 0)
        {
            return writebackFn.leave(cpu, EFAULT);
        }
        for (long o = 0; o < Layout.PAGE_SIZE; o += 8)
        {
            cpu.store64(kva + o, cpu.load64(req + R_BODY + o));
        }
        return writebackFn.leave(cpu, 0);
    }

    /**
     * handle_p2m_mprotect: [start, start+len) must lie in one vma, which is split at the range's
     * ends; the middle gets prot (PROT_READ/WRITE/EXEC = VM_READ/WRITE/EXEC), and without write
     * its present ptes here lose W (a later writeback breaks nothing: it faults the page in for write).
     */
    private long handleMprotect(final Cpu cpu, final long tgid, final long start, final long len, final long prot)
    {
        mprotectFn.enter(cpu);
        final long mm = proxyMm(cpu, tgid);
        final long end = start + ((len + Layout.PAGE_SIZE - 1) & ~(Layout.PAGE_SIZE - 1));
        if (mm == 0 || (start & Layout.PAGE_MASK()) != 0 || len <= 0)
        {
            return mprotectFn.leave(cpu, -22);
        }
        k.vm.lockMm(cpu, mm);
        final long v = k.vm.findVma(cpu, mm, start);
        if (v == 0 || Long.compareUnsigned(cpu.load64(v + MmStruct.VM_START), start) > 0 ||
            Long.compareUnsigned(end, cpu.load64(v + MmStruct.VM_END)) > 0)
        {
            k.vm.unlockMm(cpu, mm);
            return mprotectFn.leave(cpu, -12);
        }
        final long vs = cpu.load64(v + MmStruct.VM_START);
        final long ve = cpu.load64(v + MmStruct.VM_END);
        final long flags = cpu.load64(v + MmStruct.VM_FLAGS);
        final long keep = flags & ~7L;
        mprotectFn.at(cpu, 0x40);
        if (ve > end)
        {
            final long tail = k.vm.newVma(cpu, mm, end, ve, flags);
            cpu.store64(tail + MmStruct.VM_OPS, cpu.load64(v + MmStruct.VM_OPS));
            cpu.store64(v + MmStruct.VM_END, end);
            k.vm.insertVma(cpu, mm, tail);
        }
        long mid = v;
        if (vs < start)
        {
            mid = k.vm.newVma(cpu, mm, start, end, flags);
            cpu.store64(mid + MmStruct.VM_OPS, cpu.load64(v + MmStruct.VM_OPS));
            cpu.store64(v + MmStruct.VM_END, start);
            k.vm.insertVma(cpu, mm, mid);
        }
        cpu.store64(mid + MmStruct.VM_FLAGS, keep | (prot & 7));
        if ((prot & MmStruct.VM_WRITE) == 0)
        {
            final long pgd = Layout.pa(cpu.load64(mm + MmStruct.PGD));
            for (long a = start; a < end; a += Layout.PAGE_SIZE)
            {
                mprotectFn.at(cpu, 0x80);
                final long ptep = k.pt.pte(cpu, pgd, a, Layout.PAGE_OFFSET, false, true);
                if (ptep != 0 && (cpu.load64(ptep) & Paging.P) != 0)
                {
                    k.pt.set(cpu, ptep, cpu.load64(ptep) & ~Paging.W);
                }
            }
        }
        k.vm.unlockMm(cpu, mm);
        return mprotectFn.leave(cpu, 0);
    }

    /**
     * handle_p2m_brk: brk(0) answers the break; a higher one grows the heap vma (made at the first
     * growth, right after .bss) when nothing is in the way; a lower one unmaps the tail. Reply a1 =
     * the break now, a2 = the break before.
     */
    private long handleBrk(final Cpu cpu, final long rep, final long tgid, final long want)
    {
        brkFn.enter(cpu);
        final long mm = proxyMm(cpu, tgid);
        if (mm == 0)
        {
            return brkFn.leave(cpu, EFAULT);
        }
        k.vm.lockMm(cpu, mm);
        final long start = cpu.load64(mm + MmStruct.LEGO_START_BRK);
        final long old = cpu.load64(mm + MmStruct.LEGO_BRK);
        long now = old;
        final long oldEnd = (old + Layout.PAGE_SIZE - 1) & ~(Layout.PAGE_SIZE - 1);
        final long newEnd = (want + Layout.PAGE_SIZE - 1) & ~(Layout.PAGE_SIZE - 1);
        if (want >= start && newEnd > oldEnd)
        {
            brkFn.at(cpu, 0x40);
            final long next = k.vm.findVma(cpu, mm, oldEnd);
            if (next == 0 || Long.compareUnsigned(cpu.load64(next + MmStruct.VM_START), newEnd) >= 0)
            {
                final long heap = oldEnd > start ? k.vm.findVma(cpu, mm, start) : 0;
                if (heap != 0 && cpu.load64(heap + MmStruct.VM_END) == oldEnd)
                {
                    cpu.store64(heap + MmStruct.VM_END, newEnd);
                }
                else
                {
                    k.vm.insertVma(cpu, mm, k.vm.newVma(cpu, mm, oldEnd, newEnd, MmStruct.VM_READ | MmStruct.VM_WRITE));
                }
                now = want;
            }
        }
        else if (want >= start)
        {
            now = want;
        }
        cpu.store64(mm + MmStruct.LEGO_BRK, now);
        k.vm.unlockMm(cpu, mm);
        if (now < old && newEnd < oldEnd)
        {
            brkFn.at(cpu, 0x80);
            k.vm.doMunmap(cpu, mm, newEnd, oldEnd - newEnd);
        }
        cpu.store64(rep + 8, now);
        cpu.store64(rep + 16, old);
        return brkFn.leave(cpu, 0);
    }

    // ------------------------------------------------------------------ files (they live here)

    private long handleFile(final Cpu cpu, final int op, final long req, final long rep, final long tgid, final long a1,
        final long a2)
    {
        fileFn.enter(cpu);
        final long mc = base(cpu);
        final boolean f = k.spin.lockIrqSave(cpu, mc + PROXY_LOCK);
        final long p = proxy(cpu, tgid);
        final long files = p == 0 ? 0 : cpu.load64(p + 16);
        k.spin.unlockIrqRestore(cpu, mc + PROXY_LOCK, f);
        if (files == 0)
        {
            return fileFn.leave(cpu, EBADF);
        }
        if (op == OP_OPEN)
        {
            final long dentry = k.vfs.pathLookup(cpu, req + R_BODY);
            if (dentry == 0)
            {
                return fileFn.leave(cpu, ENOENT);
            }
            for (int fd = 3; fd < MAX_FILES; fd++)
            {
                final long e = files + fd * 16L;
                if (cpu.load64(e) == 0)
                {
                    cpu.store64(e, dentry);
                    cpu.store64(e + 8, 0);
                    cpu.store64(rep + 8, fd);
                    return fileFn.leave(cpu, 0);
                }
            }
            return fileFn.leave(cpu, -24);
        }
        if (a1 < 0 || a1 >= MAX_FILES || cpu.load64(files + a1 * 16) == 0)
        {
            return fileFn.leave(cpu, EBADF);
        }
        final long e = files + a1 * 16;
        if (op == OP_CLOSE)
        {
            cpu.store64(e, 0);
            return fileFn.leave(cpu, 0);
        }
        final long pos = cpu.load64(e + 8);
        final long n = k.vfs.kernelRead(cpu, cpu.load64(e), pos, rep + P_BODY, Math.min(a2, Ibapi.MAX_BODY));
        cpu.store64(e + 8, pos + n);
        cpu.store64(rep + 8, n);
        cpu.store64(rep + P_LEN, (n + 7) & ~7L);
        return fileFn.leave(cpu, 0);
    }

    static String cstring(final Cpu cpu, final long p)
    {
        final StringBuilder sb = new StringBuilder();
        for (long i = 0; i < 256; i++)
        {
            final long c = cpu.load8(p + i);
            if (c == 0)
            {
                break;
            }
            sb.append((char)c);
        }
        return sb.toString();
    }
}
