package palimpsest.kernel.arch;

import java.nio.charset.StandardCharsets;

import palimpsest.emulator.Apic;
import palimpsest.emulator.Cpu;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.kernel.sched.PerCpu;
import palimpsest.kernel.sched.Task;
import palimpsest.kernel.user.Syscalls;

/**
 * CPU hotplug (kernel/cpu.c and the x86 smpboot parts of 2.6.25, with the cpuhp state machine of
 * later kernels): the state table in memory, cpu_up (INIT, delay, SIPI to the trampoline, the AP
 * runs the startup callbacks) and cpu_down (the dying cpu leaves the online mask, runs the
 * teardown callbacks that belong to it, its tasks migrate, it parks in play_dead and the core goes
 * offline), and disable/enable_nonboot_cpus for suspend.
 *
 * <p>The state table ({@link Globals#CPUHP_STATES}), lowest state first; bring-up walks it up,
 * tear-down walks it down. Callbacks are function pointers in memory called through
 * {@code cpuhp_invoke_callback} as fn(cpu, state); AP states run on the cpu concerned, the others
 * on the cpu doing the hotplug:
 * <pre>
 *   state  name               where  startup                  teardown
 *   0      threads:prepare    BP     smpboot_create_threads   -                     (kworker/N, parked)
 *   1      workqueue:prepare  BP     workqueue_prepare_cpu    -                     (the cpu's worker pool)
 *   2      smpcfd:prepare     BP     smpcfd_prepare_cpu       smpcfd_dead_cpu       (per-cpu irq stats)
 *   3      sched:starting     AP     sched_cpu_starting       sched_cpu_dying       (migrate its tasks away)
 *   4      timer:online       AP     lapic_timer_online       lapic_timer_offline   (the APIC tick)
 *   5      smpboot:threads    AP     smpboot_unpark_threads   smpboot_park_threads  (kworker/N runs)
 *   6      workqueue:online   AP     workqueue_online_cpu     workqueue_offline_cpu (the pool takes work)
 *   7      sched:active       AP     sched_cpu_activate       sched_cpu_deactivate  (cpu_active_mask: new
 *                                                                                   tasks may be placed here)
 * </pre>
 * Each one matters to a workload: see {@link palimpsest.kernel.sched.Workqueue} for the pool and
 * its kworker (dead threads are freed there), the tick for preemption, the active mask for placement.
 * {@code per_cpu(cpuhp_state)} counts the states a cpu has reached.
 *
 * <p>cpu_down handshake (per-cpu {@code cpu_state}, like 2.6.25's): the controlling cpu sets the
 * victim's state to DYING and sends it a reschedule IPI; its scheduler then runs only the idle task,
 * whose loop sees DYING and runs take_cpu_down: __cpu_disable (leave the online mask under the
 * smp_call_function lock, so no cross call can be waiting for it), the AP teardowns with interrupts
 * off (the timer stops, the run queue is emptied onto online cpus), then play_dead: {@code
 * cpu_state = DEAD}, the core is parked ({@code cli; hlt} for good, {@link
 * palimpsest.emulator.Machine#offline}). The controller, in native_cpu_die, sees DEAD, prints
 * {@code CPU n is now offline}, switches the alternatives to UP if one cpu is left, and runs the BP
 * teardowns. cpu_up reuses the cpu's idle task; the AP gets a fresh instruction stream from SIPI.
 */
public final class Hotplug
{
    public static final long EINVAL = -22;
    public static final long EBUSY = -16;
    public static final long EIO = -5;

    private static final long DIE_SPINS = 4_000_000L;

    private final Kernel k;
    private final Fn cpuhpInvoke;
    private final Fn smpcfdPrepare;
    private final Fn smpcfdDead;
    private final Fn schedCpuStarting;
    private final Fn schedCpuDying;
    private final Fn lapicTimerOnline;
    private final Fn lapicTimerOffline;
    private final Fn schedCpuActivate;
    private final Fn schedCpuDeactivate;
    private final Fn cpuUpFn;
    private final Fn cpuUpInnerFn;
    private final Fn cpuDownFn;
    private final Fn doBootCpu;
    private final Fn takeCpuDownFn;
    private final Fn cpuDisableFn;
    private final Fn playDeadFn;
    private final Fn nativeCpuDieFn;
    private final Fn disableNonbootFn;
    private final Fn enableNonbootFn;

