package palimpsest.kernel;

import java.util.HashMap;
import java.util.Map;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Fiber;
import palimpsest.emulator.Machine;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.emulator.Routine;
import palimpsest.kernel.arch.Alternatives;
import palimpsest.kernel.arch.Boot;
import palimpsest.kernel.arch.Hotplug;
import palimpsest.kernel.arch.Smp;
import palimpsest.kernel.arch.Traps;
import palimpsest.kernel.fs.Vfs;
import palimpsest.kernel.mm.PageAlloc;
import palimpsest.kernel.mm.PageTable;
import palimpsest.kernel.mm.Slab;
import palimpsest.kernel.mm.Vm;
import palimpsest.kernel.module.Modules;
import palimpsest.kernel.patches.Patch;
import palimpsest.kernel.patches.Patches;
import palimpsest.kernel.power.Freezer;
import palimpsest.kernel.power.Pm;
import palimpsest.kernel.sched.PerCpu;
import palimpsest.kernel.sched.Sched;
import palimpsest.kernel.time.Timers;
import palimpsest.kernel.user.Futex;
import palimpsest.kernel.user.Loader;
import palimpsest.kernel.user.Syscalls;
import palimpsest.kernel.user.UserProgram;

/**
 * The kernel image: its code (the subsystems below, Java objects holding code and constants
 * only) and the boot loader that puts it into a machine. Every piece of kernel state lives in the
 * machine's memory; see the README.
 *
 * <p>Use {@link #install(Machine, KernelConfig)} before {@link Machine#run}.
 */
public final class Kernel
{
    public static final String RELEASE = "2.6.25-palimpsest";

    public final Machine machine;
    public final KernelConfig config;
    public final Patches patches;
    public final Text text;

    public final Spinlock spin;
    public final Printk printk;
    public final Oops oops;
    public final PageAlloc pages;
    public final Slab slab;
    public final PageTable pt;
    public final Traps traps;
    public final Smp smp;
    public final Sched sched;
    public final palimpsest.kernel.sched.Workqueue wq;
    public final Vm vm;
    public final Vfs vfs;
    public final Timers timers;
    public final Modules modules;
    public final Alternatives alternatives;
    public final Futex futex;
    public final Loader loader;
    /** Character devices for driver modules (register_chrdev, the /dev node, fops dispatch). */
    public final palimpsest.kernel.module.CharDevs chrdevs;
    /** Device interrupts for driver modules (request_irq/free_irq, do_IRQ). */
    public final palimpsest.kernel.arch.Irqs irqs;
    public final Syscalls sys;
    public final Hotplug hotplug;
    public final Freezer freezer;
    public final Pm pm;
    public final Boot boot;
    /** JOS's pieces (trap() checks, env_setup_vm, exception stacks) when a jos-* patch is applied, else null. */
    public final palimpsest.kernel.jos.Jos jos;
    /** Akaros's pieces (perfmon profiler, proc_yield, smp_idle) when an akaros-* patch is applied, else null. */
    public final palimpsest.kernel.akaros.Akaros akaros;
    /** JOS: external interrupts are never enabled in kernel code except by the idle loop's sti; hlt. */
    public final boolean irqsOffInKernel;
    /** LegoOS pieces (ibapi, pcache, memory-component manager) on a multi-node machine; null on one node. */
    public final palimpsest.kernel.lego.Lego lego;

    /** The one bridge from memory to Java: task_struct.fiber_id -> the fiber running that task. */
    private final Map<Long, Fiber> fibers = new HashMap<>();
    private final Fn memblockFn;
    private final Fn callIndirectFn;

    private Kernel(final Machine machine, final KernelConfig config)
    {
        if (machine.config().nodes != 1 && config.lego == null)
        {
            throw new IllegalArgumentException("this scenario's kernel runs on one node, got " + machine.config().nodes +
                " (the lego-* scenarios run one kernel per node)");
        }
        this.machine = machine;
        this.config = config;
        this.patches = config.patches;
        this.irqsOffInKernel = patches.enabled("jos-kernel-irqs-off");
        this.text = new Text(machine.code());
        this.spin = new Spinlock(this);
        this.printk = new Printk(this);
        this.oops = new Oops(this);
        this.memblockFn = text.fn("memblock_alloc", 0x40);
        this.callIndirectFn = text.fn("__x86_indirect_thunk", 0x20);
        this.pages = new PageAlloc(this);
        this.slab = new Slab(this);
        this.pt = new PageTable(this);
        this.traps = new Traps(this);
        this.smp = new Smp(this);
        this.sched = new Sched(this);
        this.vm = new Vm(this);
        this.vfs = new Vfs(this);
        this.timers = new Timers(this);
        this.modules = new Modules(this);
        this.alternatives = new Alternatives(this);
        this.futex = new Futex(this);
        this.loader = new Loader(this);
        this.chrdevs = new palimpsest.kernel.module.CharDevs(this);
        this.irqs = new palimpsest.kernel.arch.Irqs(this);
        this.sys = new Syscalls(this);
        this.wq = new palimpsest.kernel.sched.Workqueue(this);
        this.hotplug = new Hotplug(this);
        this.freezer = new Freezer(this);
        this.pm = new Pm(this);
        this.boot = new Boot(this);
        // Per-system pieces last, and only when configured: their functions come after every
        // shared one, so the text of the other configurations does not move.
        this.jos = palimpsest.kernel.jos.Jos.configured(patches) ? new palimpsest.kernel.jos.Jos(this) : null;
        this.akaros = palimpsest.kernel.akaros.Akaros.configured(patches) ? new palimpsest.kernel.akaros.Akaros(this) : null;
        // Modules first, so that a patch's install may replace one (a patch changing a driver).
        config.modules.forEach(modules::register);
        for (final Patch p : patches.applied())
        {
            p.install(this);
        }
        for (final java.util.function.Consumer<Kernel> b : config.builders)
        {
            b.accept(this);
        }
        // Registered last: a single-node image keeps every address it had before LegoOS existed.
        this.lego = config.lego == null ? null : new palimpsest.kernel.lego.Lego(this, config.lego);
        boot.finishImage();
    }

