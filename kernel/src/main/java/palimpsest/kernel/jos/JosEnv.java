package palimpsest.kernel.jos;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Paging;
import palimpsest.emulator.Routine;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.mm.PageAlloc;
import palimpsest.kernel.sched.Task;
import palimpsest.kernel.user.Syscalls;

/**
 * JOS environments' address spaces and user-level page-fault handlers (lab 4 part B), on the
 * shared kernel's page tables, buddy pages and refcounts.
 *
 * <ul>
 * <li>{@code env_setup_vm} (called by mm_alloc in this configuration) starts a page directory from
 * kern_pgdir (swapper_pg_dir): only the kernel half (the fix, {@code jos-env-setup-vm-kernel-half}),
 * or every top-level entry ({@code jos-env-setup-vm-memcpy}, the bug): then each user-half table
 * kern_pgdir has is shared by kern_pgdir and every environment created afterwards.</li>
 * <li>{@code page_insert}/{@code page_remove} as JOS has them: insert takes a reference first, then
 * removes whatever the entry mapped (dropping that page's reference: {@code freed 0x...} when it was
 * the last), then writes the entry; with the debugging prints of the notes
 * ({@code page_insert VA -> PA (pgdir: ..)}, {@code [envid] allocated VA -> PA}, {@code freed PA}).</li>
 * <li>{@code sys_page_alloc(envid, va, perm)} and {@code sys_env_set_pgfault_upcall(envid, fn)}: the
 * parent sets both up for a child after fork, as JOS's fork does.</li>
 * <li>{@code page_fault_handler}: a user fault outside any vma, with an upcall set, maps the
 * environment's exception stack into kern_pgdir at {@link #UXSTACK} (the notes' student code:
 * {@code [envid] insert PA}, then {@code page_insert(kern_pgdir, pinfo, UXSTACKBASE, PTE_W)}),
 * pushes a UTrapframe on the exception stack through the environment's page table and runs the
 * handler at CPL 3 there; the {@code _pgfault_upcall} trampoline then returns through the
 * UTrapframe as it reads it back. A UTrapframe that is not the one pushed (another environment's
 * write through a shared table) sends the environment elsewhere: it is killed ({@code user fault}).</li>
 * </ul>
 *
 * <p>Layout: the exception stacks live in their own top-level slot, so only they are shared by the
 * bug, as in JOS only the page directory entry of UXSTACKTOP's 4 MiB was:
 * {@code UXSTACKTOP = 0x7e8000000000} (slot 253's start), {@code UXSTACK = UXSTACKTOP - PGSIZE}
 * (slot 252). Env records ({@code struct Env}: id, pgfault_upcall, exception-stack page, the kernel
 * stack top while an upcall runs) are an array of {@link #NENV} kept in a page whose address sits
 * in cpu 0's per-cpu page at {@link #ENVS_PCPU}.
 */
public final class JosEnv
{
    public static final int SYS_PAGE_ALLOC = 300;
    public static final int SYS_ENV_SET_PGFAULT_UPCALL = 301;

    public static final long UXSTACKTOP = 0x0000_7e80_0000_0000L;
    public static final long UXSTACK = UXSTACKTOP - Layout.PAGE_SIZE;
    public static final long PTE_P = Paging.P;
    public static final long PTE_W = Paging.W;
    public static final long PTE_U = Paging.U;

    /** UTrapframe: fault_va, err, eip, eflags, esp, env id. */
    public static final int UTF_SIZE = 48;
    public static final int UTF_FAULT_VA = 0;
    public static final int UTF_ERR = 8;
    public static final int UTF_EIP = 16;
    public static final int UTF_EFLAGS = 24;
    public static final int UTF_ESP = 32;
    public static final int UTF_ENVID = 40;

    static final int ENVS_PCPU = 520;
    static final int NENV = 128;
    static final int ENV_SIZE = 32;
    static final int ENV_ID = 0;
    static final int ENV_UPCALL = 8;
    static final int ENV_XSTACK = 16;
    static final int ENV_RSP0 = 24;

    private final Kernel k;
    private final Fn setupVmFn;
    private final Fn insertFn;
    private final Fn removeFn;
    private final Fn pageAllocFn;
    private final Fn setUpcallFn;
    private final Fn faultFn;

