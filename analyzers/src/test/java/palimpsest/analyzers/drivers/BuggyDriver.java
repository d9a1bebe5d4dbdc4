package palimpsest.analyzers.drivers;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.net.Nic;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Uses;
import palimpsest.kernel.module.CharDevs;
import palimpsest.kernel.module.Module;
import palimpsest.kernel.module.Modules;
import palimpsest.kernel.user.Syscalls;

/**
 * A test plugin driver with the bugs drivers really have, each behind an ioctl, each with its
 * fixed form (ioctl arg bit 0, or ioctl 7 for 3): /dev/buggy (major 43) over the node's NIC, whose RX interrupt comes
 * through request_irq. Written with the driver API only, as a user's driver would be.
 *
 * <pre>
 * struct buggy_dev (kzalloc 64): +0 rx ring (a zeroed page: 4 descriptors)  +8 tx ring  +16 rx buffer
 *                                +24 rx frames  +32 fops  +40 tx buffer
 * struct buggy_req (kmalloc 64, kzalloc when fixed): +0 flags  +8 len  +16 data[32]
 * ioctl 1 arg: GET_INFO   copies req->data to the user, req->len bytes (len never set: uninit length)
 * ioctl 2 arg: CHECK      if (req->flags) ... (flags never set: uninit branch)
 * ioctl 3 ubuf: SET_NAME  buggy_set_name: copy_from_user of the user's 32 bytes into a 16-byte stack
 *                         buffer (stack-out-of-bounds over its saved FP and return address)
 * ioctl 4 arg: RX_RESET   frees the RX buffer while its descriptor still gives it to the NIC
 *                         (fixed: posts a new buffer first, then frees the old one)
 * ioctl 5:     PING       sends one frame to this node through the TX ring (the NIC DMAs it into the RX buffer)
 * ioctl 6:     RX_COUNT   frames the RX interrupt handler saw
 * ioctl 7 ubuf: SET_NAME bounded to the buffer (the fixed form of 3)
 * ioctl 8 arg: CONFIG     takes the device lock; its error path (always taken) returns without
 *                         unlocking, so the next CONFIG spins forever (fixed: unlocks)
 * </pre>
 */
public final class BuggyDriver extends Module
{
    public static final String NAME = "buggydrv";
    public static final int MAJOR = 43;
    public static final int VECTOR = 0x51;
    static final int D_RX_RING = 0;
    static final int D_TX_RING = 8;
    static final int D_RX_BUF = 16;
    static final int D_RX_FRAMES = 24;
    static final int D_FOPS = 32;
    static final int D_TX_BUF = 40;
    static final int D_LOCK = 48;
    static final int DEV_SIZE = 64;
    static final int R_FLAGS = 0;
    static final int R_LEN = 8;
    static final int R_DATA = 16;
    static final int REQ_SIZE = 64;
    static final int RX_BUF = 256;
    static final int RING = 4;
    static final int NAME_BUF = 16;

    private Kernel k;
    private long mod;
    private Fn initFn;
    private Fn ioctlFn;
    private Fn setNameFn;
    private Fn irqFn;
    private Fn exitFn;

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    protected void define(final Image img)
    {
        initFn = img.fn("buggy_init", 0x80);
        ioctlFn = img.fn("buggy_ioctl", 0x100, this::ioctl);
        setNameFn = img.fn("buggy_set_name", 0x60);
        irqFn = img.fn("buggy_rx_interrupt", 0x60, this::interrupt);
        exitFn = img.fn("buggy_exit", 0x80);
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
        final long fops = k.chrdevs.fops(cpu, 0, 0, 0, 0, ioctlFn.addr);
        cpu.store64(dev + D_FOPS, fops);
        long r = k.chrdevs.register(cpu, MAJOR, "buggy", fops);
        if (r == 0)
        {
            r = k.irqs.request(cpu, VECTOR, irqFn.addr, dev);
        }
        if (r != 0)
        {
            return initFn.leave(cpu, r);
        }
        final long rx = k.pages.getZeroedPage(cpu);
        final long tx = k.pages.getZeroedPage(cpu);
        cpu.store64(dev + D_RX_RING, rx);
        cpu.store64(dev + D_TX_RING, tx);
        cpu.store64(dev + D_TX_BUF, k.slab.kzalloc(cpu, RX_BUF));
        final long buf = k.slab.kmalloc(cpu, RX_BUF);
        cpu.store64(dev + D_RX_BUF, buf);
        post(cpu, rx, buf);
        cpu.out(Nic.TX_BASE, Layout.pa(tx));
        cpu.out(Nic.TX_SIZE, RING);
        cpu.out(Nic.RX_BASE, Layout.pa(rx));
        cpu.out(Nic.RX_SIZE, RING);
        cpu.out(Nic.RX_TAIL, 1);
        cpu.out(Nic.IRQ_CPU, cpu.apicId());
        cpu.out(Nic.RX_VECTOR, VECTOR);
        k.printk.printk(cpu, "buggy: /dev/buggy (major " + MAJOR + "), rx irq " + VECTOR);
        return initFn.leave(cpu, 0);
    }

