package palimpsest.emulator.net;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.InterruptSource;
import palimpsest.emulator.IoDevice;
import palimpsest.emulator.Machine;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.trace.EventKind;
import palimpsest.trace.EventSink;

/**
 * One node's network card: TX and RX descriptor rings in emulated memory, moved by DMA. Every
 * DMA access is reported to the event sink (cpu = {@link EventKind#deviceId device id}, icount =
 * virtual time, pc = 0, vaddr = paddr); DMA writes carry the old value.
 *
 * <h2>Registers (64-bit I/O ports, base {@link #BASE})</h2>
 * <pre>
 *  port     name         access  meaning
 *  0xC000   TX_BASE      rw      physical address of the TX descriptor ring (16-byte aligned)
 *  0xC001   TX_SIZE      rw      number of TX descriptors (1..4096)
 *  0xC002   TX_HEAD      r       free-running count of descriptors the NIC has consumed
 *  0xC003   TX_TAIL      rw      free-running count of descriptors the driver has posted
 *  0xC004   RX_BASE      rw      physical address of the RX descriptor ring
 *  0xC005   RX_SIZE      rw      number of RX descriptors
 *  0xC006   RX_HEAD      r       free-running count of RX descriptors the NIC has filled
 *  0xC007   RX_TAIL      rw      free-running count of RX buffers the driver has posted
 *  0xC008   DOORBELL     w       bit 0: process the TX ring now (RX needs no doorbell)
 *  0xC009   RX_VECTOR    rw      interrupt vector raised after an RX fill (0 = none)
 *  0xC00A   IRQ_CPU      rw      local APIC id (on this node) that receives the NIC's interrupts
 *  0xC00B   TX_VECTOR    rw      interrupt vector raised when a TX doorbell completes frames (0 = none)
 *  0xC00C   STATUS       r/w1c   bit 0 RX done, bit 1 TX done (write 1s to clear)
 *  0xC00D   NODE         r       this node's number (its "MAC address")
 *  0xC00E   RX_MISSED    r       frames dropped because no RX buffer was posted
 *  0xC00F   TX_ERRORS    r       TX descriptors rejected (bad length, bad destination)
 * </pre>
 * Ring slot of a free-running count k is {@code k % size}. A ring is empty when head == tail;
 * the driver may post up to size descriptors ahead of head.
 *
 * <h2>Descriptor (16 bytes, little-endian)</h2>
 * <pre>
 *   0                               8               12      14      16
 *   +-------------------------------+---------------+-------+-------+
 *   |  buffer physical address      |    length     | flags | peer  |
 *   +-------------------------------+---------------+-------+-------+
 *   flags: bit 0 OWN  (1 = the NIC owns it: driver sets it to post, NIC clears it when done)
 *          bit 1 EOP  (set by the NIC on a filled RX descriptor / a sent TX descriptor)
 *          bit 2 TRUNC (RX: the frame was longer than the buffer and was cut)
 *          bit 3 ERR  (TX: rejected, see TX_ERRORS)
 *   length: TX = frame length; RX = buffer capacity when posted, frame length once filled
 *   peer:   RX = source node, written by the NIC; TX = ignored
 * </pre>
 *
 * <h2>Frame (in the buffer)</h2>
 * <pre>
 *   0       2       4               8 ...
 *   +-------+-------+---------------+---------------------+
 *   |  dst  |  src  |     type      |  payload ...        |
 *   +-------+-------+---------------+---------------------+
 * </pre>
 * The fabric routes on dst; src and type are the software's business.
 */
public final class Nic implements IoDevice
{
    public static final int BASE = 0xC000;
    public static final int PORTS = 16;

    public static final int TX_BASE = BASE;
    public static final int TX_SIZE = BASE + 1;
    public static final int TX_HEAD = BASE + 2;
    public static final int TX_TAIL = BASE + 3;
    public static final int RX_BASE = BASE + 4;
    public static final int RX_SIZE = BASE + 5;
    public static final int RX_HEAD = BASE + 6;
    public static final int RX_TAIL = BASE + 7;
    public static final int DOORBELL = BASE + 8;
    public static final int RX_VECTOR = BASE + 9;
    public static final int IRQ_CPU = BASE + 10;
    public static final int TX_VECTOR = BASE + 11;
    public static final int STATUS = BASE + 12;
    public static final int NODE = BASE + 13;
    public static final int RX_MISSED = BASE + 14;
    public static final int TX_ERRORS = BASE + 15;