    public JosEnv(final Kernel k)
    {
        this.k = k;
        this.setupVmFn = k.text.fn("env_setup_vm", 0x60);
        this.insertFn = k.text.fn("page_insert", 0x80);
        this.removeFn = k.text.fn("page_remove", 0x60);
        this.pageAllocFn = k.text.fn("sys_page_alloc", 0x80);
        this.setUpcallFn = k.text.fn("sys_env_set_pgfault_upcall", 0x40);
        this.faultFn = k.text.fn("page_fault_handler", 0x100);
    }

    // ------------------------------------------------------------------ env_setup_vm

    /** env_setup_vm: the new page directory (direct-map address) starts from kern_pgdir. */
    public void setupVm(final Cpu cpu, final long pgd)
    {
        setupVmFn.enter(cpu);
        final long kern = Layout.va(k.pt.swapperPgd(cpu));
        final boolean all = k.patches.enabled("jos-env-setup-vm-memcpy") && !k.patches.enabled("jos-env-setup-vm-kernel-half");
        setupVmFn.at(cpu, 0x20);
        for (int i = all ? 0 : 256; i < 512; i++)
        {
            final long e = cpu.load64(kern + i * 8L);
            if (e != 0)
            {
                cpu.store64(pgd + i * 8L, e);
            }
        }
        setupVmFn.leave(cpu);
    }

    // ------------------------------------------------------------------ env records

    /**
     * env_init (mem_init's envs = boot_alloc(...)): the env array, allocated once on the boot cpu
     * before any AP runs. Allocating it lazily on first use let two cpus' first context switches
     * both see it missing (an unlocked check-then-store: a data race and a leaked page).
     */
    public void init(final Cpu cpu)
    {
        cpu.store64(k.perCpu(cpu, 0) + ENVS_PCPU, k.pages.getZeroedPage(cpu));
    }

    private long envs(final Cpu cpu)
    {
        return cpu.load64(k.perCpu(cpu, 0) + ENVS_PCPU);
    }

    /** The struct Env of a task (by pid). */
    private long env(final Cpu cpu, final long task)
    {
        final long pid = cpu.load64(task + Task.PID);
        final long e = envs(cpu) + (pid % NENV) * ENV_SIZE;
        final long id = Jos.envId(pid);
        if (cpu.load64(e + ENV_ID) != id)
        {
            cpu.store64(e + ENV_ID, id);
            cpu.mark(palimpsest.kernel.Mark.ENV_ID, e, pid);
        }
        return e;
    }

    private long envId(final Cpu cpu, final long task)
    {
        return Jos.envId(cpu.load64(task + Task.PID));
    }

    /** envid2env: 0 = the caller; else the task whose pid is envid - 0x1000 + 1, or 0. */
    private long envid2task(final Cpu cpu, final long envid)
    {
        if (envid == 0)
        {
            return k.current(cpu);
        }
        final long pid = envid - 0x1000 + 1;
        for (long n = cpu.load64(Globals.TASK_LIST); n != Globals.TASK_LIST; n = cpu.load64(n))
        {
            final long t = n - Task.TASKS;
            if (cpu.load64(t + Task.PID) == pid)
            {
                return t;
            }
        }
        return 0;
    }

    /** The kernel stack top to load into TSS.RSP0 when switching to task: lower while its upcall runs. */
    public long kernelStackTop(final Cpu cpu, final long task)
    {
        final long rsp0 = cpu.load64(envs(cpu) + (cpu.load64(task + Task.PID) % NENV) * ENV_SIZE + ENV_RSP0);
        return rsp0 != 0 ? rsp0 : cpu.load64(task + Task.STACK) + Layout.THREAD_SIZE;
    }

    // ------------------------------------------------------------------ page_insert / page_remove

    /** page_insert(pgdir, pp, va, perm); pgdir physical. Returns 0. */
    public long pageInsert(final Cpu cpu, final long pgdir, final long page, final long va, final long perm)
    {
        insertFn.enter(cpu);
        k.printk.emit(cpu, String.format("page_insert 0x%08x -> 0x%08x (pgdir: 0x%08x)%n", va, PageAlloc.pagePhys(page), Layout.va(pgdir)));
        final long pte = k.pt.pte(cpu, pgdir, va, Layout.PAGE_OFFSET, true, true);
        k.pages.getPage(cpu, page);                   // pp->pp_ref++ first: re-inserting the same page is safe
        insertFn.at(cpu, 0x40);
        if ((cpu.load64(pte) & Paging.P) != 0)
        {
            pageRemove(cpu, pgdir, va);
        }
        insertFn.at(cpu, 0x60);
        k.pt.set(cpu, pte, PageAlloc.pagePhys(page) | perm | PTE_P | PTE_U);
        tlbInvalidate(cpu, pgdir, va);
        return insertFn.leave(cpu, 0);
    }

