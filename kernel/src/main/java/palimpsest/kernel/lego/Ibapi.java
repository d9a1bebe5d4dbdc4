package palimpsest.kernel.lego;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.net.Nic;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Once;
import palimpsest.kernel.mm.PageAlloc;
import palimpsest.kernel.sched.Task;

/**
 * ibapi: request/reply messages between the components over the node's NIC (rings and buffers in
 * this node's memory, moved by DMA; every frame a recorded NET_SEND/NET_DELIVER with its payload).
 * A caller ({@link #call}) takes a pending slot, sends the request with a fresh message id and
 * sleeps; the RX interrupt copies the reply with that id into the caller's buffer and wakes it.
 * A caller that wakes without its reply (the fabric dropped or delayed a frame) sends the same
 * message again, with the same id: the memory component recognises retransmissions and resends
 * the reply it kept ({@link McManager}), so no request runs twice.
 *
 * <pre>
 * struct ibapi (kzalloc'ed, pointer in Globals.LEGO_IBAPI)
 *   +0 tx_lock  +8 tx_tail  +16 rx_next  +24 next_id  +32 tx_ring  +40 rx_ring  +48 tx_bufs  +56 rx_bufs
 *   +64 pend_lock  +72 retransmits  +80 duplicates  +88 sent  +96 received
 *   +128 pending[24] { msgid, state (0 free, 1 waiting, 2 done), waiter task, reply (a0..a3), body, max, len,
 *                      +64 timer_list }
 *
 * frame (in a buffer)  0 dst u16 | 2 src u16 | 4 type u32 ('LG' REQ/REPLY) | 8 msgid | 16 op u32 | 20 len u32
 *                      | 24 a0 | 32 a1 | 40 a2 | 48 a3 | 56 body[len]
 * a reply's a0 is the status (0 OKAY or -errno); the caller's reply buffer receives a0..a3 and its
 * body buffer the body, both straight from the RX buffer (a shipped page lands in the pcache line).
 * </pre>
 */
public final class Ibapi
{
    public static final int TYPE_REQ = 0x4c470001;
    public static final int TYPE_REPLY = 0x4c470002;
    public static final int HDR = 56;
    public static final int F_MSGID = 8;
    public static final int F_OP = 16;
    public static final int F_LEN = 20;
    public static final int F_A0 = 24;
    public static final int MAX_BODY = 4096;
    /** Reply buffers start with the reply's a0..a3. */
    public static final int REPLY_BODY = 32;

    static final int VEC_NIC = 0x48;
    static final int TX_RING = 8;
    static final int RX_RING = 16;
    static final int BUF = 8192;
    static final int PENDING = 24;
    static final int SLOT = 128;
    /** Each pending slot's timeout timer (struct timer_list at +64 of the slot). */
    static final int SLOT_TIMER = 64;

    static final int TX_LOCK = 0;
    static final int TX_TAIL = 8;
    static final int RX_NEXT = 16;
    static final int NEXT_ID = 24;
    static final int TX_RING_VA = 32;
    static final int RX_RING_VA = 40;
    static final int TX_BUFS = 48;
    static final int RX_BUFS = 56;
    static final int PEND_LOCK = 64;
    public static final int RETRANSMITS = 72;
    public static final int DUPLICATES = 80;
    public static final int SENT = 88;
    public static final int RECEIVED = 96;
    static final int PEND = 128;

    /** Jiffies a caller waits for its reply before sending the request again. */
    static final long TIMEOUT_JIFFIES = 2;

    private final Kernel k;
    private final Lego lego;
    private final Fn initFn;
    private final Fn sendFn;
    private final Fn callFn;
    private final Fn rxFn;
    private final Fn timeoutFn;
    private final Fn sleepFn;

    Ibapi(final Kernel k, final Lego lego)
    {
        this.k = k;
        this.lego = lego;
        this.initFn = k.text.fn("ibapi_init", 0x80);
        this.sendFn = k.text.fn("ibapi_send", 0x100);
        this.callFn = k.text.fn("ibapi_send_reply_timeout", 0x100);
        this.rxFn = k.text.fn("ibapi_rx_interrupt", 0x100, this::rxInterrupt);
        this.timeoutFn = k.text.fn("ibapi_timeout", 0x40, this::timeoutBody);
        this.sleepFn = k.text.fn("ibapi_sleep_timeout", 0x80);
    }

    long base(final Cpu cpu)
    {
        return cpu.load64(Globals.LEGO_IBAPI);
    }

