package palimpsest.kernel.time;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Lists;
import palimpsest.kernel.sched.Task;
import palimpsest.kernel.user.Syscalls;

/**
 * Kernel timers (one list, as a single timer base): {@code add_timer}, {@code mod_timer},
 * {@code del_timer}, run by cpu 0 from the tick ({@code run_timer_softirq}), and
 * {@code schedule_timeout} / {@code nanosleep} built on them. The timer_list lives wherever its
 * owner put it (a driver's adapter struct, a sleeping task's kernel stack); the callback is a
 * function pointer in it, called indirectly.
 *
 * <pre>
 * struct timer_list (40 bytes)
 *   +0  entry.next   +8 entry.prev      (next = 0: not pending)
 *   +16 expires (jiffies)
 *   +24 function     +32 data
 * </pre>
 */
public final class Timers
{
    public static final int T_EXPIRES = 16;
    public static final int T_FUNCTION = 24;
    public static final int T_DATA = 32;
    public static final int TIMER_SIZE = 40;

    private final Kernel k;
    private final Fn modTimerFn;
    private final Fn delTimerFn;
    private final Fn runTimersFn;
    private final Fn scheduleTimeoutFn;
    private final Fn processTimeoutFn;
    private final Fn getJiffiesFn;

    public Timers(final Kernel k)
    {
        this.k = k;
        this.modTimerFn = k.text.fn("mod_timer", 0x80);
        this.delTimerFn = k.text.fn("del_timer", 0x60);
        this.runTimersFn = k.text.fn("run_timer_softirq", 0x100);
        this.scheduleTimeoutFn = k.text.fn("schedule_timeout", 0x80);
        this.processTimeoutFn = k.text.fn("process_timeout", 0x40, this::processTimeoutBody);
        this.getJiffiesFn = k.text.fn("get_jiffies_64", 0x20);
    }

    public void init(final Cpu cpu)
    {
        Lists.init(cpu, Globals.TIMER_LIST);
    }

    public long jiffies(final Cpu cpu)
    {
        if (k.patches.enabled("sched-clock-tweak"))
        {
            getJiffiesFn.enter(cpu);
            return getJiffiesFn.leave(cpu, cpu.load64(Globals.JIFFIES));
        }
        return cpu.load64(Globals.JIFFIES);
    }

    /** setup_timer: function(data) runs when the timer expires. */
    public static void setup(final Cpu cpu, final long timer, final long function, final long data)
    {
        cpu.store64(timer, 0);
        cpu.store64(timer + 8, 0);
        cpu.store64(timer + T_FUNCTION, function);
        cpu.store64(timer + T_DATA, data);
    }

    /** mod_timer (add_timer when not pending): (re)arms the timer for jiffies value expires. */
    public void modTimer(final Cpu cpu, final long timer, final long expires)
    {
        modTimerFn.enter(cpu);
        final boolean f = k.spin.lockIrqSave(cpu, Globals.TIMER_LOCK);
        if (cpu.load64(timer) != 0)
        {
            Lists.del(cpu, timer);
        }
        cpu.store64(timer + T_EXPIRES, expires);
        Lists.addTail(cpu, timer, Globals.TIMER_LIST);
        k.spin.unlockIrqRestore(cpu, Globals.TIMER_LOCK, f);
        modTimerFn.leave(cpu);
    }

    /** del_timer: returns whether it was pending. */
    public boolean delTimer(final Cpu cpu, final long timer)
    {
        delTimerFn.enter(cpu);
        final boolean f = k.spin.lockIrqSave(cpu, Globals.TIMER_LOCK);
        final boolean pending = cpu.load64(timer) != 0;
        if (pending)
        {
            Lists.del(cpu, timer);
            cpu.store64(timer, 0);
        }
        k.spin.unlockIrqRestore(cpu, Globals.TIMER_LOCK, f);
        delTimerFn.leave(cpu);
        return pending;
    }

    /** From the tick on cpu 0, interrupts off: runs every expired timer, each detached first. */
    public void run(final Cpu cpu)
    {
        runTimersFn.enter(cpu);
        final long now = jiffies(cpu);
        while (true)
        {
            k.spin.lock(cpu, Globals.TIMER_LOCK);
            long node = cpu.load64(Globals.TIMER_LIST);
            long due = 0;
            while (node != Globals.TIMER_LIST)
            {
                runTimersFn.at(cpu, 0x40);
                if (cpu.load64(node + T_EXPIRES) - now <= 0)
                {
                    due = node;
                    break;
                }
                node = cpu.load64(node);
            }
            if (due == 0)
            {
                k.spin.unlock(cpu, Globals.TIMER_LOCK);
                break;
            }
            Lists.del(cpu, due);
            cpu.store64(due, 0);
            // function and data are read under the lock, as __run_timers does: once detached and
            // unlocked the timer is its owner's again (a del_timer finds nothing to wait for and
            // may set it up anew for its next sleep).
            runTimersFn.at(cpu, 0x80);
            final long fn = cpu.load64(due + T_FUNCTION);
            final long data = cpu.load64(due + T_DATA);
            k.spin.unlock(cpu, Globals.TIMER_LOCK);
            k.callIndirect(cpu, fn, data, 0, 0);
        }
        runTimersFn.leave(cpu);
    }

    /** schedule_timeout(ticks): sleeps (interruptible) with an on-stack timer that wakes us. */
    public void scheduleTimeout(final Cpu cpu, final long ticks)
    {
        scheduleTimeoutFn.enter(cpu);
        final long timer = cpu.sp() - 64;
        cpu.setSp(timer);
        setup(cpu, timer, processTimeoutFn.addr, k.current(cpu));
        k.sched.setCurrentState(cpu, Task.INTERRUPTIBLE);
        modTimer(cpu, timer, jiffies(cpu) + Math.max(1, ticks));
        scheduleTimeoutFn.at(cpu, 0x40);
        k.sched.schedule(cpu);
        delTimer(cpu, timer);
        scheduleTimeoutFn.leave(cpu);
    }

    private void processTimeoutBody(final Cpu cpu)
    {
        processTimeoutFn.prologue(cpu);
        k.sched.wakeUp(cpu, cpu.reg(Syscalls.RDI));
        processTimeoutFn.leave(cpu);
    }
}