    /** page_remove(pgdir, va): unmaps va and drops the page's reference (page_decref; freed at zero). */
    public void pageRemove(final Cpu cpu, final long pgdir, final long va)
    {
        removeFn.enter(cpu);
        final long pte = k.pt.pte(cpu, pgdir, va, Layout.PAGE_OFFSET, false, true);
        if (pte != 0)
        {
            final long e = cpu.load64(pte);
            if ((e & Paging.P) != 0)
            {
                final long page = k.pages.physToPage(e & Paging.ADDR_MASK);
                removeFn.at(cpu, 0x30);
                if (k.pages.pageCount(cpu, page) == 1)
                {
                    k.printk.emit(cpu, String.format("freed 0x%x%n", e & Paging.ADDR_MASK));
                }
                k.pages.putPage(cpu, page);
                k.pt.set(cpu, pte, 0);
                tlbInvalidate(cpu, pgdir, va);
            }
        }
        removeFn.leave(cpu);
    }

    private static void tlbInvalidate(final Cpu cpu, final long pgdir, final long va)
    {
        // JOS: only if the page table is the one in use on this cpu.
        if ((cpu.cr3() & Paging.ADDR_MASK) == pgdir)
        {
            cpu.invlpg(va);
        }
    }

    // ------------------------------------------------------------------ system calls

    /** JOS's own system calls; ENOSYS for anything else. */
    public long syscall(final Cpu cpu, final long frame, final long nr, final long a0, final long a1, final long a2)
    {
        if (!k.patches.enabled("jos-pgfault-upcall"))
        {
            return Syscalls.ENOSYS;
        }
        if (nr == SYS_PAGE_ALLOC)
        {
            return sysPageAlloc(cpu, a0, a1, a2);
        }
        if (nr == SYS_ENV_SET_PGFAULT_UPCALL)
        {
            return sysSetUpcall(cpu, a0, a1);
        }
        return Syscalls.ENOSYS;
    }

    /** sys_page_alloc(envid, va, perm): a zeroed page mapped at va in envid's address space (no vma: JOS has none). */
    private long sysPageAlloc(final Cpu cpu, final long envid, final long va, final long perm)
    {
        pageAllocFn.enter(cpu);
        if (k.patches.enabled("jos-sys-page-alloc-perm"))
        {
            pageAllocFn.at(cpu, 0x10);
            cpu.compute(2);                           // (perm & ~PTE_SYSCALL) != 0 ?
        }
        final long t = envid2task(cpu, envid);
        if (t == 0 || !Layout.isUser(va) || (va & (Layout.PAGE_SIZE - 1)) != 0 || (perm & PTE_P) == 0)
        {
            return pageAllocFn.leave(cpu, -2);        // -E_BAD_ENV / -E_INVAL
        }
        final long mm = cpu.load64(t + Task.MM);
        final long page = k.pages.allocPage(cpu);
        if (page == 0)
        {
            return pageAllocFn.leave(cpu, -4);        // -E_NO_MEM
        }
        k.pages.clearPage(cpu, PageAlloc.pageAddress(page));
        final long pgdir = Layout.pa(cpu.load64(mm + palimpsest.kernel.mm.MmStruct.PGD));
        pageAllocFn.at(cpu, 0x40);
        pageInsert(cpu, pgdir, page, va, perm & (PTE_W | PTE_U));
        k.pages.putPage(cpu, page);                   // page_alloc's page has pp_ref 0: the mapping holds the only reference
        if (va == UXSTACK)
        {
            cpu.store64(env(cpu, t) + ENV_XSTACK, PageAlloc.pagePhys(page));
        }
        k.printk.emit(cpu, String.format("[%08x] allocated 0x%08x -> 0x%08x%n", envId(cpu, t), va, PageAlloc.pagePhys(page)));
        return pageAllocFn.leave(cpu, 0);
    }

    private long sysSetUpcall(final Cpu cpu, final long envid, final long func)
    {
        setUpcallFn.enter(cpu);
        final long t = envid2task(cpu, envid);
        if (t == 0)
        {
            return setUpcallFn.leave(cpu, -2);
        }
        cpu.store64(env(cpu, t) + ENV_UPCALL, func);
        return setUpcallFn.leave(cpu, 0);
    }

