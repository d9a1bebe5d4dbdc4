package palimpsest.kernel.arch;

import java.nio.charset.StandardCharsets;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Paging;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Once;
import palimpsest.kernel.mm.Page;
import palimpsest.kernel.mm.PageAlloc;
import palimpsest.kernel.mm.PageTable;
import palimpsest.kernel.sched.PerCpu;
import palimpsest.kernel.user.Syscalls;

/**
 * Boot: the boot loader's part (image, boot_params and initrd into RAM), the boot cpu's path
 * (startup_64 without paging: build the kernel page tables; start_kernel: per-cpu areas, mem_map
 * and buddy, slab, IDT, scheduler, VFS, hotplug states, then the APs through cpu_up), the APs' path
 * (SIPI trampoline at 0x8000, start_secondary; also after a cpu_up of a cpu that was taken down)
 * and the idle loop (which takes its cpu down when asked: {@link Hotplug}).
 *
 * <pre>
 * boot_params (phys 0x7000)              trampoline data (phys 0x9000)
 *   +0  magic 'PALK'                       +0  pgd (phys)
 *   +8  nr_cpus                            +8  stack top
 *   +16 memory bytes                       +16 idle task
 *   +24 initrd phys  +32 initrd size       +24 cpu
 *   +40 idle ticks   +48 timer period
 *   +56 flags: bit 0 = ACPI S3 (suspend to RAM) wired up: start kpowerd
 *   +64 command line (init path), 192 bytes
 * </pre>
 */
public final class Boot
{
    public static final long BOOT_MAGIC = 0x4b4c4150L;
    static final long BP_MAGIC = 0;
    static final long BP_NR_CPUS = 8;
    static final long BP_MEM = 16;
    static final long BP_INITRD = 24;
    static final long BP_INITRD_SIZE = 32;
    static final long BP_IDLE_TICKS = 40;
    public static final long BP_TIMER = 48;
    static final long BP_CMDLINE = 64;
    /** LegoOS nodes: role (1 processor, 2 memory) and node id; zero on a single-node machine. */
    public static final long BP_ROLE = 256;
    public static final long BP_NODE = 264;
    public static final long BP_FLAGS = 56;
    public static final long BP_FLAG_S3 = 1;

    private final Kernel k;
    private final Fn startup64;
    private final Fn startKernel;
    private final Fn setupPerCpu;
    private final Fn memInit;
    private final Fn smpInit;
    private final Fn startSecondary;
    private final Fn cpuIdle;
    private final Fn kernelInit;
    private final Fn restInit;
    private long initrdPhys;

    public Boot(final Kernel k)
    {
        this.k = k;
        this.startup64 = k.text.fn("startup_64", 0x400, this::startup64Body);
        this.startKernel = k.text.fn("start_kernel", 0x200);
        this.setupPerCpu = k.text.fn("setup_per_cpu_areas", 0x80);
        this.memInit = k.text.fn("mem_init", 0x80);
        this.smpInit = k.text.fn("smp_init", 0x80);
        this.startSecondary = k.text.fn("start_secondary", 0x100);
        // JOS calls its idle loop sched_halt (same code, same place in the text).
        this.cpuIdle = k.text.fn(k.irqsOffInKernel ? "sched_halt" : "smp_idle", 0x40);
        this.kernelInit = k.text.fn("kernel_init", 0x100, this::kernelInitBody);
        this.restInit = k.text.fn("rest_init", 0x40);
        k.machine.code().define("trampoline_start", Layout.TRAMPOLINE_PHYS, Layout.PAGE_SIZE, this::trampolineBody);
    }

    /** The idle loop's function (smp_idle; sched_halt in the JOS configuration). */
    public Fn idleFn()
    {
        return cpuIdle;
    }

    public long entry()
    {
        return startup64.addr;
    }

    /** Called when every kernel function is defined. */
    public void finishImage()
    {
    }

    // ------------------------------------------------------------------ the boot loader

    /** Writes boot_params, the initrd and the image's initialized data. Raw writes: this is the loader. */
    public void load(final PhysicalMemory mem)
    {
        load(mem, cfg().files, cfg().init);
    }

