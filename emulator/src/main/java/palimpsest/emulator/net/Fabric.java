package palimpsest.emulator.net;

import palimpsest.emulator.Machine;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.trace.EventKind;

/**
 * The network between the nodes of one machine. A frame handed over by a NIC gets a frame id (a
 * counter: deterministic because exactly one emulated task runs at a time), is recorded as
 * NET_SEND with its payload straight from emulated memory, and then the {@link
 * palimpsest.emulator.input.InputSource} decides (recorded) whether it is lost and how long it
 * travels. Latencies differ frame by frame, so frames can overtake each other. Delivery is a timed
 * entry of the executor: it runs at its virtual time with the baton held and DMA-writes the frame
 * into the destination NIC's RX ring.
 */
public final class Fabric
{
    private final Machine machine;
    final Nic[] nics;
    private long nextFrameId = 1;
    private long sent;
    private long dropped;
    private long delivered;

    Fabric(final Machine machine)
    {
        this.machine = machine;
        this.nics = new Nic[machine.config().nodes];
    }

    public Nic nic(final int node)
    {
        return nics[node];
    }

    public long sent()
    {
        return sent;
    }

    public long dropped()
    {
        return dropped;
    }

    public long delivered()
    {
        return delivered;
    }

    /** Returns false when dst is not a node of this machine (the frame never leaves the card). */
    boolean send(final Nic from, final int dst, final long buf, final int len)
    {
        if (dst < 0 || dst >= nics.length)
        {
            return false;
        }
        final long frameId = nextFrameId++;
        final PhysicalMemory mem = machine.memory(from.node());
        machine.sink().net(EventKind.NET_SEND, from.deviceId(), machine.now(), dst, frameId, mem.array(), (int)buf, len);
        sent++;
        if (machine.netDrop(from.node(), dst, len))
        {
            dropped++;
            return true;
        }
        final long latency = machine.netLatency(from.node(), dst, len);
        final byte[] copy = new byte[len];
        mem.copyOut(buf, copy, 0, len);
        final int src = from.node();
        final Nic to = nics[dst];
        machine.schedule(machine.now() + latency, () ->
        {
            delivered++;
            to.deliver(src, frameId, copy, len);
        });
        return true;
    }
}
