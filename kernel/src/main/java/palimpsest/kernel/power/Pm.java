package palimpsest.kernel.power;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.kernel.arch.Boot;
import palimpsest.kernel.sched.PerCpu;
import palimpsest.kernel.sched.Task;

/**
 * Suspend to RAM ({@code echo mem > /sys/power/state}), as 2.6.25's enter_state does it: sync,
 * freeze user space ({@link Freezer}), {@link Mark#SUSPEND}, disable_nonboot_cpus (every secondary
 * cpu through cpu_down, highest first: SMP to UP), the sleep itself (the boot cpu halts for
 * {@link #SLEEP_TICKS} with only kernel threads runnable), enable_nonboot_cpus (cpu_up of each: UP
 * to SMP), {@link Mark#RESUME}, thaw.
 *
 * <p>Triggers: {@link #suspendResume} from kernel code (in-kernel tests), or a recorded stimulus
 * ({@link #suspendAt}): the "power button" interrupt ({@link #VEC_PM}, handled on cpu 0 by
 * {@code acpi_irq}) sets {@code PM_REQUEST} and wakes {@code kpowerd}, a kernel thread pinned to
 * cpu 0 that runs the suspend. The input source picks the stimulus's exact time and the trace
 * records it, so a replay suspends at the same instruction.
 */
public final class Pm
{
    /** The power-button / ACPI SCI vector (IRQ 9). */
    public static final int VEC_PM = 0x39;
    /** Stimulus id of the suspend request (for the input source). */
    public static final int STIMULUS_SUSPEND = 0x5333;
    /** How long the machine sleeps, in ticks of virtual time. */
    public static final long SLEEP_TICKS = 600_000;
    public static final long EBUSY = -16;

    private final Kernel k;
    private final Fn enterStateFn;
    private final Fn suspendEnterFn;
    private final Fn kpowerdFn;
    private final Fn acpiIrqFn;

    public Pm(final Kernel k)
    {
        this.k = k;
        this.enterStateFn = k.text.fn("enter_state", 0x100);
        this.suspendEnterFn = k.text.fn("suspend_enter", 0x60);
        this.kpowerdFn = k.text.fn("kpowerd", 0x60, this::kpowerdBody);
        this.acpiIrqFn = k.text.fn("acpi_irq", 0x40);
    }

    /**
     * Wires the machine for suspend (before {@link Machine#run}): tells the kernel through boot_params
     * that S3 is available (so it starts kpowerd) and schedules the power-button stimulus on cpu 0
     * around virtual time nominal.
     */
    public void suspendAt(final Machine machine, final long nominal)
    {
        final PhysicalMemory mem = machine.memory(0);
        final long flags = Layout.BOOT_PARAMS_PHYS + Boot.BP_FLAGS;
        mem.write64(flags, mem.read64(flags) | Boot.BP_FLAG_S3);
        machine.stimulus(STIMULUS_SUSPEND, nominal, 0, VEC_PM);
    }

    /** rest_init's part: kpowerd on cpu 0 (it never goes down). */
    public void startDaemon(final Cpu cpu)
    {
        final long t = k.sched.kernelThread(cpu, "kpowerd", kpowerdFn.addr, 0, false, 0);
        cpu.store64(Globals.KPOWERD, t);
    }

    private void kpowerdBody(final Cpu cpu)
    {
        kpowerdFn.prologue(cpu);
        while (true)
        {
            k.sched.setCurrentState(cpu, Task.INTERRUPTIBLE);
            if (cpu.xchg(k.spin.atomicSite(), Globals.PM_REQUEST, 8, 0) != 0)
            {
                k.sched.setCurrentState(cpu, Task.RUNNING);
                kpowerdFn.at(cpu, 0x30);
                suspendResume(cpu);
                continue;
            }
            k.sched.schedule(cpu);
        }
    }

    /** acpi_irq, from the trap entry of {@link #VEC_PM}: requests a suspend and wakes kpowerd. */
    public void interrupt(final Cpu cpu)
    {
        acpiIrqFn.enter(cpu);
        cpu.store64(Globals.PM_REQUEST, 1);
        final long t = cpu.load64(Globals.KPOWERD);
        if (t != 0)
        {
            k.sched.wakeUp(cpu, t);
            cpu.store64(k.thisCpu(cpu) + PerCpu.NEED_RESCHED, 1);
        }
        acpiIrqFn.leave(cpu);
    }

    public Fn acpiIrq()
    {
        return acpiIrqFn;
    }

    /** enter_state(PM_SUSPEND_MEM): suspend, sleep, resume. 0, or -EBUSY if user space would not freeze. */
    public long suspendResume(final Cpu cpu)
    {
        enterStateFn.enter(cpu);
        k.printk.printk(cpu, "PM: Syncing filesystems ... done.");
        k.printk.printk(cpu, "Freezing user space processes ...");
        final long period = cpu.load64(Layout.va(Layout.BOOT_PARAMS_PHYS) + Boot.BP_TIMER);
        final long todo = k.freezer.freezeProcesses(cpu, 40 * period);
        if (todo != 0)
        {
            k.printk.printk(cpu, "Freezing of tasks failed (" + todo + " tasks refusing to freeze)");
            k.freezer.thawProcesses(cpu);
            return enterStateFn.leave(cpu, EBUSY);
        }
        k.printk.printk(cpu, "Freezing user space processes ... done.");
        k.printk.printk(cpu, "PM: Entering mem sleep");
        cpu.mark(Mark.SUSPEND, 0, 0);
        enterStateFn.at(cpu, 0x40);
        k.hotplug.disableNonbootCpus(cpu);
        suspendEnter(cpu);
        k.hotplug.enableNonbootCpus(cpu);
        enterStateFn.at(cpu, 0x80);
        cpu.mark(Mark.RESUME, 0, 0);
        k.printk.printk(cpu, "PM: Finishing wakeup.");
        k.freezer.thawProcesses(cpu);
        k.printk.printk(cpu, "Restarting tasks ... done.");
        cpu.xadd(k.spin.atomicSite(), Globals.PM_SUSPENDS, 8, 1);
        return enterStateFn.leave(cpu, 0);
    }

    /** The sleep: the boot cpu alone halts (timer ticks still come) until the wake-up time. */
    private void suspendEnter(final Cpu cpu)
    {
        suspendEnterFn.enter(cpu);
        final boolean f = cpu.interruptsEnabled();
        final long until = cpu.rdtsc() + SLEEP_TICKS;
        while (cpu.rdtsc() < until)
        {
            suspendEnterFn.at(cpu, 0x20);
            cpu.sti();
            cpu.hlt();
        }
        if (!f)
        {
            cpu.cli();
        }
        k.printk.printk(cpu, "Back to C!");
        suspendEnterFn.leave(cpu);
    }
}