    private static final String[] NAMES = {"threads:prepare", "workqueue:prepare", "smpcfd:prepare", "sched:starting",
        "timer:online", "smpboot:threads", "workqueue:online", "sched:active"};

    public Hotplug(final Kernel k)
    {
        this.k = k;
        this.cpuhpInvoke = k.text.fn("cpuhp_invoke_callback", 0x60);
        this.smpcfdPrepare = k.text.fn("smpcfd_prepare_cpu", 0x40, this::smpcfdPrepareBody);
        this.smpcfdDead = k.text.fn("smpcfd_dead_cpu", 0x40, this::smpcfdDeadBody);
        this.schedCpuStarting = k.text.fn("sched_cpu_starting", 0x40, this::schedCpuStartingBody);
        this.schedCpuDying = k.text.fn("sched_cpu_dying", 0x40, this::schedCpuDyingBody);
        this.lapicTimerOnline = k.text.fn("lapic_timer_online", 0x60, this::lapicTimerOnlineBody);
        this.lapicTimerOffline = k.text.fn("lapic_timer_offline", 0x40, this::lapicTimerOfflineBody);
        this.schedCpuActivate = k.text.fn("sched_cpu_activate", 0x40, this::schedCpuActivateBody);
        this.schedCpuDeactivate = k.text.fn("sched_cpu_deactivate", 0x40, this::schedCpuDeactivateBody);
        this.cpuUpFn = k.text.fn("cpu_up", 0x80);
        this.cpuUpInnerFn = k.text.fn("_cpu_up", 0x60);
        this.cpuDownFn = k.text.fn("cpu_down", 0x100);
        this.doBootCpu = k.text.fn("do_boot_cpu", 0x100);
        this.takeCpuDownFn = k.text.fn("take_cpu_down", 0x60);
        this.cpuDisableFn = k.text.fn("__cpu_disable", 0x60);
        this.playDeadFn = k.text.fn("play_dead", 0x40);
        this.nativeCpuDieFn = k.text.fn("native_cpu_die", 0x80);
        this.disableNonbootFn = k.text.fn("disable_nonboot_cpus", 0x80);
        this.enableNonbootFn = k.text.fn("enable_nonboot_cpus", 0x80);
    }

    /** The boot loader's part: the static cpuhp_step array. */
    void loadTable(final PhysicalMemory mem)
    {
        final Fn[][] cbs = {{k.wq.createThreads, null}, {k.wq.prepare, null}, {smpcfdPrepare, smpcfdDead},
            {schedCpuStarting, schedCpuDying}, {lapicTimerOnline, lapicTimerOffline}, {k.wq.unparkThreads, k.wq.parkThreads},
            {k.wq.online, k.wq.offline}, {schedCpuActivate, schedCpuDeactivate}};
        final long online = Globals.CPUHP_AP | Globals.CPUHP_ONLINE;
        final long[] flags = {0, 0, 0, Globals.CPUHP_AP, Globals.CPUHP_AP, online, online, online};
        mem.write64(Globals.phys(Globals.CPUHP_COUNT), cbs.length);
        for (int i = 0; i < cbs.length; i++)
        {
            final long e = Globals.phys(Globals.CPUHP_STATES) + (long)i * Globals.CPUHP_STEP_SIZE;
            final byte[] n = NAMES[i].getBytes(StandardCharsets.US_ASCII);
            for (int j = 0; j < n.length && j < 23; j++)
            {
                mem.write8(e + j, n[j]);
            }
            mem.write64(e + Globals.CPUHP_STARTUP, cbs[i][0].addr);
            mem.write64(e + Globals.CPUHP_TEARDOWN, cbs[i][1] == null ? 0 : cbs[i][1].addr);
            mem.write64(e + Globals.CPUHP_FLAGS, flags[i]);
        }
    }