    /** Rings and buffers from the buddy allocator, RX buffers posted, the RX interrupt on this node's cpu 0. */
    void init(final Cpu cpu)
    {
        initFn.enter(cpu);
        final long ib = k.slab.kzalloc(cpu, PEND + PENDING * SLOT);
        cpu.store64(Globals.LEGO_IBAPI, ib);
        final long txRing = PageAlloc.pageAddress(k.pages.allocPage(cpu));
        final long rxRing = PageAlloc.pageAddress(k.pages.allocPage(cpu));
        final long txBufs = PageAlloc.pageAddress(k.pages.allocPages(cpu, 4));
        final long rxBufs = PageAlloc.pageAddress(k.pages.allocPages(cpu, 5));
        cpu.store64(ib + TX_RING_VA, txRing);
        cpu.store64(ib + RX_RING_VA, rxRing);
        cpu.store64(ib + TX_BUFS, txBufs);
        cpu.store64(ib + RX_BUFS, rxBufs);
        cpu.store64(ib + NEXT_ID, (cpu.load64(Globals.LEGO_NODE) << 48));
        for (int i = 0; i < TX_RING; i++)
        {
            cpu.store16(txRing + i * (long)Nic.DESC_SIZE + Nic.DESC_FLAGS, 0);
        }
        for (int i = 0; i < RX_RING; i++)
        {
            final long d = rxRing + i * (long)Nic.DESC_SIZE;
            cpu.store64(d + Nic.DESC_ADDR, Layout.pa(rxBufs + (long)i * BUF));
            cpu.store32(d + Nic.DESC_LEN, BUF);
            cpu.store16(d + Nic.DESC_PEER, 0);
            cpu.store16(d + Nic.DESC_FLAGS, Nic.OWN);
        }
        cpu.store64(Globals.IDT + VEC_NIC * 8L, rxFn.addr);
        cpu.out(Nic.TX_BASE, Layout.pa(txRing));
        cpu.out(Nic.TX_SIZE, TX_RING);
        cpu.out(Nic.RX_BASE, Layout.pa(rxRing));
        cpu.out(Nic.RX_SIZE, RX_RING);
        cpu.out(Nic.RX_TAIL, RX_RING);
        cpu.out(Nic.IRQ_CPU, 0);
        cpu.out(Nic.RX_VECTOR, VEC_NIC);
        initFn.leave(cpu);
    }

    /**
     * Puts one frame on the wire: header, then len bytes of body copied from kernel memory at
     * body (rounded up to 8-byte words), then the doorbell (the NIC sends at once).
     */
    void send(final Cpu cpu, final int dst, final int type, final long msgid, final int op, final long a0, final long a1,
        final long a2, final long a3, final long body, final long len)
    {
        sendFn.enter(cpu);
        final long ib = base(cpu);
        final boolean f = k.spin.lockIrqSave(cpu, ib + TX_LOCK);
        final long tail = cpu.load64(ib + TX_TAIL);
        final int slot = (int)(tail % TX_RING);
        final long d = cpu.load64(ib + TX_RING_VA) + slot * (long)Nic.DESC_SIZE;
        if ((cpu.load16(d + Nic.DESC_FLAGS) & Nic.OWN) != 0)
        {
            k.oops.bug(cpu, "BUG: ibapi TX descriptor " + slot + " still owned by the NIC");
        }
        final long buf = cpu.load64(ib + TX_BUFS) + (long)slot * BUF;
        sendFn.at(cpu, 0x30);
        cpu.store16(buf, dst);
        cpu.store16(buf + 2, cpu.load64(Globals.LEGO_NODE));
        cpu.store32(buf + 4, type);
        cpu.store64(buf + F_MSGID, msgid);
        cpu.store32(buf + F_OP, op);
        cpu.store32(buf + F_LEN, len);
        cpu.store64(buf + F_A0, a0);
        cpu.store64(buf + F_A0 + 8, a1);
        cpu.store64(buf + F_A0 + 16, a2);
        cpu.store64(buf + F_A0 + 24, a3);
        sendFn.at(cpu, 0x60);
        for (long i = 0; i < len; i += 8)
        {
            cpu.store64(buf + HDR + i, cpu.load64(body + i));
        }
        cpu.store64(d + Nic.DESC_ADDR, Layout.pa(buf));
        cpu.store32(d + Nic.DESC_LEN, HDR + len);
        cpu.store16(d + Nic.DESC_FLAGS, Nic.OWN);
        cpu.store64(ib + TX_TAIL, tail + 1);
        cpu.out(Nic.TX_TAIL, tail + 1);
        cpu.out(Nic.DOORBELL, 1);
        cpu.store64(ib + SENT, cpu.load64(ib + SENT) + 1);
        k.spin.unlockIrqRestore(cpu, ib + TX_LOCK, f);
        sendFn.leave(cpu);
    }

