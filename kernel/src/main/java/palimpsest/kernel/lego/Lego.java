package palimpsest.kernel.lego;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.sched.Task;

/**
 * LegoOS on the emulated cluster: one kernel image per node, node 0 the processor component (user
 * threads, page tables, the {@link Pcache}), nodes 1..K memory components ({@link McManager}: the
 * address spaces, vmas, pages and files), talking only through their NICs with {@link Ibapi}.
 * The role is in boot_params and, once booted, in {@link Globals#LEGO_ROLE}; kernel code asks
 * {@link #isProcessor}/{@link #isMemory}, which read it from this node's memory.
 */
public final class Lego
{
    public static final long ROLE_PROCESSOR = 1;
    public static final long ROLE_MEMORY = 2;
    /** The stack frame {@link #replyBuf} takes for a reply under SLOB. */
    private static final long REPLY_FRAME = 32;

    public final LegoConfig config;
    public final Ibapi ibapi;
    public final Pcache pcache;
    public final McManager mc;
    public final LegoSys sys;
    /** kmalloc's SLOB (patch lego-slob, issue 14 bug 4), or null: the slab's kmalloc caches. */
    public final palimpsest.kernel.mm.Slob slob;
    private final Kernel k;
    private final Fn powerOffFn;
    private final Fn idleFn;

    public Lego(final Kernel k, final LegoConfig config)
    {
        if (k.machine.config().nodes != config.nodes())
        {
            throw new IllegalArgumentException("LegoOS with " + config.memoryNodes + " memory node(s) needs --nodes " +
                config.nodes() + " (1 processor + " + config.memoryNodes + " memory), got " + k.machine.config().nodes);
        }
        this.k = k;
        this.config = config;
        this.ibapi = new Ibapi(k, this);
        this.pcache = new Pcache(k, this);
        this.mc = new McManager(k, this);
        this.sys = new LegoSys(k, this);
        this.powerOffFn = k.text.fn("lego_power_off", 0x80);
        this.idleFn = k.text.fn("memory_component_idle", 0x40);
        // Last, and only when configured: the other LegoOS tags keep every address.
        this.slob = k.patches.enabled("lego-slob") ? new palimpsest.kernel.mm.Slob(k) : null;
    }

    public long role(final int node)
    {
        return node == 0 ? ROLE_PROCESSOR : ROLE_MEMORY;
    }

    public boolean isProcessor(final Cpu cpu)
    {
        return cpu.load64(Globals.LEGO_ROLE) == ROLE_PROCESSOR;
    }

    public boolean isMemory(final Cpu cpu)
    {
        return cpu.load64(Globals.LEGO_ROLE) == ROLE_MEMORY;
    }

    /** The memory component that holds a process (its home node). */
    int home(final Cpu cpu, final long tgid)
    {
        return 1 + (int)(tgid % cpu.load64(Globals.LEGO_NR_MEMORY));
    }

    /** start_kernel, before mem_init: the role into kernel data; the processor reserves its pcache. */
    public void earlyInit(final Cpu cpu, final long bpRole, final long bpNode)
    {
        cpu.store64(Globals.LEGO_ROLE, cpu.load64(bpRole));
        cpu.store64(Globals.LEGO_NODE, cpu.load64(bpNode));
        cpu.store64(Globals.LEGO_NR_MEMORY, config.memoryNodes);
        k.printk.printk(cpu, "LegoOS: node " + cpu.load64(bpNode) + " is a " + (isProcessor(cpu) ? "processor" : "memory") +
            " component");
        if (isProcessor(cpu))
        {
            pcache.reserve(cpu, config.pcacheKiB, config.pcacheWays);
        }
    }

    /** start_kernel, once slab and the IDT exist: the transport, and the manager's tables on a memory node. */
    public void init(final Cpu cpu)
    {
        ibapi.init(cpu);
        if (isMemory(cpu))
        {
            mc.init(cpu);
        }
    }