    // ------------------------------------------------------------------ the state machine

    private long step(final long state)
    {
        return Globals.CPUHP_STATES + state * Globals.CPUHP_STEP_SIZE;
    }

    private boolean apState(final Cpu cpu, final long state)
    {
        return (cpu.load64(step(state) + Globals.CPUHP_FLAGS) & Globals.CPUHP_AP) != 0;
    }

    /** cpuhp_invoke_callback: calls the state's startup or teardown through its pointer in the table. */
    private void invoke(final Cpu cpu, final int target, final long state, final boolean bringup)
    {
        cpuhpInvoke.enter(cpu);
        final long fn = cpu.load64(step(state) + (bringup ? Globals.CPUHP_STARTUP : Globals.CPUHP_TEARDOWN));
        if (fn != 0)
        {
            k.callIndirect(cpu, fn, target, state, 0);
        }
        cpu.store64(k.perCpu(cpu, target) + PerCpu.CPUHP_STATE, bringup ? state + 1 : state);
        cpuhpInvoke.leave(cpu);
    }

    /**
     * Runs the startup callbacks for cpu target from its current state up to the first state whose
     * flags have one of stopAt's bits: CPUHP_AP (on the controlling cpu before the AP starts),
     * CPUHP_ONLINE (on the cpu itself, before it sets itself online), 0 (all the rest).
     */
    void bringUp(final Cpu cpu, final int target, final long stopAt)
    {
        final long n = cpu.load64(Globals.CPUHP_COUNT);
        final long pcpu = k.perCpu(cpu, target);
        for (long s = cpu.load64(pcpu + PerCpu.CPUHP_STATE); s < n; s++)
        {
            if ((cpu.load64(step(s) + Globals.CPUHP_FLAGS) & stopAt) != 0)
            {
                break;
            }
            invoke(cpu, target, s, true);
        }
    }

    /** Tears down from target's current state down: while the states are AP states (apOnly) or all. */
    private void tearDown(final Cpu cpu, final int target, final boolean apOnly)
    {
        final long pcpu = k.perCpu(cpu, target);
        for (long s = cpu.load64(pcpu + PerCpu.CPUHP_STATE) - 1; s >= 0; s--)
        {
            if (apOnly && !apState(cpu, s))
            {
                break;
            }
            invoke(cpu, target, s, false);
        }
    }

    private void smpcfdPrepareBody(final Cpu cpu)
    {
        smpcfdPrepare.prologue(cpu);
        cpu.store64(k.perCpu(cpu, (int)cpu.reg(Syscalls.RDI)) + PerCpu.IRQ_COUNT, 0);
        cpu.setReg(Syscalls.RAX, 0);
        smpcfdPrepare.leave(cpu);
    }

    /** The dead cpu's per-cpu interrupt statistics start afresh when it comes back. */
    private void smpcfdDeadBody(final Cpu cpu)
    {
        smpcfdDead.prologue(cpu);
        final long pcpu = k.perCpu(cpu, (int)cpu.reg(Syscalls.RDI));
        cpu.store64(pcpu + PerCpu.IRQ_COUNT, 0);
        cpu.store64(pcpu + PerCpu.NEED_RESCHED, 0);
        cpu.setReg(Syscalls.RAX, 0);
        smpcfdDead.leave(cpu);
    }

    private void schedCpuStartingBody(final Cpu cpu)
    {
        schedCpuStarting.prologue(cpu);
        final long pcpu = k.perCpu(cpu, (int)cpu.reg(Syscalls.RDI));
        cpu.store64(pcpu + PerCpu.NEED_RESCHED, 0);
        cpu.store64(pcpu + PerCpu.TICKS, 0);
        cpu.setReg(Syscalls.RAX, 0);
        schedCpuStarting.leave(cpu);
    }

    /** On the dying cpu, out of the online mask, interrupts off: its run queue moves to the online cpus. */
    private void schedCpuDyingBody(final Cpu cpu)
    {
        schedCpuDying.prologue(cpu);
        final long moved = k.sched.migrateTasks(cpu, (int)cpu.reg(Syscalls.RDI));
        cpu.setReg(Syscalls.RAX, moved);
        schedCpuDying.leave(cpu);
    }