    /**
     * ibapi_send_reply_timeout: sends request op to node dst and sleeps until its reply arrives in
     * reply (a0..a3) and rbody (at most max bytes), resending it every
     * {@link #TIMEOUT_JIFFIES} jiffies; gives up after tries sends (0 = never). Returns the
     * reply's status (a0), or -110 (ETIMEDOUT) when it gave up.
     */
    public long call(final Cpu cpu, final int dst, final int op, final long a0, final long a1, final long a2, final long a3,
        final long body, final long len, final long reply, final long rbody, final long max, final int tries)
    {
        callFn.enter(cpu);
        final long ib = base(cpu);
        if (k.patches.enabled("lego-ibapi-stats"))
        {
            callFn.at(cpu, 0x18);
            cpu.load64(Globals.LEGO_NODE);
        }
        final long msgid = cpu.xadd(k.spin.atomicSite(), ib + NEXT_ID, 8, 1) + 1;
        long slot = 0;
        while (slot == 0)
        {
            final boolean f = k.spin.lockIrqSave(cpu, ib + PEND_LOCK);
            for (int i = 0; i < PENDING && slot == 0; i++)
            {
                final long s = ib + PEND + (long)i * SLOT;
                if (cpu.load64(s + 8) == 0)
                {
                    slot = s;
                    cpu.store64(s, msgid);
                    cpu.store64(s + 8, 1);
                    cpu.store64(s + 16, k.current(cpu));
                    cpu.store64(s + 24, reply);
                    cpu.store64(s + 32, rbody);
                    cpu.store64(s + 40, max);
                    cpu.store64(s + 48, 0);
                }
            }
            k.spin.unlockIrqRestore(cpu, ib + PEND_LOCK, f);
            if (slot == 0)
            {
                k.sched.yield(cpu);
            }
        }
        callFn.at(cpu, 0x40);
        int sent = 0;
        while (true)
        {
            if (sent > 0)
            {
                cpu.xadd(k.spin.atomicSite(), ib + RETRANSMITS, 8, 1);
            }
            send(cpu, dst, TYPE_REQ, msgid, op, a0, a1, a2, a3, body, len);
            sent++;
            callFn.at(cpu, 0x60);
            // The state is written by the RX interrupt under pend_lock; polled here without it
            // (READ_ONCE): the final check below takes the lock before the reply is used.
            if (Once.read64(cpu, slot + 8) != 2)
            {
                sleepTimeout(cpu, slot + SLOT_TIMER, TIMEOUT_JIFFIES);
            }
            if (Once.read64(cpu, slot + 8) == 2 || (tries > 0 && sent >= tries))
            {
                break;
            }
        }
        final boolean f = k.spin.lockIrqSave(cpu, ib + PEND_LOCK);
        final boolean done = cpu.load64(slot + 8) == 2;
        cpu.store64(slot + 8, 0);
        k.spin.unlockIrqRestore(cpu, ib + PEND_LOCK, f);
        return callFn.leave(cpu, done ? cpu.load64(reply) : -110);
    }

    /**
     * schedule_timeout with the timer in memory that outlives the sleep (a pending slot, a control
     * block), never on the stack: run_timer_softirq reads a detached timer's function and data
     * after dropping the timer lock, so a stack timer whose sleeper already returned would hand it
     * whatever the stack holds by then.
     */
    void sleepTimeout(final Cpu cpu, final long timer, final long jiffies)
    {
        sleepFn.enter(cpu);
        palimpsest.kernel.time.Timers.setup(cpu, timer, timeoutFn.addr, k.current(cpu));
        k.sched.setCurrentState(cpu, Task.INTERRUPTIBLE);
        k.timers.modTimer(cpu, timer, k.timers.jiffies(cpu) + Math.max(1, jiffies));
        sleepFn.at(cpu, 0x40);
        k.sched.schedule(cpu);
        k.timers.delTimer(cpu, timer);
        sleepFn.leave(cpu);
    }

    private void timeoutBody(final Cpu cpu)
    {
        timeoutFn.prologue(cpu);
        k.sched.wakeUp(cpu, cpu.reg(palimpsest.kernel.user.Syscalls.RDI));
        timeoutFn.leave(cpu);
    }

