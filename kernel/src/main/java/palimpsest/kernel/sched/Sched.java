package palimpsest.kernel.sched;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Fiber;
import palimpsest.emulator.Machine;
import palimpsest.emulator.Routine;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Lists;
import palimpsest.kernel.Mark;
import palimpsest.kernel.Once;
import palimpsest.kernel.arch.Traps;
import palimpsest.kernel.mm.MmStruct;
import palimpsest.kernel.mm.PageAlloc;
import palimpsest.kernel.user.Syscalls;

/**
 * Tasks and the scheduler: per-cpu run queues (lists in the per-cpu area under the rq spinlock),
 * round-robin, preemption by the timer tick on the way back to user mode, context switch by
 * saving SP/FP into the task_struct and passing the cpu to the next task's fiber.
 *
 * <p>As in Linux, the run-queue lock taken in schedule() is held across the switch and released by
 * the task that runs next ({@link #finishTaskSwitch}); tasks are placed on a cpu when created and
 * are woken on that cpu while it is online. Migration (CPU hotplug): a dying cpu's run queue is
 * emptied onto the online cpus ({@link #migrateTasks}), a task whose cpu went offline is woken on
 * an online one, and a task can move itself ({@link #migrateCurrent}). A task moves only while it
 * is not running: it is taken off one queue under that queue's lock and put on the other under
 * the other's (never both locks at once), and its {@code cpu} field follows.
 */
public final class Sched
{
    public static final long ECHILD = -10;

    private final Kernel k;
    private final Fn scheduleFn;
    private final Fn contextSwitchFn;
    private final Fn finishFn;
    private final Fn wakeUpFn;
    private final Fn copyProcessFn;
    private final Fn doExitFn;
    private final Fn waitFn;
    private final Fn retFromForkFn;
    private final Fn migrateTasksFn;
    private final Fn setAllowedFn;
    private final Fn moveTaskFn;
    private final int taskCache;
    private final Routine retFromFork;

    public Sched(final Kernel k)
    {
        this.k = k;
        this.scheduleFn = k.text.fn("schedule", 0x100);
        this.contextSwitchFn = k.text.fn("context_switch", 0x100);
        this.finishFn = k.text.fn("finish_task_switch", 0x80);
        this.wakeUpFn = k.text.fn("try_to_wake_up", 0x80);
        this.copyProcessFn = k.text.fn("copy_process", 0x100);
        this.doExitFn = k.text.fn("do_exit", 0x100);
        this.waitFn = k.text.fn("do_wait", 0x100);
        this.retFromFork = this::retFromForkBody;
        this.retFromForkFn = k.text.fn("ret_from_fork", 0x80, retFromFork);
        this.taskCache = k.slab.define("task_struct", Task.SIZE);
        this.migrateTasksFn = k.text.fn("migrate_tasks", 0x80);
        this.moveTaskFn = k.text.fn("__migrate_task", 0x80);
        this.setAllowedFn = k.text.fn("set_cpus_allowed_ptr", 0x60);
    }

    // ------------------------------------------------------------------ boot

    /** sched_init: the boot cpu's init_task (static, on init_stack) and every cpu's run queue. */
    public void initBoot(final Cpu cpu)
    {
        final long t = Globals.INIT_TASK;
        for (int i = 0; i < Task.SIZE; i += 8)
        {
            cpu.store64(t + i, 0);
        }
        cpu.store64(t + Task.STACK, Globals.INIT_STACK);
        cpu.store64(t + Task.FIBER_ID, cpu.fiber().id());
        cpu.store64(t + Task.ACTIVE_MM, Globals.INIT_MM);
        cpu.store64(t + Task.FLAGS, Task.PF_KTHREAD);
        // init_idle: the task that becomes the boot cpu's idle task may run there only (Linux's
        // sched_init does the same to init_task, whose CPU_MASK_ALL is lost: kernel_init, forked
        // from it, inherits this mask until it sets its own).
        cpu.store64(t + Task.CPUS_ALLOWED, 1L << cpu.apicId());
        setComm(cpu, t, "swapper/0");
        k.registerFiber(cpu.fiber());
        cpu.store64(Globals.INIT_MM + MmStruct.PGD, Layout.va(k.pt.swapperPgd(cpu)));
        cpu.store64(Globals.INIT_MM + MmStruct.USERS, 1);
        Lists.init(cpu, Globals.TASK_LIST);
        Lists.addTail(cpu, t + Task.TASKS, Globals.TASK_LIST);
        // pid 1 is kernel_init's (created after the boot cpu's kworker): the rest count from 2.
        cpu.store64(Globals.NEXT_PID, 2);
        final int nr = (int)cpu.load64(Globals.NR_CPUS);
        for (int c = 0; c < nr; c++)
        {
            final long pcpu = k.perCpu(cpu, c);
            cpu.store64(pcpu + PerCpu.RQ_LOCK, 0);
            Lists.init(cpu, pcpu + PerCpu.RQ_QUEUE);
            cpu.store64(pcpu + PerCpu.RQ_NR, 0);
        }
        final long pcpu = k.thisCpu(cpu);
        cpu.store64(pcpu + PerCpu.CURRENT, t);
        cpu.store64(pcpu + PerCpu.IDLE, t);
        cpu.store64(pcpu + PerCpu.IDLE_STACK_TOP, Globals.INIT_STACK_TOP);
        cpu.setKernelStack(Globals.INIT_STACK_TOP);
        futexInit(cpu);
    }