    /** The cpu joins cpu_active_mask: the scheduler may place new tasks on it from now on. */
    private void schedCpuActivateBody(final Cpu cpu)
    {
        schedCpuActivate.prologue(cpu);
        cpu.xadd(k.spin.atomicSite(), Globals.CPU_ACTIVE_MASK, 8, 1L << cpu.reg(Syscalls.RDI));
        cpu.setReg(Syscalls.RAX, 0);
        schedCpuActivate.leave(cpu);
    }

    /** The dying cpu leaves cpu_active_mask first: no new task is placed on it while it goes down. */
    private void schedCpuDeactivateBody(final Cpu cpu)
    {
        schedCpuDeactivate.prologue(cpu);
        cpu.xadd(k.spin.atomicSite(), Globals.CPU_ACTIVE_MASK, 8, -(1L << cpu.reg(Syscalls.RDI)));
        cpu.setReg(Syscalls.RAX, 0);
        schedCpuDeactivate.leave(cpu);
    }

    /** Arms this cpu's APIC timer, periodic: the scheduler tick. */
    private void lapicTimerOnlineBody(final Cpu cpu)
    {
        lapicTimerOnline.prologue(cpu);
        final long period = cpu.load64(Layout.va(Layout.BOOT_PARAMS_PHYS) + Boot.BP_TIMER);
        cpu.apicWrite(Apic.TIMER_DIV, 0);
        cpu.apicWrite(Apic.LVT_TIMER, Traps.VEC_TIMER | Apic.LVT_PERIODIC);
        cpu.apicWrite(Apic.TIMER_INIT, period);
        cpu.setReg(Syscalls.RAX, 0);
        lapicTimerOnline.leave(cpu);
    }

    /** Stops this cpu's APIC timer (masked, count 0). */
    private void lapicTimerOfflineBody(final Cpu cpu)
    {
        lapicTimerOffline.prologue(cpu);
        cpu.apicWrite(Apic.LVT_TIMER, Traps.VEC_TIMER | Apic.LVT_MASKED);
        cpu.apicWrite(Apic.TIMER_INIT, 0);
        cpu.setReg(Syscalls.RAX, 0);
        lapicTimerOffline.leave(cpu);
    }

    // ------------------------------------------------------------------ cpu_up

    /**
     * cpu_up (the sysfs {@code online} file: {@code echo 1 > /sys/devices/system/cpu/cpuN/online}):
     * 0, or -EINVAL (no such cpu / already online), -EIO (it did not come up).
     */
    public long cpuUp(final Cpu cpu, final int id)
    {
        cpuUpFn.enter(cpu);
        if (id <= 0 || id >= cpu.load64(Globals.NR_CPUS))
        {
            return cpuUpFn.leave(cpu, EINVAL);
        }
        k.spin.lock(cpu, Globals.CPU_ADD_REMOVE_LOCK);
        final long r = k.sched.cpuOnline(cpu, id) ? EINVAL : cpuUpLocked(cpu, id);
        k.spin.unlock(cpu, Globals.CPU_ADD_REMOVE_LOCK);
        return cpuUpFn.leave(cpu, r);
    }

    /**
     * _cpu_up: the common path of cpu_up (sysfs) and enable_nonboot_cpus (resume), cpu_add_remove_lock
     * held, as in 2.6.25 (_cpu_up -> __cpu_up -> do_boot_cpu).
     */
    private long cpuUpLocked(final Cpu cpu, final int id)
    {
        cpuUpInnerFn.enter(cpu);
        return cpuUpInnerFn.leave(cpu, nativeCpuUp(cpu, id));
    }