    /** A reply: to the caller waiting with its message id, or (a duplicate, a late one) dropped. */
    private void receiveReply(final Cpu cpu, final long ib, final long frame, final long len)
    {
        final long msgid = cpu.load64(frame + F_MSGID);
        final boolean f = k.spin.lockIrqSave(cpu, ib + PEND_LOCK);
        long waiter = 0;
        for (int i = 0; i < PENDING; i++)
        {
            final long s = ib + PEND + (long)i * SLOT;
            if (cpu.load64(s + 8) == 1 && cpu.load64(s) == msgid)
            {
                final long buf = cpu.load64(s + 24);
                for (long o = 0; o < REPLY_BODY; o += 8)
                {
                    cpu.store64(buf + o, cpu.load64(frame + F_A0 + o));
                }
                final long rbody = cpu.load64(s + 32);
                final long n = Math.min(cpu.load64(s + 40), len - HDR);
                for (long o = 0; o < n; o += 8)
                {
                    cpu.store64(rbody + o, cpu.load64(frame + HDR + o));
                }
                cpu.store64(s + 48, n);
                cpu.store64(s + 8, 2);
                waiter = cpu.load64(s + 16);
                break;
            }
        }
        if (waiter == 0)
        {
            cpu.store64(ib + DUPLICATES, cpu.load64(ib + DUPLICATES) + 1);
        }
        k.spin.unlockIrqRestore(cpu, ib + PEND_LOCK, f);
        if (waiter != 0)
        {
            k.sched.wakeUp(cpu, waiter);
        }
    }

    /** The NIC's RX interrupt: every filled descriptor is handled and posted again. */
    private void rxInterrupt(final Cpu cpu)
    {
        k.traps.entry(cpu, rxFn);
        cpu.eoi();
        final long ib = base(cpu);
        final long ring = cpu.load64(ib + RX_RING_VA);
        final long bufs = cpu.load64(ib + RX_BUFS);
        final boolean memory = lego.isMemory(cpu);
        while (true)
        {
            final long next = cpu.load64(ib + RX_NEXT);
            if (cpu.in(Nic.RX_HEAD) == next)
            {
                break;
            }
            final int slot = (int)(next % RX_RING);
            final long d = ring + slot * (long)Nic.DESC_SIZE;
            final long len = cpu.load32(d + Nic.DESC_LEN);
            final long src = cpu.load16(d + Nic.DESC_PEER);
            final long frame = bufs + (long)slot * BUF;
            rxFn.at(cpu, 0x40);
            cpu.store64(ib + RECEIVED, cpu.load64(ib + RECEIVED) + 1);
            if (len >= HDR && (cpu.load16(d + Nic.DESC_FLAGS) & Nic.TRUNC) == 0)
            {
                final long type = cpu.load32(frame + 4);
                if (type == TYPE_REPLY && !memory)
                {
                    receiveReply(cpu, ib, frame, len);
                }
                else if (type == TYPE_REQ && memory)
                {
                    lego.mc.receive(cpu, (int)src, frame, len);
                }
            }
            rxFn.at(cpu, 0x80);
            cpu.store32(d + Nic.DESC_LEN, BUF);
            cpu.store16(d + Nic.DESC_FLAGS, Nic.OWN);
            cpu.store64(ib + RX_NEXT, next + 1);
            cpu.out(Nic.RX_TAIL, next + 1 + RX_RING);
        }
        cpu.out(Nic.STATUS, Nic.STATUS_RX);
        k.traps.exit(cpu, rxFn);
    }

    static long task(final Cpu cpu, final Kernel k)
    {
        return cpu.load64(k.current(cpu) + Task.TGID);
    }

    private static final String[] OPS = {"?", "EXECVE", "FORK", "MMAP", "MUNMAP", "MREMAP", "BRK", "PCACHE_MISS", "WRITEBACK",
        "OPEN", "READ", "CLOSE", "EXIT", "POWEROFF"};

    /** A frame as pal dump shows it: "REQ PCACHE_MISS msg 0x.. a0=.. a1=.." or "REPLY msg 0x.. status=..". */
    public static String describe(final byte[] f, final int len)
    {
        if (len < HDR)
        {
            return null;
        }
        final long type = le(f, 4, 4);
        if (type != TYPE_REQ && type != TYPE_REPLY)
        {
            return null;
        }
        final long op = le(f, F_OP, 4);
        final StringBuilder sb = new StringBuilder(type == TYPE_REQ ? "ibapi REQ " : "ibapi REPLY ");
        if (type == TYPE_REQ)
        {
            sb.append(op < OPS.length ? OPS[(int)op] : "op" + op).append(' ');
        }
        sb.append("msg 0x").append(Long.toHexString(le(f, F_MSGID, 8)));
        if (type == TYPE_REPLY)
        {
            sb.append(" status=").append(le(f, F_A0, 8));
        }
        else
        {
            sb.append(" pid=").append(le(f, F_A0, 8)).append(" a1=0x").append(Long.toHexString(le(f, F_A0 + 8, 8)));
        }
        return sb.append(" body=").append(le(f, F_LEN, 4)).toString();
    }

    private static long le(final byte[] f, final int off, final int n)
    {
        long v = 0;
        for (int i = n - 1; i >= 0; i--)
        {
            v = v << 8 | (f[off + i] & 0xFF);
        }
        return v;
    }
}