    public static final int DESC_SIZE = 16;
    public static final int DESC_ADDR = 0;
    public static final int DESC_LEN = 8;
    public static final int DESC_FLAGS = 12;
    public static final int DESC_PEER = 14;

    public static final int OWN = 1;
    public static final int EOP = 2;
    public static final int TRUNC = 4;
    public static final int ERR = 8;

    public static final int STATUS_RX = 1;
    public static final int STATUS_TX = 2;

    /** Frame header: dst node (u16), src node (u16), type (u32); payload follows. */
    public static final int HDR_DST = 0;
    public static final int HDR_SRC = 2;
    public static final int HDR_TYPE = 4;
    public static final int HDR_SIZE = 8;
    public static final int MAX_FRAME = 9216;

    private final Machine machine;
    private final Fabric fabric;
    private final int node;
    private final int device;
    private final PhysicalMemory mem;
    private final EventSink sink;

    private long txBase;
    private long txSize;
    private long txHead;
    private long txTail;
    private long rxBase;
    private long rxSize;
    private long rxHead;
    private long rxTail;
    private long rxVector;
    private long txVector;
    private long irqCpu;
    private long status;
    private long rxMissed;
    private long txErrors;

    Nic(final Machine machine, final Fabric fabric, final int node)
    {
        this.machine = machine;
        this.fabric = fabric;
        this.node = node;
        this.device = EventKind.deviceId(node);
        this.mem = machine.memory(node);
        this.sink = machine.sink();
    }

    /** Creates the fabric and one NIC per node and puts each on its node's port space. */
    public static Fabric attach(final Machine machine)
    {
        final Fabric fabric = new Fabric(machine);
        for (int n = 0; n < machine.config().nodes; n++)
        {
            final Nic nic = new Nic(machine, fabric, n);
            fabric.nics[n] = nic;
            machine.addDevice(n, nic);
        }
        return fabric;
    }

    public int node()
    {
        return node;
    }

    public int deviceId()
    {
        return device;
    }

    public long rxMissed()
    {
        return rxMissed;
    }

    public long txErrors()
    {
        return txErrors;
    }

    @Override
    public int basePort()
    {
        return BASE;
    }

    @Override
    public int portCount()
    {
        return PORTS;
    }

    @Override
    public long in(final Cpu cpu, final int port)
    {
        switch (port)
        {
            case TX_BASE: return txBase;
            case TX_SIZE: return txSize;
            case TX_HEAD: return txHead;
            case TX_TAIL: return txTail;
            case RX_BASE: return rxBase;
            case RX_SIZE: return rxSize;
            case RX_HEAD: return rxHead;
            case RX_TAIL: return rxTail;
            case RX_VECTOR: return rxVector;
            case IRQ_CPU: return irqCpu;
            case TX_VECTOR: return txVector;
            case STATUS: return status;
            case NODE: return node;
            case RX_MISSED: return rxMissed;
            case TX_ERRORS: return txErrors;
            default: return 0;
        }
    }

    @Override
    public void out(final Cpu cpu, final int port, final long value)
    {
        switch (port)
        {
            case TX_BASE: txBase = value; break;
            case TX_SIZE: txSize = Math.max(0, Math.min(4096, value)); break;
            case TX_TAIL: txTail = value; break;
            case RX_BASE: rxBase = value; break;
            case RX_SIZE: rxSize = Math.max(0, Math.min(4096, value)); break;
            case RX_TAIL: rxTail = value; break;
            case DOORBELL:
                if ((value & 1) != 0)
                {
                    transmit();
                }
                break;
            case RX_VECTOR: rxVector = value & 0xFF; break;
            case IRQ_CPU: irqCpu = value & 0xFF; break;
            case TX_VECTOR: txVector = value & 0xFF; break;
            case STATUS: status &= ~value; break;
            default: break;
        }
    }

    // ------------------------------------------------------------------ DMA

    private long dmaRead(final long pa, final int size)
    {
        final long v = mem.read(pa, size);
        sink.access(EventKind.DMA_READ, device, machine.now(), 0, pa, pa, size, v, 0);
        return v;
    }