    /**
     * native_cpu_up / do_boot_cpu: SMP alternatives first (as 2.6.25), the BP-side startup states,
     * then INIT, a delay and SIPI to the trampoline with the cpu's idle task; waits until it is online.
     */
    private long nativeCpuUp(final Cpu cpu, final int id)
    {
        doBootCpu.enter(cpu);
        k.alternatives.smpSwitch(cpu, true);
        final long pcpu = k.perCpu(cpu, id);
        cpu.store64(pcpu + PerCpu.CPU_STATE, PerCpu.CPU_UP_PREPARE);
        long idle = cpu.load64(pcpu + PerCpu.IDLE);
        if (idle == 0)
        {
            idle = k.sched.createIdleTask(cpu, id);
        }
        cpu.store64(pcpu + PerCpu.CURRENT, idle);
        if (cpuhpOnSecondaries())
        {
            bringUp(cpu, id, Globals.CPUHP_AP);
        }
        doBootCpu.at(cpu, 0x20);
        final long td = Layout.va(Layout.TRAMPOLINE_DATA_PHYS);
        cpu.store64(td, k.pt.swapperPgd(cpu));
        cpu.store64(td + 8, cpu.load64(idle + Task.STACK) + Layout.THREAD_SIZE);
        cpu.store64(td + 16, idle);
        cpu.store64(td + 24, id);
        cpu.store64(Globals.AP_ONLINE_ACK, -1L);
        k.printk.printk(cpu, "Booting processor " + id + " APIC 0x" + Integer.toHexString(id) + " ip 0x" +
            Long.toHexString(Layout.TRAMPOLINE_PHYS));
        cpu.apicWrite(Apic.ICR_HI, (long)id << 24);
        cpu.apicWrite(Apic.ICR_LO, Apic.icr(0, Apic.MODE_INIT, Apic.DEST_NONE));
        doBootCpu.at(cpu, 0x40);
        cpu.compute(10_000);
        cpu.apicWrite(Apic.ICR_LO, Apic.icr((int)(Layout.TRAMPOLINE_PHYS >>> 12), Apic.MODE_SIPI, Apic.DEST_NONE));
        doBootCpu.at(cpu, 0x80);
        long spins = 0;
        while (cpu.load64(Globals.AP_ONLINE_ACK) != id)
        {
            cpu.compute(32);
            if (++spins > 2_000_000)
            {
                k.printk.printk(cpu, "CPU" + id + ": failed to boot");
                return doBootCpu.leave(cpu, EIO);
            }
        }
        return doBootCpu.leave(cpu, 0);
    }

    /**
     * Whether an AP runs the cpuhp states as it comes up. LegoOS boots its APs through its own
     * smp_callin (patch lego-smp-callin, the diary's 02/05), which ran none of them until
     * lego-cpuhp-secondary.
     */
    private boolean cpuhpOnSecondaries()
    {
        if (k.lego != null && k.patches.enabled("lego-smp-callin"))
        {
            return k.patches.enabled("lego-cpuhp-secondary");
        }
        return k.patches.enabled("cpuhp-secondary");
    }

    /** start_secondary's hotplug part, on the AP: AP startup states, online mask, "CPU n is up". */
    void apOnline(final Cpu cpu)
    {
        final int id = cpu.apicId();
        final boolean cpuhp = cpuhpOnSecondaries();
        if (cpuhp)
        {
            bringUp(cpu, id, Globals.CPUHP_ONLINE);
        }
        cpu.xadd(k.spin.atomicSite(), Globals.CPU_ONLINE_MASK, 8, 1L << id);
        cpu.store64(k.thisCpu(cpu) + PerCpu.ONLINE_JIFFIES, cpu.load64(Globals.JIFFIES));
        cpu.store64(k.thisCpu(cpu) + PerCpu.CPU_STATE, PerCpu.CPU_ONLINE);
        if (cpuhp)
        {
            bringUp(cpu, id, 0);
        }
        k.printk.printk(cpu, "CPU " + id + " is up");
        cpu.mark(Mark.CPU_UP, id, 0);
        cpu.store64(Globals.AP_ONLINE_ACK, id);
    }

