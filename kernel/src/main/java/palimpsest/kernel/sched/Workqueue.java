package palimpsest.kernel.sched;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Lists;
import palimpsest.kernel.user.Syscalls;

/**
 * Per-cpu worker pools and their kworker threads (kernel/workqueue.c and kernel/smpboot.c, in
 * miniature), set up by the hotplug callbacks of each cpu as it comes up, in emulated memory
 * ({@link PerCpu} wq.*). The work they do: a thread or kernel thread cannot free the kernel stack
 * it dies on, so the switch away from it queues the dead task on this cpu's pool, and kworker/N
 * frees it (Linux defers the same through RCU callbacks run on that cpu).
 *
 * <p>Each step matters: without {@code smpboot_create_threads} there is no kworker/N to run the
 * pool, without {@code smpboot_unpark_threads} it never runs, without {@code workqueue_online_cpu}
 * nobody wakes it, and without {@code workqueue_prepare_cpu} the pool does not exist; in every case
 * dead tasks pile up on a cpu that goes idle with work queued, which the scenario verdict notices.
 */
public final class Workqueue
{
    private final Kernel k;
    public final Fn createThreads;
    public final Fn prepare;
    public final Fn unparkThreads;
    public final Fn parkThreads;
    public final Fn online;
    public final Fn offline;
    private final Fn workerThread;
    private final Fn queueFn;

    public Workqueue(final Kernel k)
    {
        this.k = k;
        this.createThreads = k.text.fn("smpboot_create_threads", 0x60, this::createThreadsBody);
        this.prepare = k.text.fn("workqueue_prepare_cpu", 0x40, this::prepareBody);
        this.unparkThreads = k.text.fn("smpboot_unpark_threads", 0x60, this::unparkBody);
        this.parkThreads = k.text.fn("smpboot_park_threads", 0x40, this::parkBody);
        this.online = k.text.fn("workqueue_online_cpu", 0x40, this::onlineBody);
        this.offline = k.text.fn("workqueue_offline_cpu", 0x80, this::offlineBody);
        this.workerThread = k.text.fn("worker_thread", 0x80, this::workerBody);
        this.queueFn = k.text.fn("queue_work_on", 0x60);
    }

    /** smpboot_create_threads(cpu): kworker/N, bound to N, created parked (it runs once unparked). */
    private void createThreadsBody(final Cpu cpu)
    {
        createThreads.prologue(cpu);
        final int id = (int)cpu.reg(Syscalls.RDI);
        final long pcpu = k.perCpu(cpu, id);
        if (cpu.load64(pcpu + PerCpu.KWORKER) == 0)
        {
            final long t = k.sched.copyProcess(cpu, "kworker/" + id, Task.PF_KTHREAD, workerThread.addr, id, id);
            cpu.store64(t + Task.STATE, Task.INTERRUPTIBLE);
            cpu.store64(pcpu + PerCpu.KWORKER, t);
        }
        cpu.store64(pcpu + PerCpu.WQ_FLAGS, cpu.load64(pcpu + PerCpu.WQ_FLAGS) | PerCpu.POOL_PARKED);
        cpu.setReg(Syscalls.RAX, 0);
        createThreads.leave(cpu);
    }

    /** workqueue_prepare_cpu(cpu): the pool's lock and empty worklist (kept across hotplug if non-empty). */
    private void prepareBody(final Cpu cpu)
    {
        prepare.prologue(cpu);
        final long pcpu = k.perCpu(cpu, (int)cpu.reg(Syscalls.RDI));
        if (cpu.load64(pcpu + PerCpu.WQ_LIST) == 0)
        {
            cpu.store64(pcpu + PerCpu.WQ_LOCK, 0);
            Lists.init(cpu, pcpu + PerCpu.WQ_LIST);
            cpu.store64(pcpu + PerCpu.WQ_NR, 0);
            cpu.store64(pcpu + PerCpu.WQ_SINCE, 0);
        }
        cpu.setReg(Syscalls.RAX, 0);
        prepare.leave(cpu);
    }

    /** smpboot_unpark_threads(cpu), on the cpu coming up: kworker/N is bound to it again and runs. */
    private void unparkBody(final Cpu cpu)
    {
        unparkThreads.prologue(cpu);
        final int id = (int)cpu.reg(Syscalls.RDI);
        final long pcpu = k.perCpu(cpu, id);
        final long t = cpu.load64(pcpu + PerCpu.KWORKER);
        if (t != 0)
        {
            final boolean f = k.spin.lockIrqSave(cpu, pcpu + PerCpu.WQ_LOCK);
            cpu.store64(pcpu + PerCpu.WQ_FLAGS, cpu.load64(pcpu + PerCpu.WQ_FLAGS) & ~PerCpu.POOL_PARKED);
            if (cpu.load64(t + Task.STATE) == Task.INTERRUPTIBLE && cpu.load64(t + Task.ON_RQ) == 0)
            {
                // kthread_bind: parked (asleep, on no run queue), so it may be moved back to its cpu.
                cpu.store64(t + Task.CPU, id);
            }
            k.spin.unlockIrqRestore(cpu, pcpu + PerCpu.WQ_LOCK, f);
            k.sched.wakeUp(cpu, t);
        }
        cpu.setReg(Syscalls.RAX, 0);
        unparkThreads.leave(cpu);
    }