    /**
     * A LegoOS node's boot loader: role and node id in boot_params (+256, +264); memory nodes get
     * the initrd and no init program, the processor node the init program and an empty initrd.
     */
    public void load(final PhysicalMemory mem, final int node, final long role)
    {
        final boolean memory = role == palimpsest.kernel.lego.Lego.ROLE_MEMORY;
        load(mem, memory ? cfg().files : java.util.List.of(), memory ? null : cfg().init);
        mem.write64(Layout.BOOT_PARAMS_PHYS + BP_ROLE, role);
        mem.write64(Layout.BOOT_PARAMS_PHYS + BP_NODE, node);
    }

    private KernelConfig cfg()
    {
        return k.config;
    }

    private void load(final PhysicalMemory mem, final java.util.List<KernelConfig.InitrdFile> files, final String init)
    {
        final KernelConfig cfg = k.config;
        final byte[] initrd = Initrd.pack(files);
        // mem=: the boot loader reports no more RAM than the command line allows (Linux's mem=).
        final long memBytes = cfg.memLimit > 0 ? Math.min(mem.size(), cfg.memLimit & ~(Layout.PAGE_SIZE - 1)) : mem.size();
        initrdPhys = (memBytes - initrd.length) & ~(Layout.PAGE_SIZE - 1);
        mem.copyIn(initrdPhys, initrd, 0, initrd.length);
        final long bp = Layout.BOOT_PARAMS_PHYS;
        mem.write64(bp + BP_MAGIC, BOOT_MAGIC);
        mem.write64(bp + BP_NR_CPUS, k.machine.config().cpusPerNode);
        mem.write64(bp + BP_MEM, memBytes);
        mem.write64(bp + BP_INITRD, initrdPhys);
        mem.write64(bp + BP_INITRD_SIZE, initrd.length);
        mem.write64(bp + BP_IDLE_TICKS, cfg.idleTicks);
        mem.write64(bp + BP_TIMER, cfg.timerPeriod);
        final byte[] cmd = (init == null ? "" : init).getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < Math.min(cmd.length, 190); i++)
        {
            mem.write8(bp + BP_CMDLINE + i, cmd[i]);
        }
        // .smp_locks: the LOCK-prefix sites of the text (alternatives table).
        mem.write64(Globals.phys(Globals.SMP_LOCKS_COUNT), k.text.lockSites().size());
        for (int i = 0; i < k.text.lockSites().size(); i++)
        {
            mem.write64(Globals.phys(Globals.SMP_LOCKS) + i * 8L, k.text.lockSites().get(i));
        }
        // Static const data: ramfs file_operations and the generic vm_operations.
        mem.write64(Globals.phys(Globals.RAMFS_FOPS), k.vfs.readFn().addr);
        mem.write64(Globals.phys(Globals.GENERIC_VM_OPS), k.vm.filemapFault().addr);
        mem.write64(Globals.phys(Globals.MEMBLOCK_CUR), Layout.MEMBLOCK_PHYS);
        k.hotplug.loadTable(mem);
    }

    // ------------------------------------------------------------------ boot cpu, no paging yet

    /** head_64: runs with paging off, addresses are physical. Builds swapper_pg_dir and jumps to start_kernel. */
    private void startup64Body(final Cpu cpu)
    {
        cpu.pc(startup64.addr);
        cpu.setSp(Globals.phys(Globals.INIT_STACK_TOP));
        cpu.setFp(0);
        final long memBytes = cpu.load64(Layout.BOOT_PARAMS_PHYS + BP_MEM);
        if (cpu.load64(Layout.BOOT_PARAMS_PHYS + BP_MAGIC) != BOOT_MAGIC)
        {
            cpu.out(0x604, 3);
        }
        final long maxPfn = memBytes >>> Layout.PAGE_SHIFT;
        final long pgd = k.memblockAllocPhys(cpu, 1, true);
        startup64.at(cpu, 0x40);
        // Direct map of all RAM.
        for (long pa = 0; pa < memBytes; pa += Layout.PAGE_SIZE)
        {
            final long pte = k.pt.pte(cpu, pgd, Layout.PAGE_OFFSET + pa, 0, true, false);
            cpu.store64(pte, pa | PageTable.PAGE_KERNEL);
        }
        startup64.at(cpu, 0x80);
        // Kernel text (writable until mark_rodata_ro, executable) and data (read-write, not executable).
        for (long off = 0; off < k.text.end() - Layout.KERNEL_TEXT; off += Layout.PAGE_SIZE)
        {
            final long pte = k.pt.pte(cpu, pgd, Layout.KERNEL_TEXT + off, 0, true, false);
            cpu.store64(pte, (Layout.TEXT_PHYS + off) | Alternatives.bootTextFlags());
        }
        for (long off = 0; off < Globals.END - Layout.KERNEL_DATA; off += Layout.PAGE_SIZE)
        {
            final long pte = k.pt.pte(cpu, pgd, Layout.KERNEL_DATA + off, 0, true, false);
            cpu.store64(pte, (Layout.DATA_PHYS + off) | PageTable.PAGE_KERNEL);
        }
        startup64.at(cpu, 0xc0);
        // vmemmap: the struct page array, on memblock pages (memmap_init writes every entry).
        final long memmapPages = (maxPfn * Page.SIZE + Layout.PAGE_SIZE - 1) / Layout.PAGE_SIZE;
        final long memmapPhys = k.memblockAllocPhys(cpu, (int)memmapPages, true, false);
        for (long i = 0; i < memmapPages; i++)
        {
            final long pte = k.pt.pte(cpu, pgd, Layout.VMEMMAP_START + i * Layout.PAGE_SIZE, 0, true, false);
            cpu.store64(pte, (memmapPhys + i * Layout.PAGE_SIZE) | PageTable.PAGE_KERNEL);
        }
        // Page-table pages for the vmalloc and module areas, so every pgd that copies the kernel
        // half of swapper_pg_dir sees later vmalloc/module mappings.
        k.pt.pte(cpu, pgd, Layout.VMALLOC_START, 0, true, false);
        k.pt.pte(cpu, pgd, Layout.MODULES_VADDR, 0, true, false);
        cpu.store64(Globals.phys(Globals.SWAPPER_PGD), pgd);
        cpu.store64(Globals.phys(Globals.TOTAL_RAM), memBytes);
        startup64.at(cpu, 0x100);
        cpu.writeCr3(pgd);
        cpu.setSp(Globals.INIT_STACK_TOP);
        cpu.setFp(0);
        startKernelBody(cpu, maxPfn);
    }

    // ------------------------------------------------------------------ start_kernel

    private void startKernelBody(final Cpu cpu, final long maxPfn)
    {
        startKernel.enter(cpu);
        final long bp = Layout.va(Layout.BOOT_PARAMS_PHYS);
        final int nr = (int)Math.min(cpu.load64(bp + BP_NR_CPUS), Globals.MAX_CPUS);
        cpu.store64(Globals.NR_CPUS, nr);
        cpu.store64(Globals.CPU_POSSIBLE_MASK, nr >= 64 ? -1L : (1L << nr) - 1);
        setupPerCpuAreas(cpu, nr);
        // The banner names no version tag and no patch list (the trace header records both): runs of
        // different kernels of the series then stay event-for-event comparable up to their first
        // difference in behaviour, which is what what-if replay, pal diff and bisect look for.
        k.printk.printk(cpu, "Linux version " + Kernel.RELEASE + " #1 SMP");
        final StringBuilder cmd = new StringBuilder();
        for (int i = 0; i < 190; i++)
        {
            final long c = cpu.load8(bp + BP_CMDLINE + i);
            if (c == 0)
            {
                break;
            }
            cmd.append((char)c);
            cpu.store8(Globals.CMDLINE + i, c);
        }
        k.printk.printk(cpu, "Command line: " + (cmd.length() == 0 ? "" : "init=" + cmd) +
            (k.config.memLimit > 0 ? " mem=" + k.config.memLimit / 1024 + "k" : ""));
        if (k.lego != null)
        {
            k.lego.earlyInit(cpu, bp + BP_ROLE, bp + BP_NODE);
        }
        memInitBody(cpu, maxPfn, bp);
        k.slab.init(cpu);
        k.traps.init(cpu);
        cpu.lidt(Globals.IDT);
        k.sched.initBoot(cpu);
        k.timers.init(cpu);
        k.modules.init(cpu);
        k.vfs.init(cpu, Layout.va(cpu.load64(bp + BP_INITRD)), cpu.load64(bp + BP_INITRD_SIZE));
        k.alternatives.init(cpu, nr);
        if (k.lego != null)
        {
            k.lego.init(cpu);
        }
        if (k.jos != null)
        {
            k.jos.env.init(cpu);
        }
        startKernel.at(cpu, 0x80);
        k.hotplug.bootCpuOnline(cpu);
        // alternative_instructions(): one cpu online, so the kernel starts with UP code; the first
        // AP's cpu_up switches back to SMP (2.6.25 does the same).
        k.alternatives.smpSwitch(cpu, false);
        smpInitBody(cpu, nr);
        k.printk.printk(cpu, "Brought up " + Long.bitCount(cpu.load64(Globals.CPU_ONLINE_MASK)) + " CPUs");
        restInit.enter(cpu);
        k.sched.kernelThread(cpu, "init", kernelInit.addr, cpu.load64(bp + BP_IDLE_TICKS), true);
        if ((cpu.load64(bp + BP_FLAGS) & BP_FLAG_S3) != 0)
        {
            k.pm.startDaemon(cpu);
        }
        restInit.leave(cpu);
        startKernel.at(cpu, 0x100);
        cpuIdleBody(cpu);
    }

    private void setupPerCpuAreas(final Cpu cpu, final int nr)
    {
        setupPerCpu.enter(cpu);
        for (int c = 0; c < nr; c++)
        {
            final long area = Layout.va(k.memblockAllocPhys(cpu, 1, false));
            cpu.store64(Globals.PER_CPU_OFFSET + c * 8L, area);
            cpu.store64(area + PerCpu.CPU, c);
            // Hotplug handshake words: the controller and the cpu itself hand them back and forth.
            Once.racy(cpu, area + PerCpu.CPU_STATE, 8);
            Once.racy(cpu, area + PerCpu.CPUHP_STATE, 8);
        }
        // Handshake variables, polled by one side, set by the other, never under a lock (jiffies is volatile).
        Once.racy(cpu, Globals.JIFFIES, 8);
        Once.racy(cpu, Globals.AP_ONLINE_ACK, 8);
        Once.racy(cpu, Globals.PM_FREEZING, 8);
        setupPerCpu.leave(cpu);
    }

    private void memInitBody(final Cpu cpu, final long maxPfn, final long bp)
    {
        memInit.enter(cpu);
        k.pages.memmapInit(cpu, maxPfn);
        final long memblockEnd = cpu.load64(Globals.MEMBLOCK_CUR);
        // No more memblock allocations from here on.
        cpu.store64(Globals.MEMBLOCK_CUR, -1L);
        final long initrd = cpu.load64(bp + BP_INITRD);
        cpu.store64(Globals.INITRD_START, initrd);
        cpu.store64(Globals.INITRD_SIZE, cpu.load64(bp + BP_INITRD_SIZE));
        k.pages.freeRange(cpu, 0x100, Layout.TEXT_PHYS >>> Layout.PAGE_SHIFT);
        k.pages.freeRange(cpu, memblockEnd >>> Layout.PAGE_SHIFT, initrd >>> Layout.PAGE_SHIFT);
        cpu.store64(Globals.VMALLOC_NEXT, Layout.VMALLOC_START);
        cpu.store64(Globals.MODULES_NEXT, Layout.MODULES_VADDR);
        final long free = k.pages.nrFreePages(cpu);
        k.printk.printk(cpu, "Memory: " + free * 4 + "k/" + maxPfn * 4 + "k available (" +
            (k.text.end() - Layout.KERNEL_TEXT) / 1024 + "k kernel code, " + (Globals.END - Layout.KERNEL_DATA) / 1024 +
            "k data, " + (memblockEnd - Layout.MEMBLOCK_PHYS) / 1024 + "k memblock)");
        memInit.leave(cpu);
    }

    // ------------------------------------------------------------------ APs

    /** JOS/MP-spec style: each AP through cpu_up (INIT, a delay, SIPI to the trampoline page), one by one. */
    private void smpInitBody(final Cpu cpu, final int nr)
    {
        smpInit.enter(cpu);
        for (int id = 1; id < nr; id++)
        {
            k.hotplug.cpuUp(cpu, id);
        }
        smpInit.leave(cpu);
    }

    /** The SIPI trampoline at 0x8000: paging off; loads swapper_pg_dir and the idle stack. */
    private void trampolineBody(final Cpu cpu)
    {
        cpu.pc(Layout.TRAMPOLINE_PHYS);
        final long pgd = cpu.load64(Layout.TRAMPOLINE_DATA_PHYS);
        final long sp = cpu.load64(Layout.TRAMPOLINE_DATA_PHYS + 8);
        cpu.pc(Layout.TRAMPOLINE_PHYS + 0x20);
        cpu.writeCr3(pgd);
        cpu.setSp(sp);
        cpu.setFp(0);
        startSecondaryBody(cpu);
    }

    private void startSecondaryBody(final Cpu cpu)
    {
        cpu.pc(startSecondary.addr);
        cpu.lidt(Globals.IDT);
        final long idle = cpu.load64(Layout.va(Layout.TRAMPOLINE_DATA_PHYS) + 16);
        k.sched.becomeIdle(cpu, idle);
        startSecondary.at(cpu, 0x40);
        k.hotplug.apOnline(cpu);
        cpuIdleBody(cpu);
    }

    // ------------------------------------------------------------------ idle

    /**
     * smp_idle: reset the stack to its top and zero the frame pointer (nothing below the idle loop
     * may be unwound into), then halt with interrupts on until there is work.
     */
    private void cpuIdleBody(final Cpu cpu)
    {
        final long pcpu = k.thisCpu(cpu);
        final long top = cpu.load64(pcpu + PerCpu.IDLE_STACK_TOP);
        while (true)
        {
            cpu.pc(cpuIdle.addr);
            cpu.setSp(top);
            cpu.setFp(0);
            cpu.pc(cpuIdle.addr + 0x10);
            cpu.cli();
            if (k.hotplug.dying(cpu))
            {
                k.hotplug.takeCpuDown(cpu);
            }
            if (Once.read64(cpu, pcpu + PerCpu.NEED_RESCHED) != 0 || Once.read64(cpu, pcpu + PerCpu.RQ_NR) != 0)
            {
                cpu.pc(cpuIdle.addr + 0x18);
                k.sched.schedule(cpu);
                continue;
            }
            if (k.jos != null && k.patches.enabled("jos-sched-halt-count"))
            {
                k.jos.trap.markHalted(cpu);
            }
            cpu.pc(cpuIdle.addr + 0x20);
            cpu.sti();
            cpu.hlt();
        }
    }

    // ------------------------------------------------------------------ pid 1

    /** kernel_init: runs the init program from the command line, or idles a while and powers off. */
    private void kernelInitBody(final Cpu cpu)
    {
        kernelInit.prologue(cpu);
        final long idleTicks = cpu.reg(Syscalls.RDI);
        k.alternatives.markRodataRo(cpu, (int)cpu.load64(Globals.NR_CPUS));
        // LegoOS's kernel_init hands over to its own processor/memory init path (patch
        // lego-kernel-init), which lost this call until lego-init-cpus-allowed (the diary's 02/19).
        final boolean legoInit = k.lego != null && k.patches.enabled("lego-kernel-init");
        if (legoInit ? k.patches.enabled("lego-init-cpus-allowed") : k.patches.enabled("init-cpus-allowed"))
        {
            // sched_init made init_task the boot cpu's idle task, bound to that cpu, and we were
            // forked from it: without this, init and everything it starts run on cpu 0 only.
            k.sched.setCpusAllowedPtr(cpu, k.current(cpu), cpu.load64(Globals.CPU_POSSIBLE_MASK));
        }
        if (k.lego != null)
        {
            // A memory component serves its processors from here on and never returns.
            k.lego.kernelInit(cpu);
        }
        if (k.config.kunit != null)
        {
            k.printk.printk(cpu, "KTAP version 1");
            k.config.kunit.accept(cpu, k);
            k.printk.printk(cpu, "ok 1 kunit");
            k.printk.printk(cpu, "reboot: Power down");
            cpu.out(0x604, 0);
        }
        if (cpu.load8(Globals.CMDLINE) != 0)
        {
            k.loader.kernelExecve(cpu, Globals.CMDLINE);
            k.printk.printk(cpu, "Failed to execute init");
            k.oops.panic(cpu, "No init found.");
        }
        final long until = cpu.rdtsc() + idleTicks;
        k.printk.printk(cpu, "init: no init program, idling");
        while (cpu.rdtsc() < until)
        {
            cpu.sti();
            cpu.hlt();
        }
        k.printk.printk(cpu, "reboot: Power down");
        cpu.out(0x604, 0);
    }

    public long initrdPhys()
    {
        return initrdPhys;
    }

    static long pteFlagsUser(final boolean write, final boolean exec)
    {
        return Paging.P | Paging.U | (write ? Paging.W : 0) | (exec ? 0 : Paging.NX);
    }

    static long pageOf(final long pfn)
    {
        return PageAlloc.pfnToPage(pfn);
    }
}