    /** Builds the kernel image for config, loads it (and the initrd) into machine and sets the boot entry. */
    public static Kernel install(final Machine machine, final KernelConfig config)
    {
        final Kernel k = new Kernel(machine, config);
        for (final UserProgram p : config.programs)
        {
            config.file(p.path(), p.link(machine.code()));
        }
        if (k.lego == null)
        {
            final PhysicalMemory mem = machine.memory(0);
            k.text.load(mem);
            k.boot.load(mem);
            machine.setBootEntry(0, k.boot.entry());
            return k;
        }
        // One kernel image per node, each in its own memory: the same text, its own boot_params
        // (role, node id; the initrd with the files only on memory nodes, which own them).
        for (int n = 0; n < machine.config().nodes; n++)
        {
            final PhysicalMemory mem = machine.memory(n);
            k.text.load(mem);
            k.boot.load(mem, n, k.lego.role(n));
            machine.setBootEntry(n, k.boot.entry());
        }
        machine.powerOffPerNode();
        return k;
    }

    // ------------------------------------------------------------------ helpers shared by the subsystems

    /** This cpu's per-cpu area (__per_cpu_offset[smp_processor_id()]). */
    public long thisCpu(final Cpu cpu)
    {
        return cpu.load64(Globals.PER_CPU_OFFSET + cpu.apicId() * 8L);
    }

    public long perCpu(final Cpu cpu, final int id)
    {
        return cpu.load64(Globals.PER_CPU_OFFSET + id * 8L);
    }

    public long current(final Cpu cpu)
    {
        return cpu.load64(thisCpu(cpu) + PerCpu.CURRENT);
    }

    /** memblock: boot-time bump allocation of physical pages (zeroed). */
    public long memblockAllocPhys(final Cpu cpu, final int pages, final boolean early)
    {
        return memblockAllocPhys(cpu, pages, early, true);
    }

    public long memblockAllocPhys(final Cpu cpu, final int pages, final boolean early, final boolean zero)
    {
        memblockFn.enter(cpu);
        final long cur = early ? Globals.phys(Globals.MEMBLOCK_CUR) : Globals.MEMBLOCK_CUR;
        final long pa = cpu.load64(cur);
        cpu.store64(cur, pa + pages * Layout.PAGE_SIZE);
        if (zero)
        {
            final long base = early ? pa : Layout.va(pa);
            for (long i = 0; i < pages * Layout.PAGE_SIZE; i += 8)
            {
                cpu.store64(base + i, 0);
            }
        }
        return memblockFn.leave(cpu, pa);
    }

    /**
     * An indirect call through a function pointer loaded from memory: fetches the target (so an
     * unmapped pointer faults), then runs the routine registered there with a return address pushed.
     * Arguments and the result travel in registers (rdi, rsi, rdx / rax). A pointer to something
     * that is not code is an invalid opcode.
     */
    public long callIndirect(final Cpu cpu, final long target, final long a0, final long a1, final long a2)
    {
        callIndirectFn.enter(cpu);
        cpu.load8(target);
        final Routine r = machine.code().routineAt(target);
        if (r == null)
        {
            oops.bug(cpu, "BUG: indirect call to " + Long.toHexString(target) + " which is not a function entry");
        }
        cpu.setReg(Syscalls.RDI, a0);
        cpu.setReg(Syscalls.RSI, a1);
        cpu.setReg(Syscalls.RDX, a2);
        cpu.call(target);
        r.run(cpu);
        return callIndirectFn.leave(cpu, cpu.reg(Syscalls.RAX));
    }

    // ------------------------------------------------------------------ fibers

    public Fiber newFiber(final String name, final Routine entry)
    {
        final Fiber f = machine.newFiber(name, entry);
        fibers.put(f.id(), f);
        return f;
    }

    public void registerFiber(final Fiber f)
    {
        fibers.put(f.id(), f);
    }

    public Fiber fiber(final long id)
    {
        return fibers.get(id);
    }

    public void forgetFiber(final long id)
    {
        fibers.remove(id);
    }

    /** The symbol of a text address, System.map style. */
    public String symbolize(final long pc)
    {
        return machine.symbolizeOrHex(pc);
    }
}