    /** kernel_init: a processor starts kvictim_flushd and goes on to exec init; a memory node serves for ever. */
    public void kernelInit(final Cpu cpu)
    {
        if (isProcessor(cpu))
        {
            pcache.startFlushd(cpu);
            pcache.startSweepd(cpu);
            k.printk.printk(cpu, "Processor: Processor manager is running.");
            return;
        }
        mc.start(cpu);
        idleFn.enter(cpu);
        while (true)
        {
            cpu.store64(k.current(cpu) + Task.STATE, Task.INTERRUPTIBLE);
            k.sched.schedule(cpu);
        }
    }

    /**
     * The processor's power-off: every memory component is told to power off (a few tries: a
     * dropped frame is sent again), then this node powers off. Never returns.
     */
    public void powerOff(final Cpu cpu)
    {
        powerOffFn.enter(cpu);
        final long ib = ibapi.base(cpu);
        final long pc = pcache.base(cpu);
        k.printk.printk(cpu, "ibapi: " + cpu.load64(ib + Ibapi.SENT) + " sent, " + cpu.load64(ib + Ibapi.RECEIVED) + " received, " +
            cpu.load64(ib + Ibapi.RETRANSMITS) + " retransmits, " + cpu.load64(ib + Ibapi.DUPLICATES) + " duplicates; pcache: " +
            cpu.load64(pc + Pcache.C_FILLS) + " fills, " + cpu.load64(pc + Pcache.C_EVICTIONS) + " evictions, " +
            cpu.load64(pc + Pcache.C_WRITEBACKS) + " writebacks, " + cpu.load64(pc + Pcache.C_VICTIM_HITS) + " victim hits" +
            (config.pageCsum ? ", " + cpu.load64(pc + Pcache.C_CSUM_ERRORS) + " checksum errors" : ""));
        final long reply = replyBuf(cpu);
        for (int m = 1; m <= config.memoryNodes; m++)
        {
            final long st = ibapi.call(cpu, m, McManager.OP_POWEROFF, 0, 0, 0, 0, 0, 0, reply, 0, 0, 8);
            if (st != 0)
            {
                k.printk.printk(cpu, "lego: memory component " + m + " did not answer the power-off (" + st + ")");
            }
        }
        cpu.out(Machine.POWER_PORT, 0);
        haltForever(cpu);
    }

    /**
     * The 32-byte buffer an RPC's reply lands in. With SLOB (patch lego-slob) it is a local on the
     * kernel stack, as LegoOS passes net_send_reply_timeout a local (its miss, flush and syscall
     * replies are never kmalloc'ed): under SLOB every kmalloc is one of LegoOS's own, so that what
     * shares a SLOB page with what is LegoOS's mix (issue 14, bug 4). Otherwise it is kmalloc'ed.
     * Give it back with {@link #replyDone} before the function returns.
     */
    long replyBuf(final Cpu cpu)
    {
        if (slob == null)
        {
            return k.slab.kmalloc(cpu, 32);
        }
        final long reply = cpu.sp() - REPLY_FRAME;
        cpu.setSp(reply);
        return reply;
    }

    /** Gives back {@link #replyBuf}'s buffer: pops the stack frame, or kfree()s it. */
    void replyDone(final Cpu cpu, final long reply)
    {
        if (slob == null)
        {
            k.slab.kfree(cpu, reply);
            return;
        }
        cpu.setSp(reply + REPLY_FRAME);
    }

    /** A powered-off node's last instructions (its cores are offline; nothing wakes them). */
    static void haltForever(final Cpu cpu)
    {
        while (true)
        {
            cpu.cli();
            cpu.hlt();
        }
    }

    /** One step of the page checksum (rotate and xor of 64-bit words). */
    static long csumStep(final long c, final long v)
    {
        return Long.rotateLeft(c, 1) ^ v;
    }

    /** The 32-bit checksum printed. */
    static long fold(final long c)
    {
        return (c ^ (c >>> 32)) & 0xffffffffL;
    }
}