    /** The boot cpu's own bring-up (every state runs on it). */
    void bootCpuOnline(final Cpu cpu)
    {
        bringUp(cpu, cpu.apicId(), Globals.CPUHP_ONLINE);
        cpu.xadd(k.spin.atomicSite(), Globals.CPU_ONLINE_MASK, 8, 1L << cpu.apicId());
        cpu.store64(k.thisCpu(cpu) + PerCpu.CPU_STATE, PerCpu.CPU_ONLINE);
        bringUp(cpu, cpu.apicId(), 0);
        k.printk.printk(cpu, "CPU " + cpu.apicId() + " is up");
        cpu.mark(Mark.CPU_UP, cpu.apicId(), 0);
    }

    // ------------------------------------------------------------------ cpu_down

    /**
     * cpu_down (the sysfs {@code online} file: {@code echo 0 > /sys/devices/system/cpu/cpuN/online}):
     * 0, or -EINVAL (no such cpu / not online), -EBUSY (the boot cpu, or the last one), -EIO (it did
     * not die). A caller running on the victim moves itself away first.
     */
    public long cpuDown(final Cpu cpu, final int id)
    {
        cpuDownFn.enter(cpu);
        if (id < 0 || id >= cpu.load64(Globals.NR_CPUS))
        {
            return cpuDownFn.leave(cpu, EINVAL);
        }
        if (id == 0)
        {
            // As on i386/x86-64 2.6.25: some interrupts can only be serviced by the BSP.
            return cpuDownFn.leave(cpu, EBUSY);
        }
        if (cpu.apicId() == id)
        {
            k.sched.migrateCurrent(cpu, 0);
        }
        k.spin.lock(cpu, Globals.CPU_ADD_REMOVE_LOCK);
        final long r = cpuDownLocked(cpu, id);
        k.spin.unlock(cpu, Globals.CPU_ADD_REMOVE_LOCK);
        return cpuDownFn.leave(cpu, r);
    }

    /** _cpu_down, with cpu_add_remove_lock held. */
    private long cpuDownLocked(final Cpu cpu, final int id)
    {
        if (!k.sched.cpuOnline(cpu, id))
        {
            return EINVAL;
        }
        if (Long.bitCount(cpu.load64(Globals.CPU_ONLINE_MASK)) == 1)
        {
            return EBUSY;
        }
        cpuDownFn.at(cpu, 0x40);
        // stop_machine's part: ask the victim to run take_cpu_down from its idle task.
        cpu.store64(k.perCpu(cpu, id) + PerCpu.CPU_STATE, PerCpu.CPU_DYING);
        Traps.sendIpi(cpu, id, Traps.VEC_RESCHEDULE);
        if (!nativeCpuDie(cpu, id))
        {
            return EIO;
        }
        cpuDownFn.at(cpu, 0x80);
        tearDown(cpu, id, false);
        return 0;
    }

    /** native_cpu_die: waits for the victim's play_dead, then the 2.6.25 UP switch if one cpu is left. */
    private boolean nativeCpuDie(final Cpu cpu, final int id)
    {
        nativeCpuDieFn.enter(cpu);
        final long pcpu = k.perCpu(cpu, id);
        long spins = 0;
        while (cpu.load64(pcpu + PerCpu.CPU_STATE) != PerCpu.CPU_DEAD)
        {
            cpu.pause();
            if (++spins > DIE_SPINS)
            {
                k.printk.printk(cpu, "CPU " + id + " didn't die...");
                nativeCpuDieFn.leave(cpu);
                return false;
            }
        }
        nativeCpuDieFn.at(cpu, 0x40);
        k.printk.printk(cpu, "CPU " + id + " is now offline");
        if (Long.bitCount(cpu.load64(Globals.CPU_ONLINE_MASK)) == 1)
        {
            k.alternatives.smpSwitch(cpu, false);
        }
        nativeCpuDieFn.leave(cpu);
        return true;
    }

    /** Whether the idle loop of this cpu must take it down (cpu_is_offline in 2.6.25's cpu_idle). */
    boolean dying(final Cpu cpu)
    {
        return cpu.load64(k.thisCpu(cpu) + PerCpu.CPU_STATE) == PerCpu.CPU_DYING;
    }

