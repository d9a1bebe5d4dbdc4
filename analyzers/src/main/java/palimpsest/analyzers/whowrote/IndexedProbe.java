package palimpsest.analyzers.whowrote;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.owner.IndexedOwners;
import palimpsest.analyzers.owner.Origin;
import palimpsest.analyzers.owner.OwnerText;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.kernel.KernelInspector;
import palimpsest.kernel.mm.Slab;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.state.StateIndex;
import palimpsest.replayer.state.TraceState;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * {@link Probe} without the pass: each chosen event's backtrace comes from the machine state just
 * before it (nearest keyframe on disk plus the gap, {@link StateIndex}), its task and what its
 * address belonged to from the who-wrote index's tables ({@link IndexedOwners}), so the cost is a
 * few keyframe gaps whatever the trace's length. Events it cannot see this way (a device's write,
 * whose descriptor needs the DMA engine's history; a module unloaded before, whose names need the
 * pass) make {@link #look} return null: the caller then probes with the pass.
 */
public final class IndexedProbe
{
    private final StateIndex states;
    private final WhoWroteIndex idx;
    private final Map<Long, Origin> origins = new HashMap<>();
    private final Event scratch = new Event();

    private IndexedProbe(final StateIndex states, final WhoWroteIndex idx)
    {
        this.states = states;
        this.idx = idx;
    }

    /** The sights of the events, in their order, or null when one of them needs the pass. */
    public static List<Probe.Sight> look(final Path trace, final ScenarioCatalog catalog, final Symbols symbols,
        final WhoWroteIndex idx, final List<Long> events)
    {
        if (events.isEmpty())
        {
            return new ArrayList<>();
        }
        final TreeSet<Long> wanted = new TreeSet<>(events);
        if (idx.unloadBefore(wanted.last() + 1) || wanted.last() >= idx.events())
        {
            return null;
        }
        final StateIndex states;
        try
        {
            states = StateIndex.open(trace, catalog);
        }
        catch (final IllegalArgumentException e)
        {
            return null; // a scenario this pal lacks: no machine to rebuild the state of
        }
        return new IndexedProbe(states, idx).look(symbols, events, wanted);
    }

    private List<Probe.Sight> look(final Symbols symbols, final List<Long> events, final TreeSet<Long> wanted)
    {
        final Map<Long, Probe.Sight> seen = new HashMap<>();
        TraceState last = null;
        for (final long ev : wanted)
        {
            final Event e = new Event();
            final TraceState st = states.at(ev, e);
            if (e.index() != ev || EventKind.isDevice(e.cpu()))
            {
                return null;
            }
            final Probe.Sight s = new Probe.Sight();
            s.event.copyFrom(e);
            s.task = idx.task(e.cpu(), ev);
            s.stack = returnAddresses(st, e.cpu());
            s.physKey = (long)st.nodeOf(e.cpu()) << 48 | e.paddr();
            final IndexedOwners owners = new IndexedOwners(idx, ev, this::origin, id -> cacheName(st, id));
            s.owner = OwnerText.describe(owners, symbols, s.physKey);
            seen.put(ev, s);
            last = st;
        }
        final PhysicalMemory node0 = last.memory(0);
        symbols.readModulesFrom(new KernelInspector.Memory()
        {
            @Override
            public long read(final long paddr, final int size)
            {
                return node0.backed(paddr, size) ? node0.read(paddr, size) : 0;
            }

            @Override
            public long size()
            {
                return node0.size();
            }
        });
        final List<Probe.Sight> out = new ArrayList<>();
        for (final long ev : events)
        {
            out.add(seen.get(ev));
        }
        return out;
    }

    /** Who was at an allocator mark: cpu, task, pc and backtrace just before it. */
    private Origin origin(final long ev)
    {
        Origin o = origins.get(ev);
        if (o == null)
        {
            final TraceState st = states.at(ev, scratch);
            o = new Origin(ev, scratch.cpu(), idx.task(scratch.cpu(), ev), scratch.pc(), returnAddresses(st, scratch.cpu()));
            origins.put(ev, o);
        }
        return o;
    }

    /** The frame-pointer chain's return addresses (the pc itself is not one), as MachineShadow gives them. */
    private static long[] returnAddresses(final TraceState st, final int cpu)
    {
        if (cpu >= st.cpuCount())
        {
            return new long[0];
        }
        final List<Long> frames = st.backtrace(cpu, MachineShadow.MAX_FRAMES + 1);
        final long[] out = new long[Math.max(0, frames.size() - 1)];
        for (int i = 0; i < out.length; i++)
        {
            out[i] = frames.get(i + 1);
        }
        return out;
    }

    /** A slab cache's name from its struct kmem_cache in the kernel's memory then. */
    private static String cacheName(final TraceState st, final int id)
    {
        final long pa = MachineShadow.fixedPa(Slab.cacheAddr(id));
        final PhysicalMemory m = st.memory(0);
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; pa >= 0 && i < 23 && m.backed(pa + i, 1); i++)
        {
            final int c = (int)m.read(pa + i, 1);
            if (c == 0)
            {
                break;
            }
            sb.append((char)c);
        }
        return sb.length() > 0 ? sb.toString() : "cache#" + id;
    }
}
