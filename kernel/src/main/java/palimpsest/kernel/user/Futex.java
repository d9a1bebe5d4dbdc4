package palimpsest.kernel.user;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Lists;
import palimpsest.kernel.sched.Task;

/**
 * A minimal futex: FUTEX_WAIT / FUTEX_WAKE keyed by (mm, user address), waiters queued on hash
 * buckets in kernel data ({ lock; list_head } x 64), linked through task_struct.futex_node.
 */
public final class Futex
{
    public static final int FUTEX_WAIT = 0;
    public static final int FUTEX_WAKE = 1;
    public static final long EAGAIN = -11;

    private final Kernel k;
    private final Fn waitFn;
    private final Fn wakeFn;

    public Futex(final Kernel k)
    {
        this.k = k;
        this.waitFn = k.text.fn("futex_wait", 0x100);
        this.wakeFn = k.text.fn("futex_wake", 0x100);
    }

    private static long bucket(final long mm, final long uaddr)
    {
        final long h = (uaddr >>> 2) ^ (mm >>> 6);
        return Globals.FUTEX_QUEUES + (h & (Globals.FUTEX_BUCKETS - 1)) * 32;
    }

    public long wait(final Cpu cpu, final long mm, final long uaddr, final long val)
    {
        waitFn.enter(cpu);
        if ((uaddr & 3) != 0 || !k.vm.accessOk(cpu, mm, uaddr, 4, false))
        {
            return waitFn.leave(cpu, -14);
        }
        cpu.load32(uaddr);
        final long b = bucket(mm, uaddr);
        k.spin.lock(cpu, b);
        waitFn.at(cpu, 0x40);
        if (cpu.load32(uaddr) != (val & 0xFFFF_FFFFL))
        {
            k.spin.unlock(cpu, b);
            return waitFn.leave(cpu, EAGAIN);
        }
        final long me = k.current(cpu);
        cpu.store64(me + Task.FUTEX_KEY, uaddr);
        cpu.store64(me + Task.FUTEX_MM, mm);
        Lists.addTail(cpu, me + Task.FUTEX_NODE, b + 8);
        cpu.store64(me + Task.STATE, Task.INTERRUPTIBLE);
        k.spin.unlock(cpu, b);
        waitFn.at(cpu, 0x80);
        k.sched.schedule(cpu);
        return waitFn.leave(cpu, 0);
    }

    public long wake(final Cpu cpu, final long mm, final long uaddr, final long n)
    {
        wakeFn.enter(cpu);
        final long b = bucket(mm, uaddr);
        k.spin.lock(cpu, b);
        long woken = 0;
        long node = cpu.load64(b + 8);
        while (node != b + 8 && woken < n)
        {
            final long next = cpu.load64(node);
            final long t = node - Task.FUTEX_NODE;
            wakeFn.at(cpu, 0x40);
            if (cpu.load64(t + Task.FUTEX_KEY) == uaddr && cpu.load64(t + Task.FUTEX_MM) == mm)
            {
                Lists.del(cpu, node);
                cpu.store64(t + Task.FUTEX_KEY, 0);
                k.sched.wakeUp(cpu, t);
                woken++;
            }
            node = next;
        }
        k.spin.unlock(cpu, b);
        return wakeFn.leave(cpu, woken);
    }
}