    private void futexInit(final Cpu cpu)
    {
        for (int b = 0; b < Globals.FUTEX_BUCKETS; b++)
        {
            final long q = Globals.FUTEX_QUEUES + b * 32L;
            cpu.store64(q, 0);
            Lists.init(cpu, q + 8);
        }
    }

    /** The idle task of an AP, prepared by the boot cpu. */
    public long createIdleTask(final Cpu cpu, final int id)
    {
        final long t = k.slab.zalloc(cpu, taskCache);
        final long stack = PageAlloc.pageAddress(k.pages.allocPages(cpu, Layout.THREAD_ORDER));
        cpu.store64(t + Task.STACK, stack);
        cpu.store64(t + Task.CPU, id);
        cpu.store64(t + Task.CPUS_ALLOWED, 1L << id);
        cpu.store64(t + Task.ACTIVE_MM, Globals.INIT_MM);
        cpu.store64(t + Task.FLAGS, Task.PF_KTHREAD);
        setComm(cpu, t, "swapper/" + id);
        final long pcpu = k.perCpu(cpu, id);
        cpu.store64(pcpu + PerCpu.CURRENT, t);
        cpu.store64(pcpu + PerCpu.IDLE, t);
        cpu.store64(pcpu + PerCpu.IDLE_STACK_TOP, stack + Layout.THREAD_SIZE);
        return t;
    }

    /** On the AP itself: the boot fiber becomes the idle task's instruction stream. */
    public void becomeIdle(final Cpu cpu, final long idle)
    {
        final long old = cpu.load64(idle + Task.FIBER_ID);
        if (old != 0 && old != cpu.fiber().id())
        {
            // A cpu brought back up: its old idle context is parked for good in play_dead.
            k.forgetFiber(old);
        }
        cpu.store64(idle + Task.FIBER_ID, cpu.fiber().id());
        k.registerFiber(cpu.fiber());
        cpu.setKernelStack(cpu.load64(idle + Task.STACK) + Layout.THREAD_SIZE);
    }

    // ------------------------------------------------------------------ task creation

    public void setComm(final Cpu cpu, final long t, final String name)
    {
        for (int i = 0; i < 16; i++)
        {
            cpu.store8(t + Task.COMM + i, i < name.length() && i < 15 ? name.charAt(i) : 0);
        }
    }