    /** Gives buf to the NIC in RX descriptor 0. */
    private static void post(final Cpu cpu, final long ring, final long buf)
    {
        cpu.store64(ring + Nic.DESC_ADDR, Layout.pa(buf));
        cpu.store32(ring + Nic.DESC_LEN, RX_BUF);
        cpu.store16(ring + Nic.DESC_FLAGS, Nic.OWN);
    }

    @Override
    protected void exit(final Cpu cpu, final Kernel kernel, final long m)
    {
        exitFn.enter(cpu);
        final long dev = dev(cpu);
        cpu.out(Nic.RX_VECTOR, 0);
        cpu.out(Nic.RX_SIZE, 0);
        cpu.out(Nic.TX_SIZE, 0);
        k.irqs.free(cpu, VECTOR, dev);
        k.chrdevs.unregister(cpu, MAJOR);
        final long buf = cpu.load64(dev + D_RX_BUF);
        if (buf != 0)
        {
            k.slab.kfree(cpu, buf);
        }
        k.slab.kfree(cpu, cpu.load64(dev + D_TX_BUF));
        k.pages.freePage(cpu, k.pages.physToPage(Layout.pa(cpu.load64(dev + D_RX_RING))));
        k.pages.freePage(cpu, k.pages.physToPage(Layout.pa(cpu.load64(dev + D_TX_RING))));
        k.slab.kfree(cpu, cpu.load64(dev + D_FOPS));
        k.slab.kfree(cpu, dev);
        exitFn.leave(cpu);
    }

    private void ioctl(final Cpu cpu)
    {
        ioctlFn.prologue(cpu);
        final long cmd = cpu.reg(Syscalls.RSI);
        final long arg = cpu.reg(Syscalls.RDX);
        final long dev = dev(cpu);
        long r = 0;
        switch ((int)cmd)
        {
            case 1: r = getInfo(cpu, arg); break;
            case 2: r = check(cpu, arg); break;
            case 3: r = setName(cpu, arg, false); break;
            case 7: r = setName(cpu, arg, true); break;
            case 4: rxReset(cpu, dev, arg != 0); break;
            case 5: ping(cpu, dev); break;
            case 6: r = cpu.load64(dev + D_RX_FRAMES); break;
            case 8: r = config(cpu, dev, arg != 0); break;
            default: r = CharDevs.ENOTTY; break;
        }
        cpu.setReg(Syscalls.RAX, r);
        ioctlFn.leave(cpu);
    }

    /** A request filled in part: data yes, len only when fixed (kzalloc). */
    private long request(final Cpu cpu, final boolean fixed)
    {
        ioctlFn.at(cpu, 0x20);
        final long req = fixed ? k.slab.kzalloc(cpu, REQ_SIZE) : k.slab.kmalloc(cpu, REQ_SIZE);
        for (int i = 0; i < 32; i += 8)
        {
            cpu.store64(req + R_DATA + i, 0x6f666e69L + i);
        }
        return req;
    }

    /** GET_INFO(ubuf): copies req->len bytes of the request's data to the user. */
    private long getInfo(final Cpu cpu, final long ubuf)
    {
        final long req = request(cpu, (ubuf & 1) != 0);
        ioctlFn.at(cpu, 0x30);
        final long len = Math.min(32, Uses.length64(cpu, req + R_LEN));
        k.vm.copyToUser(cpu, ubuf & ~1L, req + R_DATA, len);
        k.slab.kfree(cpu, req);
        return len;
    }

