package palimpsest.analyzers.dma;

import palimpsest.analyzers.core.MachineShadow;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * Where a device's DMA access points came from, from the device's own accesses: a device finds a
 * buffer by reading a descriptor (an 8-byte DMA read of the buffer's physical address, then a
 * length), so the last 8-byte DMA read of a device is the descriptor word of the buffer its
 * following accesses fall in. Nothing device-specific: any bus master that chases a pointer it
 * read from memory is explained the same way. Fed every event in order; asked at a DMA access.
 */
public final class DmaProvenance
{
    /** No buffer limit was read: a buffer spans up to this much past its pointer. */
    static final long MAX_BUFFER = 64 * 1024;
    private static final int MAX_DEVICES = 64;

    private final MachineShadow shadow;
    private final long[] pointer = new long[MAX_DEVICES];
    private final long[] pointerPhys = new long[MAX_DEVICES];
    private final long[] pointerEvent = new long[MAX_DEVICES];
    private final long[] length = new long[MAX_DEVICES];

    public DmaProvenance(final MachineShadow shadow)
    {
        this.shadow = shadow;
        java.util.Arrays.fill(pointerEvent, -1);
    }

    public void onEvent(final Event e)
    {
        if (e.kind() != EventKind.DMA_READ || !EventKind.isDevice(e.cpu()))
        {
            return;
        }
        final int d = device(e.cpu());
        if (d < 0)
        {
            return;
        }
        if (e.size() == 8)
        {
            pointer[d] = e.value();
            pointerPhys[d] = shadow.physKey(e.cpu(), e.paddr());
            pointerEvent[d] = e.index();
            length[d] = MAX_BUFFER;
        }
        else if (e.size() == 4 && pointerEvent[d] >= 0 && e.index() - pointerEvent[d] < 8)
        {
            length[d] = Math.max(1, e.value());
        }
    }

    private static int device(final int cpu)
    {
        final int d = cpu - EventKind.deviceId(0);
        return d >= 0 && d < MAX_DEVICES ? d : -1;
    }

    /** The descriptor read (event) whose buffer holds the device access at paddr, or -1. */
    public long descriptorEvent(final int deviceCpu, final long paddr)
    {
        final int d = device(deviceCpu);
        if (d < 0 || pointerEvent[d] < 0)
        {
            return -1;
        }
        return Long.compareUnsigned(paddr - pointer[d], length[d]) < 0 ? pointerEvent[d] : -1;
    }

    /** Physical key of the descriptor word read at {@link #descriptorEvent}. */
    public long descriptorPhys(final int deviceCpu)
    {
        return pointerPhys[device(deviceCpu)];
    }

    /** The buffer address the descriptor held. */
    public long buffer(final int deviceCpu)
    {
        return pointer[device(deviceCpu)];
    }

    public long bufferLength(final int deviceCpu)
    {
        return length[device(deviceCpu)];
    }

    /** How a device prints: {@code nic0 (device 0x8000, node 0's NIC)}, never as a cpu. */
    public static String deviceName(final int deviceCpu)
    {
        final int node = deviceCpu - EventKind.deviceId(0);
        return "nic" + node + " (device 0x" + Integer.toHexString(deviceCpu) + ", node " + node + "'s NIC)";
    }
}
