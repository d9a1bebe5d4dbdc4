package palimpsest.recorder.keyframe;

import palimpsest.emulator.CpuCore;
import palimpsest.emulator.Machine;
import palimpsest.trace.EventKind;
import palimpsest.trace.EventSink;
import palimpsest.trace.TraceWriter;

/**
 * The recording machine's event sink when keyframes are on: forwards every event to the trace
 * writer, marks the page of every write in a bitset (nothing else per event), and after every K-th
 * event writes a keyframe from the live machine (registers of every core, the dirty pages). The
 * machine is exactly in the state "after n events" while its sink handles event n-1 (the state
 * tests prove this), so nothing has to be re-derived.
 */
public final class KeyframeRecorder implements EventSink
{
    /** The writer, as its final class: the per-event forward is a direct call, not an interface dispatch. */
    private final TraceWriter trace;
    private final KeyframeWriter writer;
    private final long every;
    private final int cpusPerNode;
    private final long[][] dirty;
    private final int pagesPerNode;
    /** Node of each cpu id, so that marking a store costs no division. */
    private final int[] nodeOfCpu;
    private Machine machine;
    private long count;
    private long due;

    public KeyframeRecorder(final TraceWriter next, final KeyframeWriter writer, final long every, final int nodes,
        final int cpusPerNode, final long bytesPerNode)
    {
        this.trace = next;
        this.writer = writer;
        this.every = every;
        this.due = every;
        this.cpusPerNode = cpusPerNode;
        this.pagesPerNode = (int)(bytesPerNode / KeyframeFile.PAGE_SIZE);
        this.dirty = new long[nodes][(pagesPerNode + 63) >>> 6];
        this.nodeOfCpu = new int[nodes * cpusPerNode];
        for (int cpu = 0; cpu < nodeOfCpu.length; cpu++)
        {
            nodeOfCpu[cpu] = cpu / cpusPerNode;
        }
    }

    public void attach(final Machine machine)
    {
        this.machine = machine;
    }

    public int keyframes()
    {
        return writer.keyframes();
    }

    /** A store by a cpu: the common case (one page, a known cpu, in memory) in a few instructions. */
    private void markCpu(final int cpu, final long paddr, final int size)
    {
        final long page = paddr >>> 12;
        if (cpu >= 0 && cpu < nodeOfCpu.length && page < pagesPerNode && ((paddr + size - 1) >>> 12) == page)
        {
            dirty[nodeOfCpu[cpu]][(int)(page >>> 6)] |= 1L << page;
        }
        else
        {
            mark(cpu / cpusPerNode, paddr, size);
        }
    }

    private void mark(final int node, final long paddr, final int size)
    {
        if (node < 0 || node >= dirty.length)
        {
            return;
        }
        final long first = paddr >>> 12;
        final long last = (paddr + size - 1) >>> 12;
        for (long p = first; p <= last; p++)
        {
            if (p >= 0 && p < pagesPerNode)
            {
                dirty[node][(int)(p >>> 6)] |= 1L << p;
            }
        }
    }

    private void counted()
    {
        if (++count == due)
        {
            due += every;
            keyframe();
        }
    }

    private int dirtyPages()
    {
        int n = 0;
        for (final long[] bits : dirty)
        {
            for (final long word : bits)
            {
                n += Long.bitCount(word);
            }
        }
        return n;
    }

    private void keyframe()
    {
        writer.reserve(dirtyPages());
        writer.begin(count, trace.chunks(), trace.digest());
        for (int i = 0; i < machine.cpuCount(); i++)
        {
            final CpuCore c = machine.core(i);
            writer.regs(i, c.pc(), c.icount(), c.sp(), c.fp(), c.flags(), c.cr3(), c.cr2(), c.cpl(),
                c.currentFiber() == null ? 0 : c.currentFiber().id());
        }
        writer.endRegs();
        for (int node = 0; node < dirty.length; node++)
        {
            final long[] bits = dirty[node];
            final byte[] mem = machine.memory(node).array();
            for (int w = 0; w < bits.length; w++)
            {
                long word = bits[w];
                while (word != 0)
                {
                    final int page = (w << 6) + Long.numberOfTrailingZeros(word);
                    word &= word - 1;
                    writer.page(node, page, mem);
                }
                bits[w] = 0;
            }
        }
        writer.end();
    }

    @Override
    public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
        final long paddr, final int size, final long value, final long oldValue)
    {
        trace.access(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
        if (kind == EventKind.STORE || kind == EventKind.RMW)
        {
            markCpu(cpu, paddr, size);
        }
        else if (kind == EventKind.DMA_WRITE)
        {
            mark(cpu - EventKind.deviceId(0), paddr, size);
        }
        counted();
    }

    @Override
    public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b,
        final long c)
    {
        trace.event(kind, cpu, icount, pc, a, b, c);
        counted();
    }

    @Override
    public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
        final byte[] payload, final int offset, final int length)
    {
        trace.net(kind, device, vtime, peerNode, frameId, payload, offset, length);
        counted();
    }
}
