package palimpsest.emulator;

import palimpsest.trace.EventKind;
import palimpsest.trace.EventSink;

/**
 * A test sink that hashes every field of every event (allocation-free) and counts them per kind:
 * two runs are the same run when count and hash agree. Shared with other modules' tests through the
 * emulator's test jar (kernel determinism and hotplug tests extend it).
 */
public class HashingSink implements EventSink
{
    public long hash = 0x1234_5678_9ABC_DEF0L;
    public long count;
    public final long[] perKind = new long[EventKind.COUNT];
    /** Hash of just the schedule: INPUT(pick-cpu) and CPU_SWITCH events. */
    public long scheduleHash;

    private void mix(final long v)
    {
        long z = hash ^ v;
        z *= 0x9E3779B97F4A7C15L;
        hash = z ^ (z >>> 29);
    }

    @Override
    public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr, final long paddr,
        final int size, final long value, final long oldValue)
    {
        count++;
        perKind[kind]++;
        mix(kind);
        mix(cpu);
        mix(icount);
        mix(pc);
        mix(vaddr);
        mix(paddr);
        mix(size);
        mix(value);
        mix(oldValue);
    }

    @Override
    public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b, final long c)
    {
        count++;
        perKind[kind]++;
        mix(kind);
        mix(cpu);
        mix(icount);
        mix(pc);
        mix(a);
        mix(b);
        mix(c);
        if (kind == EventKind.CPU_SWITCH)
        {
            scheduleHash = scheduleHash * 31 + cpu * 1_000_003L + icount;
        }
    }

    @Override
    public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
        final byte[] payload, final int offset, final int length)
    {
        count++;
        perKind[kind]++;
        mix(kind);
        mix(device);
        mix(vtime);
        mix(peerNode);
        mix(frameId);
        for (int i = 0; i < length; i++)
        {
            mix(payload[offset + i]);
        }
    }
}