    /** smpboot_park_threads(cpu), on the dying cpu: kworker/N sleeps until the cpu is back. */
    private void parkBody(final Cpu cpu)
    {
        parkThreads.prologue(cpu);
        final long pcpu = k.perCpu(cpu, (int)cpu.reg(Syscalls.RDI));
        cpu.store64(pcpu + PerCpu.WQ_FLAGS, cpu.load64(pcpu + PerCpu.WQ_FLAGS) | PerCpu.POOL_PARKED);
        cpu.setReg(Syscalls.RAX, 0);
        parkThreads.leave(cpu);
    }

    /** workqueue_online_cpu(cpu): the pool takes work and wakes its worker for it. */
    private void onlineBody(final Cpu cpu)
    {
        online.prologue(cpu);
        final long pcpu = k.perCpu(cpu, (int)cpu.reg(Syscalls.RDI));
        cpu.store64(pcpu + PerCpu.WQ_FLAGS, cpu.load64(pcpu + PerCpu.WQ_FLAGS) | PerCpu.POOL_ONLINE);
        cpu.setReg(Syscalls.RAX, 0);
        online.leave(cpu);
    }

    /** workqueue_offline_cpu(cpu), on the dying cpu: its pending work is done here and now. */
    private void offlineBody(final Cpu cpu)
    {
        offline.prologue(cpu);
        final long pcpu = k.perCpu(cpu, (int)cpu.reg(Syscalls.RDI));
        cpu.store64(pcpu + PerCpu.WQ_FLAGS, cpu.load64(pcpu + PerCpu.WQ_FLAGS) & ~PerCpu.POOL_ONLINE);
        long t;
        while ((t = pop(cpu, pcpu)) != 0)
        {
            k.sched.releaseTask(cpu, t);
        }
        cpu.setReg(Syscalls.RAX, 0);
        offline.leave(cpu);
    }

    /**
     * put_task_struct of a dead thread, from the switch away from it: queued on this cpu's pool and
     * its worker woken (if the pool is online). No pool: the task is never freed (counted in wq.lost).
     */
    void queueDeadTask(final Cpu cpu, final long t)
    {
        queueFn.enter(cpu);
        final long pcpu = k.thisCpu(cpu);
        if (cpu.load64(pcpu + PerCpu.WQ_LIST) == 0)
        {
            cpu.store64(pcpu + PerCpu.WQ_LOST, cpu.load64(pcpu + PerCpu.WQ_LOST) + 1);
            queueFn.leave(cpu);
            return;
        }
        final boolean f = k.spin.lockIrqSave(cpu, pcpu + PerCpu.WQ_LOCK);
        Lists.addTail(cpu, t + Task.TASKS, pcpu + PerCpu.WQ_LIST);
        cpu.store64(pcpu + PerCpu.WQ_NR, cpu.load64(pcpu + PerCpu.WQ_NR) + 1);
        if (cpu.load64(pcpu + PerCpu.WQ_SINCE) == 0)
        {
            cpu.store64(pcpu + PerCpu.WQ_SINCE, cpu.load64(Globals.JIFFIES) + 1);
        }
        final boolean wake = (cpu.load64(pcpu + PerCpu.WQ_FLAGS) & PerCpu.POOL_ONLINE) != 0;
        k.spin.unlockIrqRestore(cpu, pcpu + PerCpu.WQ_LOCK, f);
        final long worker = cpu.load64(pcpu + PerCpu.KWORKER);
        if (wake && worker != 0)
        {
            k.sched.wakeUp(cpu, worker);
        }
        queueFn.leave(cpu);
    }

    private long pop(final Cpu cpu, final long pcpu)
    {
        final boolean f = k.spin.lockIrqSave(cpu, pcpu + PerCpu.WQ_LOCK);
        final long first = Lists.first(cpu, pcpu + PerCpu.WQ_LIST);
        if (first == 0)
        {
            k.spin.unlockIrqRestore(cpu, pcpu + PerCpu.WQ_LOCK, f);
            return 0;
        }
        Lists.del(cpu, first);
        final long left = cpu.load64(pcpu + PerCpu.WQ_NR) - 1;
        cpu.store64(pcpu + PerCpu.WQ_NR, left);
        if (left == 0)
        {
            cpu.store64(pcpu + PerCpu.WQ_SINCE, 0);
        }
        k.spin.unlockIrqRestore(cpu, pcpu + PerCpu.WQ_LOCK, f);
        return first - Task.TASKS;
    }

    /** worker_thread(cpu): frees the dead tasks queued on its pool; sleeps when none is left or while parked. */
    private void workerBody(final Cpu cpu)
    {
        workerThread.prologue(cpu);
        final long pcpu = k.perCpu(cpu, (int)cpu.reg(Syscalls.RDI));
        final long me = k.current(cpu);
        while (true)
        {
            cpu.pc(workerThread.addr + 0x20);
            cpu.store64(me + Task.STATE, Task.INTERRUPTIBLE);
            final boolean parked = (cpu.load64(pcpu + PerCpu.WQ_FLAGS) & PerCpu.POOL_PARKED) != 0;
            final long t = parked ? 0 : pop(cpu, pcpu);
            if (t == 0)
            {
                k.sched.schedule(cpu);
                continue;
            }
            cpu.store64(me + Task.STATE, Task.RUNNING);
            cpu.pc(workerThread.addr + 0x40);
            k.sched.releaseTask(cpu, t);
        }
    }
}