    /** take_cpu_down, on the victim's idle task; never returns. */
    void takeCpuDown(final Cpu cpu)
    {
        takeCpuDownFn.enter(cpu);
        final int id = cpu.apicId();
        cpuDisable(cpu, id);
        takeCpuDownFn.at(cpu, 0x20);
        tearDown(cpu, id, true);
        playDead(cpu, id);
    }

    /**
     * __cpu_disable: leaves the online mask. It takes the smp_call_function lock first (interrupts
     * on, so it acknowledges a cross call in flight while it waits): with the lock held no call is
     * waiting for this cpu, and callers read the mask under that lock, so none will.
     */
    private void cpuDisable(final Cpu cpu, final int id)
    {
        cpuDisableFn.enter(cpu);
        cpu.sti();
        k.spin.lock(cpu, Globals.CFD_LOCK);
        cpu.cli();
        cpuDisableFn.at(cpu, 0x30);
        cpu.xadd(k.spin.atomicSite(), Globals.CPU_ONLINE_MASK, 8, -(1L << id));
        k.spin.unlock(cpu, Globals.CFD_LOCK);
        cpuDisableFn.leave(cpu);
    }

    /** play_dead: ack with cpu_state = DEAD, then cli; hlt for good; the core is offline until INIT+SIPI. */
    private void playDead(final Cpu cpu, final int id)
    {
        playDeadFn.enter(cpu);
        cpu.cli();
        cpu.mark(Mark.CPU_DOWN, id, 0);
        cpu.store64(k.thisCpu(cpu) + PerCpu.CPU_STATE, PerCpu.CPU_DEAD);
        // No instruction boundary since the store: the controller cannot have seen DEAD yet, so the
        // core is offline before anyone can send it INIT.
        k.machine.offline(cpu.node() * k.machine.config().cpusPerNode + id);
        while (true)
        {
            playDeadFn.at(cpu, 0x20);
            cpu.hlt();
        }
    }

    // ------------------------------------------------------------------ suspend

    /** disable_nonboot_cpus: every online cpu but the boot cpu goes down, highest first; remembered in frozen_cpus. */
    public long disableNonbootCpus(final Cpu cpu)
    {
        disableNonbootFn.enter(cpu);
        k.spin.lock(cpu, Globals.CPU_ADD_REMOVE_LOCK);
        k.printk.printk(cpu, "Disabling non-boot CPUs ...");
        cpu.store64(Globals.FROZEN_CPUS, 0);
        long error = 0;
        for (int id = (int)cpu.load64(Globals.NR_CPUS) - 1; id > 0; id--)
        {
            if (!k.sched.cpuOnline(cpu, id))
            {
                continue;
            }
            error = cpuDownLocked(cpu, id);
            if (error != 0)
            {
                k.printk.printk(cpu, "Error taking CPU" + id + " down: " + error);
                break;
            }
            cpu.store64(Globals.FROZEN_CPUS, cpu.load64(Globals.FROZEN_CPUS) | 1L << id);
        }
        k.spin.unlock(cpu, Globals.CPU_ADD_REMOVE_LOCK);
        return disableNonbootFn.leave(cpu, error);
    }

    /** enable_nonboot_cpus: brings back the cpus disable_nonboot_cpus took down, lowest first. */
    public void enableNonbootCpus(final Cpu cpu)
    {
        enableNonbootFn.enter(cpu);
        k.spin.lock(cpu, Globals.CPU_ADD_REMOVE_LOCK);
        final long frozen = cpu.load64(Globals.FROZEN_CPUS);
        if (frozen != 0)
        {
            k.printk.printk(cpu, "Enabling non-boot CPUs ...");
            for (int id = 1; id < 64; id++)
            {
                if ((frozen & 1L << id) != 0)
                {
                    final long error = cpuUpLocked(cpu, id);
                    if (error != 0)
                    {
                        k.printk.printk(cpu, "Error taking CPU" + id + " up: " + error);
                    }
                }
            }
            cpu.store64(Globals.FROZEN_CPUS, 0);
        }
        k.spin.unlock(cpu, Globals.CPU_ADD_REMOVE_LOCK);
        enableNonbootFn.leave(cpu);
    }
}
