package palimpsest.kernel.drivers;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.arch.Irqs;
import palimpsest.kernel.module.CharDevs;
import palimpsest.kernel.module.Module;
import palimpsest.kernel.module.Modules;
import palimpsest.kernel.sched.Task;
import palimpsest.kernel.time.Timers;
import palimpsest.kernel.user.Syscalls;

/**
 * The example driver of the extension API (kernel/README.md "Writing a driver"): a character
 * device /dev/hello (major 42) that echoes what is written, an interrupt at vector 0x50 that
 * ioctl(1) raises and the handler counts, a timer ioctl(3) arms, a kernel thread ioctl(5) wakes.
 * All its state is in a kzalloc'ed struct in emulated memory, reached through the struct module.
 *
 * <pre>
 * struct hello_dev (192): +0 len  +8 buf[64]  +72 irqs  +80 timer_list (40)  +120 timer runs
 *                         +128 work  +136 kthread runs  +144 stop  +152 exited  +160 fops  +168 kthread task
 *                         +176 stop lock (exited is set, and read before a wake-up, under it)
 * ioctl: 1 raise the irq, 2 irq count, 3 arm the timer (1 tick), 4 timer runs, 5 wake the kthread, 6 its runs
 * </pre>
 */
public final class HelloDriver extends Module
{
    public static final String NAME = "hellodrv";
    public static final int MAJOR = 42;
    public static final int VECTOR = 0x50;
    static final int D_LEN = 0;
    static final int D_BUF = 8;
    static final int D_IRQS = 72;
    static final int D_TIMER = 80;
    static final int D_TIMER_RUNS = 120;
    static final int D_WORK = 128;
    static final int D_KTHREAD_RUNS = 136;
    static final int D_STOP = 144;
    static final int D_EXITED = 152;
    static final int D_FOPS = 160;
    static final int D_TASK = 168;
    static final int D_STOP_LOCK = 176;
    static final int DEV_SIZE = 192;

    private Kernel k;
    /** The struct module of this load (a relocation constant: where the module's data lives). */
    private long mod;
    private Fn initFn;
    private Fn readFn;
    private Fn writeFn;
    private Fn openFn;
    private Fn releaseFn;
    private Fn ioctlFn;
    private Fn irqFn;
    private Fn timerFn;
    private Fn kthreadFn;
    private Fn exitFn;
    private long irqSite;

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    protected void define(final Image img)
    {
        initFn = img.fn("hello_init", 0x80);
        readFn = img.fn("hello_read", 0x60, this::read);
        writeFn = img.fn("hello_write", 0x60, this::write);
        openFn = img.fn("hello_open", 0x40, this::open);
        releaseFn = img.fn("hello_release", 0x40, this::release);
        ioctlFn = img.fn("hello_ioctl", 0x80, this::ioctl);
        irqFn = img.fn("hello_interrupt", 0x40, this::interrupt);
        timerFn = img.fn("hello_timer", 0x40, this::timer);
        kthreadFn = img.fn("hello_thread", 0x80, this::thread);
        exitFn = img.fn("hello_exit", 0x80);
        irqSite = img.lockSite(irqFn, 0x08);
    }

    private long dev(final Cpu cpu)
    {
        return cpu.load64(mod + Modules.M_PRIVATE);
    }

    @Override
    protected long init(final Cpu cpu, final Kernel kernel, final long m)
    {
        this.k = kernel;
        this.mod = m;
        initFn.enter(cpu);
        final long dev = k.slab.kzalloc(cpu, DEV_SIZE);
        cpu.store64(m + Modules.M_PRIVATE, dev);
        final long fops = k.chrdevs.fops(cpu, readFn.addr, writeFn.addr, openFn.addr, releaseFn.addr, ioctlFn.addr);
        cpu.store64(dev + D_FOPS, fops);
        long r = k.chrdevs.register(cpu, MAJOR, "hello", fops);
        if (r == 0)
        {
            r = k.irqs.request(cpu, VECTOR, irqFn.addr, dev);
        }
        if (r != 0)
        {
            return initFn.leave(cpu, r);
        }
        Timers.setup(cpu, dev + D_TIMER, timerFn.addr, dev);
        k.sched.kernelThread(cpu, "hellod", kthreadFn.addr, dev, false);
        k.printk.printk(cpu, "hello: /dev/hello (major " + MAJOR + "), irq " + VECTOR);
        return initFn.leave(cpu, 0);
    }

    @Override
    protected void exit(final Cpu cpu, final Kernel kernel, final long m)
    {
        exitFn.enter(cpu);
        final long dev = dev(cpu);
        // kthread_stop: ask it to stop, wake it, wait until it is gone (its text goes with us).
        // Linux holds a reference on the task meanwhile; here the stop lock does that job: the
        // thread sets exited under it, so a wake-up that saw exited clear finds the task alive.
        cpu.store64(dev + D_STOP, 1);
        while (true)
        {
            k.spin.lock(cpu, dev + D_STOP_LOCK);
            final boolean exited = cpu.load64(dev + D_EXITED) != 0;
            if (!exited)
            {
                wakeThread(cpu, dev);
            }
            k.spin.unlock(cpu, dev + D_STOP_LOCK);
            if (exited)
            {
                break;
            }
            k.sched.schedule(cpu);
        }
        k.irqs.free(cpu, VECTOR, dev);
        k.timers.delTimer(cpu, dev + D_TIMER);
        k.chrdevs.unregister(cpu, MAJOR);
        k.slab.kfree(cpu, cpu.load64(dev + D_FOPS));
        k.slab.kfree(cpu, dev);
        exitFn.leave(cpu);
    }

