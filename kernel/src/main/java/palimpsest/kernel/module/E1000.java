package palimpsest.kernel.module;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.time.Timers;
import palimpsest.kernel.user.Syscalls;

/**
 * {@code e1000}: a network-driver-like module. Its init allocates the adapter (kzalloc), a
 * descriptor ring (dma_alloc_coherent), registers the device with the PM core and starts the
 * watchdog timer; the watchdog (every {@link #WATCHDOG_TICKS} jiffies, a timer callback on cpu 0)
 * counts itself, transmits a frame and cleans the rx ring: statistics kept with inline atomics
 * ({@code lock xadd}) at LOCK-prefix sites in the module's own text, listed in its .smp_locks.
 *
 * <p>The text layout is fixed (like a given build of e1000.ko) and chosen so the LOCK sites sit at
 * page offsets 0x08d, 0x158, 0x17e and 0x206 -- see {@code TextPokeScribbleScenario} for what
 * lives at those offsets in the page that {@code virt_to_page()} wrongly names.
 *
 * <pre>
 * module text (offsets from module_core)         struct e1000_adapter (kmalloc-256, zeroed)
 *   0x000 e1000_probe           0x80               +0   dev.power.entry (list_head, on dpm_list)
 *   0x080 e1000_watchdog        0x80  lock @+0x0d  +16  watchdog_timer (struct timer_list, 40)
 *   0x100 e1000_xmit_frame      0x100 lock @+0x58  +56  tx_packets  +64 tx_bytes
 *                                     lock @+0x7e  +72  rx_packets  +80 watchdog_runs
 *   0x200 e1000_clean_rx_irq    0x80  lock @+0x06  +88  link_up     +96 tx_ring (dma page)
 *   0x280 e1000_remove          0x80
 *   0x300 e1000_init_module, 0x340 e1000_exit_module (added by the loader)
 * </pre>
 */
public final class E1000 extends Module
{
    public static final String NAME = "e1000";
    public static final long WATCHDOG_TICKS = 2;
    public static final int FRAME_BYTES = 1514;

    public static final int A_DEV = 0;
    public static final int A_TIMER = 16;
    public static final int A_TX_PACKETS = 56;
    public static final int A_TX_BYTES = 64;
    public static final int A_RX_PACKETS = 72;
    public static final int A_WATCHDOG_RUNS = 80;
    public static final int A_LINK_UP = 88;
    public static final int A_TX_RING = 96;
    public static final int ADAPTER_SIZE = 256;

    private Kernel k;
    private Fn probe;
    private Fn watchdog;
    private Fn xmit;
    private Fn clean;
    private Fn remove;
    private long watchdogSite;
    private long txPacketsSite;
    private long txBytesSite;
    private long rxSite;

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    protected void define(final Image img)
    {
        probe = img.fn("e1000_probe", 0x80);
        watchdog = img.fn("e1000_watchdog", 0x80, this::watchdogBody);
        xmit = img.fn("e1000_xmit_frame", 0x100);
        clean = img.fn("e1000_clean_rx_irq", 0x80);
        remove = img.fn("e1000_remove", 0x80);
        watchdogSite = img.lockSite(watchdog, 0x0d);
        txBytesSite = img.lockSite(xmit, 0x58);
        txPacketsSite = img.lockSite(xmit, 0x7e);
        rxSite = img.lockSite(clean, 0x06);
    }

    @Override
    protected long init(final Cpu cpu, final Kernel kernel, final long mod)
    {
        this.k = kernel;
        probe.enter(cpu);
        k.printk.printk(cpu, "Intel(R) PRO/1000 Network Driver - version 7.3.20-k2-NAPI");
        final long adapter = k.slab.kzalloc(cpu, ADAPTER_SIZE);
        final long ring = k.modules.drivers.dmaAllocCoherent(cpu);
        if (adapter == 0 || ring == 0)
        {
            return probe.leave(cpu, -12);
        }
        cpu.store64(adapter + A_TX_RING, ring);
        probe.at(cpu, 0x40);
        final long r = k.modules.drivers.devicePmAdd(cpu, adapter + A_DEV, "0000:00:19.0");
        if (r != 0)
        {
            return probe.leave(cpu, r);
        }
        cpu.store64(mod + Modules.M_PRIVATE, adapter);
        cpu.store64(adapter + A_LINK_UP, 1);
        Timers.setup(cpu, adapter + A_TIMER, watchdog.addr, adapter);
        k.timers.modTimer(cpu, adapter + A_TIMER, k.timers.jiffies(cpu) + WATCHDOG_TICKS);
        k.printk.printk(cpu, "eth0: (PCI Express:2.5Gb/s:Width x1) 00:16:76:aa:bb:cc");
        k.printk.printk(cpu, "e1000: eth0: e1000_watchdog: NIC Link is Up 1000 Mbps Full Duplex");
        return probe.leave(cpu, 0);
    }

    @Override
    protected void exit(final Cpu cpu, final Kernel kernel, final long mod)
    {
        remove.enter(cpu);
        final long adapter = cpu.load64(mod + Modules.M_PRIVATE);
        k.timers.delTimer(cpu, adapter + A_TIMER);
        k.modules.drivers.devicePmRemove(cpu, adapter + A_DEV);
        k.modules.drivers.dmaFreeCoherent(cpu, cpu.load64(adapter + A_TX_RING));
        k.slab.kfree(cpu, adapter);
        remove.leave(cpu);
    }

    /** The watchdog timer: counts itself, sends a frame, cleans rx, re-arms. Interrupts are off. */
    private void watchdogBody(final Cpu cpu)
    {
        watchdog.prologue(cpu);
        final long adapter = cpu.reg(Syscalls.RDI);
        cpu.xadd(watchdogSite, adapter + A_WATCHDOG_RUNS, 8, 1);
        if (cpu.load64(adapter + A_LINK_UP) != 0)
        {
            xmitFrame(cpu, adapter, FRAME_BYTES);
            cleanRx(cpu, adapter);
        }
        watchdog.at(cpu, 0x60);
        k.timers.modTimer(cpu, adapter + A_TIMER, k.timers.jiffies(cpu) + WATCHDOG_TICKS);
        watchdog.leave(cpu);
    }

    private void xmitFrame(final Cpu cpu, final long adapter, final int bytes)
    {
        xmit.enter(cpu);
        final long ring = cpu.load64(adapter + A_TX_RING);
        final long n = cpu.load64(adapter + A_TX_PACKETS);
        cpu.store64(ring + (n & 63) * 16, bytes);
        cpu.xadd(txBytesSite, adapter + A_TX_BYTES, 8, bytes);
        cpu.xadd(txPacketsSite, adapter + A_TX_PACKETS, 8, 1);
        xmit.leave(cpu);
    }

    private void cleanRx(final Cpu cpu, final long adapter)
    {
        clean.enter(cpu);
        cpu.xadd(rxSite, adapter + A_RX_PACKETS, 8, 1);
        clean.leave(cpu);
    }
}