    public String comm(final Cpu cpu, final long t)
    {
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++)
        {
            final long c = cpu.load8(t + Task.COMM + i);
            if (c == 0)
            {
                break;
            }
            sb.append((char)c);
        }
        return sb.toString();
    }

    public long pid(final Cpu cpu, final long t)
    {
        return cpu.load64(t + Task.PID);
    }

    /**
     * Chooses a cpu for a new task: round-robin over the active cpus it is allowed on; if none, the
     * online ones it is allowed on, then any online one (select_fallback_rq).
     */
    private int selectCpu(final Cpu cpu, final long allowed)
    {
        final long online = cpu.load64(Globals.CPU_ONLINE_MASK);
        long mask = cpu.load64(Globals.CPU_ACTIVE_MASK) & online & allowed;
        if (mask == 0)
        {
            mask = online & allowed;
        }
        if (mask == 0)
        {
            mask = online;
        }
        final long n = cpu.xadd(k.spin.atomicSite(), Globals.NEXT_CPU, 8, 1) % Long.bitCount(mask);
        long m = mask;
        for (long i = 0; i < n; i++)
        {
            m &= m - 1;
        }
        return Long.numberOfTrailingZeros(m);
    }

    /**
     * copy_process: a task_struct and kernel stack, a fiber starting at ret_from_fork, a pid, a
     * place on the task list. The caller fills mm/files/regs and then calls {@link #wakeUpNew}.
     */
    public long copyProcess(final Cpu cpu, final String comm, final long flags, final long entry, final long arg)
    {
        return copyProcess(cpu, comm, flags, entry, arg, -1);
    }

    /** copy_process placing the task on cpu onCpu (-1: round-robin over the online cpus). */
    public long copyProcess(final Cpu cpu, final String comm, final long flags, final long entry, final long arg,
        final int onCpu)
    {
        return copyProcess(cpu, comm, flags, entry, arg, onCpu, 0);
    }

    /** copy_process with a given pid (0: the next free one). */
    private long copyProcess(final Cpu cpu, final String comm, final long flags, final long entry, final long arg,
        final int onCpu, final long givenPid)
    {
        copyProcessFn.enter(cpu);
        final long t = k.slab.zalloc(cpu, taskCache);
        final long stackPage = k.pages.allocPages(cpu, Layout.THREAD_ORDER);
        if (t == 0 || stackPage == 0)
        {
            k.oops.panic(cpu, "Out of memory in copy_process");
        }
        final long stack = PageAlloc.pageAddress(stackPage);
        final long pid = givenPid != 0 ? givenPid : cpu.xadd(k.spin.atomicSite(), Globals.NEXT_PID, 8, 1);
        final long parent = k.current(cpu);
        cpu.store64(t + Task.STATE, Task.RUNNING);
        cpu.store64(t + Task.PID, pid);
        cpu.store64(t + Task.TGID, pid);
        cpu.store64(t + Task.STACK, stack);
        cpu.store64(t + Task.SP, stack + Layout.THREAD_SIZE);
        cpu.store64(t + Task.FP, 0);
        cpu.store64(t + Task.ACTIVE_MM, Globals.INIT_MM);
        final long allowed = onCpu >= 0 ? 1L << onCpu : cpu.load64(parent + Task.CPUS_ALLOWED);
        cpu.store64(t + Task.CPUS_ALLOWED, allowed);
        cpu.store64(t + Task.CPU, onCpu >= 0 ? onCpu : selectCpu(cpu, allowed));
        cpu.store64(t + Task.PARENT, parent);
        cpu.store64(t + Task.FLAGS, flags);
        cpu.store64(t + Task.ENTRY, entry);
        cpu.store64(t + Task.ARG, arg);
        setComm(cpu, t, comm);
        final Fiber f = k.newFiber(comm + "-" + pid, retFromFork);
        cpu.store64(t + Task.FIBER_ID, f.id());
        final boolean fl = k.spin.lockIrqSave(cpu, Globals.TASKLIST_LOCK);
        Lists.addTail(cpu, t + Task.TASKS, Globals.TASK_LIST);
        k.spin.unlockIrqRestore(cpu, Globals.TASKLIST_LOCK, fl);
        // Handshake words, marked as Linux marks them: the freezer polls frozen, which the task sets in the
        // refrigerator; state is set by the task itself (set_current_state) and read by wakers and the scheduler.
        Once.racy(cpu, t + Task.FROZEN, 8);
        Once.racy(cpu, t + Task.STATE, 8);
        cpu.mark(Mark.TASK_CREATE, t, pid);
        return copyProcessFn.leave(cpu, t);
    }

    /**
     * set_cpus_allowed_ptr: the cpus task t may run on from now on (new tasks it forks inherit them).
     * A task that is running elsewhere than its new mask allows moves there (its first allowed online cpu).
     */
    public void setCpusAllowedPtr(final Cpu cpu, final long t, final long mask)
    {
        setAllowedFn.enter(cpu);
        cpu.store64(t + Task.CPUS_ALLOWED, mask);
        final long ok = mask & cpu.load64(Globals.CPU_ONLINE_MASK);
        if (t == k.current(cpu) && ok != 0 && (ok & 1L << cpu.apicId()) == 0)
        {
            migrateCurrent(cpu, Long.numberOfTrailingZeros(ok));
        }
        setAllowedFn.leave(cpu);
    }

    /** kernel_thread: a kernel task running the function at fnAddr(arg); pid 1 if init. */
    public long kernelThread(final Cpu cpu, final String name, final long fnAddr, final long arg, final boolean init)
    {
        return kernelThread(cpu, name, fnAddr, arg, init, -1);
    }

    /** kernel_thread on a given cpu (-1: any). */
    public long kernelThread(final Cpu cpu, final String name, final long fnAddr, final long arg, final boolean init,
        final int onCpu)
    {
        final long t = copyProcess(cpu, name, Task.PF_KTHREAD, fnAddr, arg, onCpu, init ? 1 : 0);
        if (init)
        {
            cpu.store64(Globals.INIT_PROC, t);
        }
        wakeUpNew(cpu, t);
        return t;
    }

    public void wakeUpNew(final Cpu cpu, final long t)
    {
        int target = (int)cpu.load64(t + Task.CPU);
        long pcpu = k.perCpu(cpu, target);
        boolean f = k.spin.lockIrqSave(cpu, pcpu + PerCpu.RQ_LOCK);
        while (!cpuOnline(cpu, target))
        {
            // Its cpu went down since copy_process chose it.
            k.spin.unlockIrqRestore(cpu, pcpu + PerCpu.RQ_LOCK, f);
            target = fallbackCpu(cpu);
            cpu.store64(t + Task.CPU, target);
            pcpu = k.perCpu(cpu, target);
            f = k.spin.lockIrqSave(cpu, pcpu + PerCpu.RQ_LOCK);
        }
        cpu.store64(t + Task.STATE, Task.RUNNING);
        enqueue(cpu, pcpu, t);
        k.spin.unlockIrqRestore(cpu, pcpu + PerCpu.RQ_LOCK, f);
        if (target != cpu.apicId())
        {
            Traps.sendIpi(cpu, target, Traps.VEC_RESCHEDULE);
        }
    }

    /** A new task's first instructions: take over from the switch, then run its kernel function or go to user mode. */
    private void retFromForkBody(final Cpu cpu)
    {
        cpu.pc(retFromForkFn.addr);
        final long t = k.current(cpu);
        cpu.setSp(cpu.load64(t + Task.SP));
        cpu.setFp(0);
        finishTaskSwitch(cpu);
        if (!k.irqsOffInKernel)
        {
            cpu.sti();
        }
        cpu.pc(retFromForkFn.addr + 0x20);
        if ((cpu.load64(t + Task.FLAGS) & Task.PF_KTHREAD) != 0)
        {
            k.callIndirect(cpu, cpu.load64(t + Task.ENTRY), cpu.load64(t + Task.ARG), 0, 0);
            doExit(cpu, 0);
        }
        // Return-to-user work first (a new thread may meet the freezer and sleep in the
        // refrigerator): the registers are per core, so they are loaded only once nothing can
        // schedule any more, as Linux restores pt_regs only at iret. Loading them before the
        // freeze let a thawed thread run with another task's RDI (word_count workers segfaulted
        // after a suspend on free-running schedules).
        k.freezer.tryToFreeze(cpu);
        for (int r = 0; r < 9; r++)
        {
            cpu.setReg(r, cpu.load64(t + Task.REGS + r * 8L));
        }
        cpu.setReg(Syscalls.RAX, 0);
        k.loader.enterUser(cpu, cpu.load64(t + Task.ENTRY), cpu.load64(t + Task.USER_SP));
    }

    // ------------------------------------------------------------------ run queues

    private void enqueue(final Cpu cpu, final long pcpu, final long t)
    {
        Lists.addTail(cpu, t + Task.RUN_LIST, pcpu + PerCpu.RQ_QUEUE);
        cpu.store64(t + Task.ON_RQ, 1);
        cpu.store64(pcpu + PerCpu.RQ_NR, cpu.load64(pcpu + PerCpu.RQ_NR) + 1);
    }

    private long dequeue(final Cpu cpu, final long pcpu)
    {
        final long first = Lists.first(cpu, pcpu + PerCpu.RQ_QUEUE);
        if (first == 0)
        {
            return 0;
        }
        final long t = first - Task.RUN_LIST;
        Lists.del(cpu, first);
        cpu.store64(t + Task.ON_RQ, 0);
        cpu.store64(pcpu + PerCpu.RQ_NR, cpu.load64(pcpu + PerCpu.RQ_NR) - 1);
        return t;
    }

    /** schedule(): puts the current task back on the queue if still runnable, runs the next one. */
    public void schedule(final Cpu cpu)
    {
        scheduleFn.enter(cpu);
        final boolean f = cpu.interruptsEnabled();
        cpu.cli();
        final long pcpu = k.thisCpu(cpu);
        final long me = cpu.load64(pcpu + PerCpu.CURRENT);
        releaseBkl(cpu, me);
        k.spin.lock(cpu, pcpu + PerCpu.RQ_LOCK);
        scheduleFn.at(cpu, 0x30);
        cpu.store64(pcpu + PerCpu.NEED_RESCHED, 0);
        final long idle = cpu.load64(pcpu + PerCpu.IDLE);
        if (cpu.load64(me + Task.STATE) == Task.RUNNING && me != idle && cpu.load64(me + Task.MIGRATE_TO) == 0)
        {
            enqueue(cpu, pcpu, me);
        }
        // A cpu asked to go down runs only its idle task, which takes it down (Hotplug).
        long next = cpu.load64(pcpu + PerCpu.CPU_STATE) == PerCpu.CPU_DYING ? 0 : dequeue(cpu, pcpu);
        if (next == 0)
        {
            next = idle;
        }
        if (next != me)
        {
            contextSwitch(cpu, pcpu, me, next, false);
        }
        else
        {
            k.spin.unlock(cpu, pcpu + PerCpu.RQ_LOCK);
        }
        if (f)
        {
            cpu.sti();
        }
        reacquireBkl(cpu, me);
        scheduleFn.leave(cpu);
    }

    private void contextSwitch(final Cpu cpu, final long pcpu, final long prev, final long next, final boolean exiting)
    {
        contextSwitchFn.enter(cpu);
        cpu.store64(pcpu + PerCpu.CURRENT, next);
        cpu.store64(next + Task.CPU, cpu.apicId());
        cpu.store64(pcpu + PerCpu.NR_SWITCHES, cpu.load64(pcpu + PerCpu.NR_SWITCHES) + 1);
        contextSwitchFn.at(cpu, 0x20);
        final long mm = cpu.load64(next + Task.MM);
        if (k.lego != null && mm != 0)
        {
            cpu.store64(pcpu + PerCpu.USER_SWITCHES, cpu.load64(pcpu + PerCpu.USER_SWITCHES) + 1);
        }
        final long pgd = mm == 0 ? k.pt.swapperPgd(cpu) : Layout.pa(cpu.load64(mm + MmStruct.PGD));
        if (cpu.cr3() != pgd)
        {
            cpu.writeCr3(pgd);
        }
        cpu.setKernelStack(k.jos != null ? k.jos.env.kernelStackTop(cpu, next) : cpu.load64(next + Task.STACK) + Layout.THREAD_SIZE);
        contextSwitchFn.at(cpu, 0x40);
        cpu.store64(prev + Task.SP, cpu.sp());
        cpu.store64(prev + Task.FP, cpu.fp());
        cpu.store64(pcpu + PerCpu.PREV_TASK, prev);
        final Fiber f = k.fiber(cpu.load64(next + Task.FIBER_ID));
        if (f == null)
        {
            k.oops.bug(cpu, "BUG: switch_to: task " + Long.toHexString(next) + " has no context (fiber " +
                cpu.load64(next + Task.FIBER_ID) + ")");
        }
        contextSwitchFn.at(cpu, 0x50);
        if (exiting)
        {
            cpu.exitTo(f);
        }
        cpu.switchTo(f);
        // Back in prev, possibly much later.
        contextSwitchFn.at(cpu, 0x60);
        cpu.setSp(cpu.load64(prev + Task.SP));
        cpu.setFp(cpu.load64(prev + Task.FP));
        finishTaskSwitch(cpu);
        contextSwitchFn.leave(cpu);
    }

    /** Run by the task switched to: releases the rq lock held across the switch, buries the previous task if it exited. */
    private void finishTaskSwitch(final Cpu cpu)
    {
        finishFn.enter(cpu);
        final long pcpu = k.thisCpu(cpu);
        final long prev = cpu.load64(pcpu + PerCpu.PREV_TASK);
        k.spin.unlock(cpu, pcpu + PerCpu.RQ_LOCK);
        if (prev != 0 && cpu.load64(prev + Task.MIGRATE_TO) != 0)
        {
            // prev asked to move (migrateCurrent) and is off its old cpu now: queue it on the new one.
            final int dest = (int)cpu.load64(prev + Task.MIGRATE_TO) - 1;
            cpu.store64(prev + Task.MIGRATE_TO, 0);
            moveTask(cpu, prev, dest);
        }
        if (prev != 0 && cpu.load64(prev + Task.STATE) == Task.EXITING)
        {
            finishFn.at(cpu, 0x40);
            if ((cpu.load64(prev + Task.FLAGS) & (Task.PF_THREAD | Task.PF_KTHREAD)) != 0)
            {
                final boolean f = k.spin.lockIrqSave(cpu, Globals.TASKLIST_LOCK);
                Lists.del(cpu, prev + Task.TASKS);
                k.spin.unlockIrqRestore(cpu, Globals.TASKLIST_LOCK, f);
                // Not here: we may be on a cpu whose pool frees it later (put_task_struct).
                k.wq.queueDeadTask(cpu, prev);
            }
            else
            {
                final boolean f = k.spin.lockIrqSave(cpu, Globals.TASKLIST_LOCK);
                cpu.store64(prev + Task.STATE, Task.ZOMBIE);
                final long parent = cpu.load64(prev + Task.PARENT);
                k.spin.unlockIrqRestore(cpu, Globals.TASKLIST_LOCK, f);
                wakeUp(cpu, parent);
            }
        }
        finishFn.leave(cpu);
    }

    /** Frees a dead task: its fiber, kernel stack and task_struct. */
    void releaseTask(final Cpu cpu, final long t)
    {
        cpu.store64(t + Task.STATE, Task.DEAD);
        k.forgetFiber(cpu.load64(t + Task.FIBER_ID));
        k.pages.freePages(cpu, PageAlloc.virtToPage(cpu.load64(t + Task.STACK)), Layout.THREAD_ORDER);
        k.slab.free(cpu, t);
    }

    /** try_to_wake_up: a sleeping task becomes runnable on its cpu (IPI if that cpu is another). */
    public void wakeUp(final Cpu cpu, final long t)
    {
        wakeUpFn.enter(cpu);
        // task_cpu(p): read before its run queue's lock is held (Linux: READ_ONCE), re-checked under it below.
        int target = (int)Once.read64(cpu, t + Task.CPU);
        long pcpu = k.perCpu(cpu, target);
        boolean f = k.spin.lockIrqSave(cpu, pcpu + PerCpu.RQ_LOCK);
        while (!cpuOnline(cpu, target) && cpu.load64(t + Task.STATE) == Task.INTERRUPTIBLE &&
            cpu.load64(t + Task.ON_RQ) == 0 && cpu.load64(pcpu + PerCpu.CURRENT) != t)
        {
            // select_task_rq: the cpu it slept on went down; wake it on an online one.
            k.spin.unlockIrqRestore(cpu, pcpu + PerCpu.RQ_LOCK, f);
            target = fallbackCpu(cpu);
            cpu.store64(t + Task.CPU, target);
            pcpu = k.perCpu(cpu, target);
            f = k.spin.lockIrqSave(cpu, pcpu + PerCpu.RQ_LOCK);
        }
        boolean kick = false;
        if (cpu.load64(t + Task.STATE) == Task.INTERRUPTIBLE)
        {
            cpu.store64(t + Task.STATE, Task.RUNNING);
            if (cpu.load64(t + Task.ON_RQ) == 0 && cpu.load64(pcpu + PerCpu.CURRENT) != t)
            {
                enqueue(cpu, pcpu, t);
                kick = true;
            }
        }
        k.spin.unlockIrqRestore(cpu, pcpu + PerCpu.RQ_LOCK, f);
        if (kick && target != cpu.apicId())
        {
            Traps.sendIpi(cpu, target, Traps.VEC_RESCHEDULE);
        }
        wakeUpFn.leave(cpu);
    }

    /** Marks the current task asleep; the caller then calls schedule(). */
    public void setCurrentState(final Cpu cpu, final long state)
    {
        cpu.store64(k.current(cpu) + Task.STATE, state);
    }

    // ------------------------------------------------------------------ exit and wait

    /** do_exit: releases the address space and files, becomes a zombie (or vanishes, for threads), never returns. */
    public void doExit(final Cpu cpu, final long code)
    {
        doExitFn.enter(cpu);
        final long t = k.current(cpu);
        cpu.mark(Mark.TASK_EXIT, t, cpu.load64(t + Task.PID));
        releaseBkl(cpu, t);
        if (t == cpu.load64(Globals.INIT_PROC))
        {
            k.printk.printk(cpu, "init: exited with code " + code);
            if (code == 0)
            {
                k.printk.printk(cpu, "reboot: Power down");
                if (k.lego != null)
                {
                    k.lego.powerOff(cpu);
                }
                cpu.out(Machine.POWER_PORT, 0);
            }
            k.oops.panic(cpu, "Attempted to kill init! exitcode=0x" + Long.toHexString(code));
        }
        final long mm = cpu.load64(t + Task.MM);
        if (mm != 0)
        {
            final long ctid = cpu.load64(t + Task.CLEAR_CHILD_TID);
            if (ctid != 0 && k.vm.accessOk(cpu, mm, ctid, 4, true))
            {
                cpu.store32(ctid, 0);
                k.futex.wake(cpu, mm, ctid, 1);
            }
            doExitFn.at(cpu, 0x40);
            cpu.writeCr3(k.pt.swapperPgd(cpu));
            cpu.store64(t + Task.MM, 0);
            k.vm.mmput(cpu, mm);
        }
        k.vfs.exitFiles(cpu, t);
        reparentChildren(cpu, t);
        cpu.store64(t + Task.EXIT_CODE, code);
        cpu.cli();
        cpu.store64(t + Task.STATE, Task.EXITING);
        final long pcpu = k.thisCpu(cpu);
        k.spin.lock(cpu, pcpu + PerCpu.RQ_LOCK);
        long next = cpu.load64(pcpu + PerCpu.CPU_STATE) == PerCpu.CPU_DYING ? 0 : dequeue(cpu, pcpu);
        if (next == 0)
        {
            next = cpu.load64(pcpu + PerCpu.IDLE);
        }
        contextSwitch(cpu, pcpu, t, next, true);
    }

    private void reparentChildren(final Cpu cpu, final long t)
    {
        final long init = cpu.load64(Globals.INIT_PROC);
        final boolean f = k.spin.lockIrqSave(cpu, Globals.TASKLIST_LOCK);
        for (long n = cpu.load64(Globals.TASK_LIST); n != Globals.TASK_LIST; n = cpu.load64(n))
        {
            final long c = n - Task.TASKS;
            if (cpu.load64(c + Task.PARENT) == t)
            {
                cpu.store64(c + Task.PARENT, init);
            }
        }
        k.spin.unlockIrqRestore(cpu, Globals.TASKLIST_LOCK, f);
    }

    /** wait4(pid or -1): reaps a zombie child, sleeping until one exists. Returns its pid, or -ECHILD. */
    public long doWait(final Cpu cpu, final long pid, final long statusUser)
    {
        waitFn.enter(cpu);
        final long me = k.current(cpu);
        while (true)
        {
            final boolean f = k.spin.lockIrqSave(cpu, Globals.TASKLIST_LOCK);
            long found = 0;
            int children = 0;
            for (long n = cpu.load64(Globals.TASK_LIST); n != Globals.TASK_LIST; n = cpu.load64(n))
            {
                final long c = n - Task.TASKS;
                if (cpu.load64(c + Task.PARENT) != me || (palimpsest.kernel.Once.read64(cpu, c + Task.FLAGS) & Task.PF_THREAD) != 0)
                {
                    continue;
                }
                children++;
                if ((pid == -1 || cpu.load64(c + Task.PID) == pid) && cpu.load64(c + Task.STATE) == Task.ZOMBIE)
                {
                    found = c;
                    break;
                }
            }
            if (found != 0)
            {
                Lists.del(cpu, found + Task.TASKS);
                k.spin.unlockIrqRestore(cpu, Globals.TASKLIST_LOCK, f);
                final long code = cpu.load64(found + Task.EXIT_CODE);
                final long cpid = cpu.load64(found + Task.PID);
                releaseTask(cpu, found);
                if (statusUser != 0)
                {
                    k.vm.putUser(cpu, statusUser, 4, code << 8);
                }
                return waitFn.leave(cpu, cpid);
            }
            if (children == 0)
            {
                k.spin.unlockIrqRestore(cpu, Globals.TASKLIST_LOCK, f);
                return waitFn.leave(cpu, ECHILD);
            }
            cpu.store64(me + Task.STATE, Task.INTERRUPTIBLE);
            k.spin.unlockIrqRestore(cpu, Globals.TASKLIST_LOCK, f);
            schedule(cpu);
        }
    }

    // ------------------------------------------------------------------ migration (CPU hotplug)

    public boolean cpuOnline(final Cpu cpu, final int id)
    {
        return (cpu.load64(Globals.CPU_ONLINE_MASK) & (1L << id)) != 0;
    }

    /** Where a task goes when its cpu is offline: round-robin over the online cpus. */
    public int fallbackCpu(final Cpu cpu)
    {
        final long mask = cpu.load64(Globals.CPU_ONLINE_MASK);
        final long n = cpu.xadd(k.spin.atomicSite(), Globals.MIGRATE_NEXT, 8, 1) % Long.bitCount(mask);
        long m = mask;
        for (long i = 0; i < n; i++)
        {
            m &= m - 1;
        }
        return Long.numberOfTrailingZeros(m);
    }

    /**
     * __migrate_task: puts a task that is on no run queue and not running onto dest's queue (an
     * online cpu chosen instead if dest is not online), updating its cpu; kicks dest.
     */
    public void moveTask(final Cpu cpu, final long t, final int dest)
    {
        moveTaskFn.enter(cpu);
        int target = dest;
        long pcpu = k.perCpu(cpu, target);
        boolean f = k.spin.lockIrqSave(cpu, pcpu + PerCpu.RQ_LOCK);
        while (!cpuOnline(cpu, target))
        {
            k.spin.unlockIrqRestore(cpu, pcpu + PerCpu.RQ_LOCK, f);
            target = fallbackCpu(cpu);
            pcpu = k.perCpu(cpu, target);
            f = k.spin.lockIrqSave(cpu, pcpu + PerCpu.RQ_LOCK);
        }
        cpu.store64(t + Task.CPU, target);
        if (cpu.load64(t + Task.STATE) == Task.RUNNING && cpu.load64(t + Task.ON_RQ) == 0)
        {
            enqueue(cpu, pcpu, t);
        }
        k.spin.unlockIrqRestore(cpu, pcpu + PerCpu.RQ_LOCK, f);
        if (target != cpu.apicId())
        {
            Traps.sendIpi(cpu, target, Traps.VEC_RESCHEDULE);
        }
        moveTaskFn.leave(cpu);
    }

    /**
     * migrate_tasks (sched_cpu_dying): empties cpu dead's run queue onto the online cpus, one task
     * at a time. Called once dead has left the online mask, so nothing new is queued there.
     * Returns how many tasks moved.
     */
    public long migrateTasks(final Cpu cpu, final int dead)
    {
        migrateTasksFn.enter(cpu);
        final long pcpu = k.perCpu(cpu, dead);
        long moved = 0;
        while (true)
        {
            final boolean f = k.spin.lockIrqSave(cpu, pcpu + PerCpu.RQ_LOCK);
            final long t = dequeue(cpu, pcpu);
            k.spin.unlockIrqRestore(cpu, pcpu + PerCpu.RQ_LOCK, f);
            if (t == 0)
            {
                break;
            }
            migrateTasksFn.at(cpu, 0x40);
            moveTask(cpu, t, fallbackCpu(cpu));
            moved++;
        }
        return migrateTasksFn.leave(cpu, moved);
    }

    /** The current task moves itself to cpu dest (set_cpus_allowed): it switches out here and resumes there. */
    public void migrateCurrent(final Cpu cpu, final int dest)
    {
        if (dest == cpu.apicId())
        {
            return;
        }
        cpu.store64(k.current(cpu) + Task.MIGRATE_TO, dest + 1L);
        schedule(cpu);
    }

    /** sched_yield for kernel code: lets the other runnable tasks of this cpu run once. */
    public void yield(final Cpu cpu)
    {
        cpu.store64(k.thisCpu(cpu) + PerCpu.NEED_RESCHED, 1);
        schedule(cpu);
    }

    // ------------------------------------------------------------------ the big kernel lock (JOS)

    public void lockKernel(final Cpu cpu)
    {
        if (!k.patches.enabled("big-kernel-lock"))
        {
            return;
        }
        final long t = k.current(cpu);
        final long depth = cpu.load64(t + Task.LOCK_DEPTH);
        if (depth == 0)
        {
            k.spin.lock(cpu, Globals.KERNEL_LOCK);
        }
        cpu.store64(t + Task.LOCK_DEPTH, depth + 1);
    }

    public void unlockKernel(final Cpu cpu)
    {
        if (!k.patches.enabled("big-kernel-lock"))
        {
            return;
        }
        final long t = k.current(cpu);
        final long depth = cpu.load64(t + Task.LOCK_DEPTH) - 1;
        cpu.store64(t + Task.LOCK_DEPTH, depth);
        if (depth == 0)
        {
            k.spin.unlock(cpu, Globals.KERNEL_LOCK);
        }
    }

    private void releaseBkl(final Cpu cpu, final long t)
    {
        if (k.patches.enabled("big-kernel-lock") && cpu.load64(t + Task.LOCK_DEPTH) > 0)
        {
            k.spin.unlock(cpu, Globals.KERNEL_LOCK);
        }
    }

    private void reacquireBkl(final Cpu cpu, final long t)
    {
        if (k.patches.enabled("big-kernel-lock") && cpu.load64(t + Task.LOCK_DEPTH) > 0)
        {
            k.spin.lock(cpu, Globals.KERNEL_LOCK);
        }
    }

    public int taskCache()
    {
        return taskCache;
    }
}