    private void wakeThread(final Cpu cpu, final long dev)
    {
        final long t = cpu.load64(dev + D_TASK);
        if (t != 0)
        {
            k.sched.wakeUp(cpu, t);
        }
    }

    private void open(final Cpu cpu)
    {
        openFn.prologue(cpu);
        cpu.setReg(Syscalls.RAX, 0);
        openFn.leave(cpu);
    }

    private void release(final Cpu cpu)
    {
        releaseFn.prologue(cpu);
        cpu.setReg(Syscalls.RAX, 0);
        releaseFn.leave(cpu);
    }

    /** write(file, ubuf, n): keeps up to 64 bytes. */
    private void write(final Cpu cpu)
    {
        writeFn.prologue(cpu);
        final long ubuf = cpu.reg(Syscalls.RSI);
        final long n = Math.min(64, cpu.reg(Syscalls.RDX));
        final long dev = dev(cpu);
        k.vm.copyFromUser(cpu, dev + D_BUF, ubuf, n);
        cpu.store64(dev + D_LEN, n);
        cpu.setReg(Syscalls.RAX, n);
        writeFn.leave(cpu);
    }

    /** read(file, ubuf, n): what was written last. */
    private void read(final Cpu cpu)
    {
        readFn.prologue(cpu);
        final long ubuf = cpu.reg(Syscalls.RSI);
        final long dev = dev(cpu);
        final long n = Math.min(cpu.reg(Syscalls.RDX), cpu.load64(dev + D_LEN));
        k.vm.copyToUser(cpu, ubuf, dev + D_BUF, n);
        cpu.setReg(Syscalls.RAX, n);
        readFn.leave(cpu);
    }

    private void ioctl(final Cpu cpu)
    {
        ioctlFn.prologue(cpu);
        final long cmd = cpu.reg(Syscalls.RSI);
        final long dev = dev(cpu);
        long r = 0;
        switch ((int)cmd)
        {
            case 1: Irqs.raise(cpu, cpu.apicId(), VECTOR); break;
            case 2: r = cpu.load64(dev + D_IRQS); break;
            case 3: k.timers.modTimer(cpu, dev + D_TIMER, k.timers.jiffies(cpu) + 1); break;
            case 4: r = cpu.load64(dev + D_TIMER_RUNS); break;
            case 5:
                cpu.store64(dev + D_WORK, 1);
                wakeThread(cpu, dev);
                break;
            case 6: r = cpu.load64(dev + D_KTHREAD_RUNS); break;
            default: r = CharDevs.ENOTTY; break;
        }
        cpu.setReg(Syscalls.RAX, r);
        ioctlFn.leave(cpu);
    }

    /** The device interrupt: handler(vector, dev_id). */
    private void interrupt(final Cpu cpu)
    {
        irqFn.prologue(cpu);
        final long dev = cpu.reg(Syscalls.RSI);
        cpu.xadd(irqSite, dev + D_IRQS, 8, 1);
        irqFn.leave(cpu);
    }

    private void timer(final Cpu cpu)
    {
        timerFn.prologue(cpu);
        final long dev = cpu.reg(Syscalls.RDI);
        cpu.store64(dev + D_TIMER_RUNS, cpu.load64(dev + D_TIMER_RUNS) + 1);
        timerFn.leave(cpu);
    }

    /** The kernel thread: counts each wake-up with work, exits when asked to stop. */
    private void thread(final Cpu cpu)
    {
        kthreadFn.prologue(cpu);
        final long dev = cpu.reg(Syscalls.RDI);
        cpu.store64(dev + D_TASK, k.current(cpu));
        while (true)
        {
            k.sched.setCurrentState(cpu, Task.INTERRUPTIBLE);
            if (cpu.load64(dev + D_STOP) != 0)
            {
                k.sched.setCurrentState(cpu, Task.RUNNING);
                k.spin.lock(cpu, dev + D_STOP_LOCK);
                cpu.store64(dev + D_EXITED, 1);
                k.spin.unlock(cpu, dev + D_STOP_LOCK);
                k.sched.doExit(cpu, 0);
            }
            if (cpu.load64(dev + D_WORK) != 0)
            {
                k.sched.setCurrentState(cpu, Task.RUNNING);
                cpu.store64(dev + D_WORK, 0);
                cpu.store64(dev + D_KTHREAD_RUNS, cpu.load64(dev + D_KTHREAD_RUNS) + 1);
                continue;
            }
            k.sched.schedule(cpu);
        }
    }
}
