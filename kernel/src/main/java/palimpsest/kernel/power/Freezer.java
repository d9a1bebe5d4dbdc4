package palimpsest.kernel.power;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.sched.Task;

/**
 * The freezer (kernel/power/process.c of 2.6.25, for user space): while {@link Globals#PM_FREEZING}
 * is set, every user task (one with an mm) that reaches its return to user mode — from a system
 * call, a fault, an interrupt that preempted it, or its first entry after fork/exec — goes into the
 * refrigerator instead: it marks itself {@code frozen} and sleeps until thawed. Kernel threads are
 * not freezable and keep running. So from the moment {@link #freezeProcesses} reports success until
 * {@link #thawProcesses}, no user instruction runs.
 *
 * <p>Handshake, all in memory: the task stores {@code frozen = 1}, then {@code state =
 * INTERRUPTIBLE}, then re-reads {@code PM_FREEZING}; thaw clears {@code PM_FREEZING}, then wakes
 * every task whose {@code frozen} is 1. Whichever order they interleave in, the task either sees the
 * flag cleared or is woken: no lost thaw.
 */
public final class Freezer
{
    private final Kernel k;
    private final Fn freezeFn;
    private final Fn refrigeratorFn;
    private final Fn thawFn;

    public Freezer(final Kernel k)
    {
        this.k = k;
        this.freezeFn = k.text.fn("try_to_freeze_tasks", 0x100);
        this.refrigeratorFn = k.text.fn("refrigerator", 0x80);
        this.thawFn = k.text.fn("thaw_processes", 0x80);
    }

    /** try_to_freeze, on every return to user mode (interrupts may be off; the refrigerator sleeps). */
    public void tryToFreeze(final Cpu cpu)
    {
        if (cpu.load64(Globals.PM_FREEZING) == 0)
        {
            return;
        }
        final long t = k.current(cpu);
        if (cpu.load64(t + Task.MM) == 0)
        {
            return;
        }
        refrigerator(cpu, t);
    }

    private void refrigerator(final Cpu cpu, final long t)
    {
        refrigeratorFn.enter(cpu);
        cpu.store64(t + Task.FROZEN, 1);
        while (true)
        {
            cpu.store64(t + Task.STATE, Task.INTERRUPTIBLE);
            if (cpu.load64(Globals.PM_FREEZING) == 0)
            {
                break;
            }
            refrigeratorFn.at(cpu, 0x40);
            k.sched.schedule(cpu);
        }
        cpu.store64(t + Task.STATE, Task.RUNNING);
        cpu.store64(t + Task.FROZEN, 0);
        refrigeratorFn.leave(cpu);
    }

    /**
     * freeze_processes: sets PM_FREEZING, then yields until no user task is still runnable without
     * being frozen (sleepers freeze when they wake: they return to user mode first). Gives up after
     * timeoutTicks of virtual time. Returns how many tasks refused (0 = all frozen).
     */
    public long freezeProcesses(final Cpu cpu, final long timeoutTicks)
    {
        freezeFn.enter(cpu);
        cpu.store64(Globals.PM_FREEZING, 1);
        final long until = cpu.rdtsc() + timeoutTicks;
        while (true)
        {
            final long todo = unfrozen(cpu);
            if (todo == 0)
            {
                return freezeFn.leave(cpu, 0);
            }
            if (cpu.rdtsc() > until)
            {
                return freezeFn.leave(cpu, todo);
            }
            freezeFn.at(cpu, 0x80);
            k.sched.yield(cpu);
            cpu.pause();
        }
    }

    /** User tasks that are runnable and not in the refrigerator. */
    private long unfrozen(final Cpu cpu)
    {
        long todo = 0;
        final boolean f = k.spin.lockIrqSave(cpu, Globals.TASKLIST_LOCK);
        for (long n = cpu.load64(Globals.TASK_LIST); n != Globals.TASK_LIST; n = cpu.load64(n))
        {
            final long t = n - Task.TASKS;
            if (cpu.load64(t + Task.MM) != 0 && cpu.load64(t + Task.FROZEN) == 0 && cpu.load64(t + Task.STATE) == Task.RUNNING)
            {
                todo++;
            }
        }
        k.spin.unlockIrqRestore(cpu, Globals.TASKLIST_LOCK, f);
        return todo;
    }

    /** thaw_processes: clears PM_FREEZING and wakes every frozen task. */
    public void thawProcesses(final Cpu cpu)
    {
        thawFn.enter(cpu);
        cpu.store64(Globals.PM_FREEZING, 0);
        final boolean f = k.spin.lockIrqSave(cpu, Globals.TASKLIST_LOCK);
        for (long n = cpu.load64(Globals.TASK_LIST); n != Globals.TASK_LIST; n = cpu.load64(n))
        {
            final long t = n - Task.TASKS;
            if (cpu.load64(t + Task.FROZEN) != 0)
            {
                k.sched.wakeUp(cpu, t);
            }
        }
        k.spin.unlockIrqRestore(cpu, Globals.TASKLIST_LOCK, f);
        thawFn.leave(cpu);
    }
}