    // ------------------------------------------------------------------ user-level page faults

    /**
     * page_fault_handler for a user fault no vma covers: runs the environment's upcall on its
     * exception stack and returns true when the faulting access may be retried; false when the
     * environment has no upcall (the caller kills it). frame = the cpu's trap frame.
     */
    public boolean userFault(final Cpu cpu, final long frame, final long addr, final long err)
    {
        if (!k.patches.enabled("jos-pgfault-upcall"))
        {
            return false;
        }
        final long t = k.current(cpu);
        final long env = env(cpu, t);
        final long upcall = cpu.load64(env + ENV_UPCALL);
        final Routine r = upcall == 0 ? null : cpu.machine().code().routineAt(upcall);
        if (r == null)
        {
            return false;
        }
        faultFn.enter(cpu);
        final long id = envId(cpu, t);
        final long xstack = cpu.load64(env + ENV_XSTACK);
        // The student's code: make the exception stack reachable through kern_pgdir too.
        k.printk.emit(cpu, String.format("[%08x] insert 0x%08x%n", id, xstack));
        faultFn.at(cpu, 0x30);
        // kern_pgdir is shared by every cpu: JOS's trap() holds the big kernel lock here (it takes
        // it for every trap from user mode); without it two cpus' faults race on the same PTE.
        k.spin.lock(cpu, Globals.KERNEL_LOCK);
        pageInsert(cpu, k.pt.swapperPgd(cpu), k.pages.physToPage(xstack), UXSTACK, PTE_W);
        k.spin.unlock(cpu, Globals.KERNEL_LOCK);
        // Push the UTrapframe on the exception stack, through the environment's page table.
        final long pc = cpu.load64(frame + palimpsest.kernel.arch.Traps.F_PC);
        final long sp = cpu.load64(frame + palimpsest.kernel.arch.Traps.F_SP);
        // A fault in the handler itself pushes below the frame it is using (JOS: one empty word between).
        final boolean nested = Long.compareUnsigned(sp - UXSTACK, Layout.PAGE_SIZE) < 0;
        final long utf = (nested ? sp - 8 : UXSTACKTOP) - UTF_SIZE;
        faultFn.at(cpu, 0x60);
        cpu.store64(utf + UTF_FAULT_VA, addr);
        cpu.store64(utf + UTF_ERR, err);
        cpu.store64(utf + UTF_EIP, pc);
        cpu.store64(utf + UTF_EFLAGS, cpu.load64(frame + palimpsest.kernel.arch.Traps.F_FLAGS));
        cpu.store64(utf + UTF_ESP, sp);
        cpu.store64(utf + UTF_ENVID, id);
        // Run the handler at CPL 3 on the exception stack. Traps it takes land below this frame.
        final long ksp = cpu.sp();
        final long kfp = cpu.fp();
        final long rsp0 = (ksp - 64) & ~15L;
        final long prevRsp0 = cpu.load64(env + ENV_RSP0);
        cpu.store64(env + ENV_RSP0, rsp0);
        cpu.setKernelStack(rsp0);
        faultFn.at(cpu, 0x80);
        cpu.setPrivilege(3);
        cpu.setSp(utf);
        cpu.setFp(0);
        cpu.pc(upcall);
        cpu.sti();
        cpu.setReg(Syscalls.RDI, utf);
        r.run(cpu);
        // _pgfault_upcall's trampoline: back to the faulting instruction through the UTrapframe.
        cpu.pc(upcall);
        final long eip = cpu.load64(utf + UTF_EIP);
        final long esp = cpu.load64(utf + UTF_ESP);
        cpu.cli();
        cpu.setPrivilege(0);
        cpu.setSp(ksp);
        cpu.setFp(kfp);
        cpu.store64(env + ENV_RSP0, prevRsp0);
        cpu.setKernelStack(prevRsp0 != 0 ? prevRsp0 : cpu.load64(t + Task.STACK) + Layout.THREAD_SIZE);
        faultFn.at(cpu, 0xc0);
        if (eip != pc || esp != sp)
        {
            // It returns to wherever the UTrapframe it read says: not where it faulted.
            k.printk.emit(cpu, String.format("[%08x] user fault va %08x ip %08x%n", id, esp, eip));
            k.printk.emit(cpu, String.format("[%08x] free env %08x%n", id, id));
            k.sched.doExit(cpu, 128 + 11);
        }
        faultFn.leave(cpu);
        return true;
    }
}