    /** CHECK: branches on the request's flags. */
    private long check(final Cpu cpu, final long arg)
    {
        final long req = request(cpu, arg != 0);
        ioctlFn.at(cpu, 0x40);
        final long r = Uses.branch64(cpu, req + R_FLAGS) != 0 ? 1 : 0;
        k.slab.kfree(cpu, req);
        return r;
    }

    /** buggy_set_name(ubuf): a 16-byte name on the stack, copied from the user; unbounded (32 bytes) unless fixed. */
    private long setName(final Cpu cpu, final long ubuf, final boolean fixed)
    {
        setNameFn.enter(cpu);
        cpu.setSp(cpu.sp() - NAME_BUF);
        final long name = cpu.fp() - NAME_BUF;
        k.vm.copyFromUser(cpu, name, ubuf, fixed ? NAME_BUF : 2 * NAME_BUF);
        setNameFn.at(cpu, 0x30);
        final long first = cpu.load8(name);
        return setNameFn.leave(cpu, first);
    }

    /** CONFIG: under the device lock; the error path forgets the unlock unless fixed. */
    private long config(final Cpu cpu, final long dev, final boolean fixed)
    {
        ioctlFn.at(cpu, 0x90);
        k.spin.lock(cpu, dev + D_LOCK);
        final long busy = cpu.load64(dev + D_RX_FRAMES);
        if (busy == 0)
        {
            ioctlFn.at(cpu, 0xa0);
            if (fixed)
            {
                k.spin.unlock(cpu, dev + D_LOCK);
            }
            return -5; // -EIO
        }
        k.spin.unlock(cpu, dev + D_LOCK);
        return 0;
    }

    /** RX_RESET: drops the RX buffer; the bug frees it while descriptor 0 still hands it to the NIC. */
    private void rxReset(final Cpu cpu, final long dev, final boolean fixed)
    {
        ioctlFn.at(cpu, 0x60);
        final long old = cpu.load64(dev + D_RX_BUF);
        if (fixed)
        {
            final long buf = k.slab.kmalloc(cpu, RX_BUF);
            post(cpu, cpu.load64(dev + D_RX_RING), buf);
            cpu.store64(dev + D_RX_BUF, buf);
        }
        else
        {
            cpu.store64(dev + D_RX_BUF, 0);
        }
        k.slab.kfree(cpu, old);
    }

    /** PING: one 64-byte frame to this node. */
    private void ping(final Cpu cpu, final long dev)
    {
        ioctlFn.at(cpu, 0x80);
        final long buf = cpu.load64(dev + D_TX_BUF);
        final long node = cpu.in(Nic.NODE);
        cpu.store16(buf + Nic.HDR_DST, node);
        cpu.store16(buf + Nic.HDR_SRC, node);
        cpu.store32(buf + Nic.HDR_TYPE, 0x42);
        for (int i = 8; i < 64; i += 8)
        {
            cpu.store64(buf + i, 0x676e6970L << 32 | i);
        }
        final long tx = cpu.load64(dev + D_TX_RING);
        cpu.store64(tx + Nic.DESC_ADDR, Layout.pa(buf));
        cpu.store32(tx + Nic.DESC_LEN, 64);
        cpu.store16(tx + Nic.DESC_FLAGS, Nic.OWN);
        cpu.out(Nic.TX_TAIL, cpu.in(Nic.TX_TAIL) + 1);
        cpu.out(Nic.DOORBELL, 1);
    }

    /** The RX interrupt: handler(vector, dev_id); counts the filled descriptor and acks. */
    private void interrupt(final Cpu cpu)
    {
        irqFn.prologue(cpu);
        final long dev = cpu.reg(Syscalls.RSI);
        final long rx = cpu.load64(dev + D_RX_RING);
        if ((cpu.load16(rx + Nic.DESC_FLAGS) & Nic.EOP) != 0)
        {
            cpu.store64(dev + D_RX_FRAMES, cpu.load64(dev + D_RX_FRAMES) + 1);
            cpu.store16(rx + Nic.DESC_FLAGS, 0);
        }
        cpu.out(Nic.STATUS, Nic.STATUS_RX);
        irqFn.leave(cpu);
    }
}