    private void dmaWrite(final long pa, final int size, final long value)
    {
        final long old = mem.read(pa, size);
        mem.write(pa, size, value);
        sink.access(EventKind.DMA_WRITE, device, machine.now(), 0, pa, pa, size, mask(value, size), old);
    }

    private static long mask(final long value, final int size)
    {
        return size == 8 ? value : value & ((1L << (size * 8)) - 1);
    }

    /** Reports a DMA read of a whole buffer, in 8-byte words then the 4/2/1-byte tail. */
    private void dmaReadSpan(final long pa, final int len)
    {
        long p = pa;
        int left = len;
        while (left > 0)
        {
            final int sz = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
            dmaRead(p, sz);
            p += sz;
            left -= sz;
        }
    }

    private void dmaWriteSpan(final long pa, final byte[] src, final int len)
    {
        int i = 0;
        while (i < len)
        {
            final int left = len - i;
            final int sz = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
            long v = 0;
            for (int b = sz - 1; b >= 0; b--)
            {
                v = v << 8 | (src[i + b] & 0xFF);
            }
            dmaWrite(pa + i, sz, v);
            i += sz;
        }
    }

    // ------------------------------------------------------------------ TX

    /** Doorbell: consumes every posted TX descriptor the NIC owns, handing frames to the fabric. */
    private void transmit()
    {
        if (txSize == 0)
        {
            return;
        }
        boolean sent = false;
        while (txHead != txTail)
        {
            final long d = txBase + Long.remainderUnsigned(txHead, txSize) * DESC_SIZE;
            final long flags = dmaRead(d + DESC_FLAGS, 2);
            if ((flags & OWN) == 0)
            {
                break; // the driver moved the tail before handing the descriptor over
            }
            final long buf = dmaRead(d + DESC_ADDR, 8);
            final int len = (int)dmaRead(d + DESC_LEN, 4);
            long done = EOP;
            if (len < HDR_SIZE || len > MAX_FRAME || !mem.backed(buf, len))
            {
                txErrors++;
                done |= ERR;
            }
            else
            {
                dmaReadSpan(buf, len);
                final int dst = (int)mem.read(buf + HDR_DST, 2);
                if (!fabric.send(this, dst, buf, len))
                {
                    txErrors++;
                    done |= ERR;
                }
            }
            dmaWrite(d + DESC_FLAGS, 2, done);
            txHead++;
            sent = true;
        }
        if (sent)
        {
            status |= STATUS_TX;
            if (txVector != 0)
            {
                machine.raiseInterrupt(targetCpu(), (int)txVector, InterruptSource.DEVICE);
            }
        }
    }

    private int targetCpu()
    {
        final int per = machine.config().cpusPerNode;
        return node * per + (int)Math.min(per - 1, irqCpu);
    }

    // ------------------------------------------------------------------ RX

    /** Called by the fabric when a frame arrives (with the baton held, at its due time). */
    void deliver(final int src, final long frameId, final byte[] frame, final int len)
    {
        if (rxSize == 0 || rxHead == rxTail)
        {
            rxMissed++;
            return;
        }
        final long d = rxBase + Long.remainderUnsigned(rxHead, rxSize) * DESC_SIZE;
        final long flags = dmaRead(d + DESC_FLAGS, 2);
        if ((flags & OWN) == 0)
        {
            rxMissed++;
            return;
        }
        final long buf = dmaRead(d + DESC_ADDR, 8);
        final long cap = dmaRead(d + DESC_LEN, 4);
        int n = (int)Math.min(cap, len);
        if (!mem.backed(buf, n))
        {
            n = 0;
        }
        dmaWriteSpan(buf, frame, n);
        sink.net(EventKind.NET_DELIVER, device, machine.now(), src, frameId, frame, 0, len);
        dmaWrite(d + DESC_LEN, 4, n);
        dmaWrite(d + DESC_PEER, 2, src);
        dmaWrite(d + DESC_FLAGS, 2, EOP | (n < len ? TRUNC : 0));
        rxHead++;
        status |= STATUS_RX;
        if (rxVector != 0)
        {
            machine.raiseInterrupt(targetCpu(), (int)rxVector, InterruptSource.DEVICE);
        }
    }
}
