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

    private final Path trace;
    private final int cpusPerNode;

    private IndexedProbe(final Path trace, final StateIndex states, final WhoWroteIndex idx)
    {
        this.trace = trace;
        this.states = states;
        this.idx = idx;
        this.cpusPerNode = states.header().cpusPerNode();
    }

    /** The sights of the events, in their order, or null when one of them needs the pass. */
    public static List<Probe.Sight> look(final Path trace, final ScenarioCatalog catalog, final Symbols symbols,
        final WhoWroteIndex idx, final List<Long> events)
    {
        return look(trace, () -> catalog, symbols, idx, events);
    }

    /**
     * As {@link #look(Path, ScenarioCatalog, Symbols, WhoWroteIndex, List)}; the states are read
     * lazily from the trace's loaded image and keyframes ({@link StateIndex#view}), and the catalog
     * is asked only when the trace has no loaded image.
     */
    public static List<Probe.Sight> look(final Path trace, final java.util.function.Supplier<ScenarioCatalog> catalog,
        final Symbols symbols, final WhoWroteIndex idx, final List<Long> events)
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
        try
        {
            return new IndexedProbe(trace, states, idx).look(symbols, events, wanted);
        }
        catch (final palimpsest.replayer.state.KeyframeIndex.PageDamaged e)
        {
            return null; // a keyframe page damaged since its index was built: the pass does not need them
        }
    }

    /**
     * Three steps so that one machine's memory serves every state: read the events and find the
     * allocator marks their owners name (origins are placeholders then); rebuild the states of all
     * those events in ascending order, each going forward from the last; describe with the origins.
     */
    private List<Probe.Sight> look(final Symbols symbols, final List<Long> events, final TreeSet<Long> wanted)
    {
        final Map<Long, Probe.Sight> seen = new HashMap<>();
        final TreeSet<Long> needed = new TreeSet<>(wanted);
        final Map<Long, java.util.Set<Integer>> caches = new HashMap<>();
        try (palimpsest.trace.EventCursor r = palimpsest.trace.TraceSeeker.cursor(trace))
        {
            for (final long ev : wanted)
            {
                final Event e = new Event();
                if (!r.seek(ev) || !r.next(e) || e.index() != ev || EventKind.isDevice(e.cpu()))
                {
                    return null;
                }
                final Probe.Sight s = new Probe.Sight();
                s.event.copyFrom(e);
                s.physKey = (long)(e.cpu() / Math.max(1, cpusPerNode)) << 48 | e.paddr();
                final java.util.Set<Integer> ids = new java.util.TreeSet<>();
                OwnerText.describe(new IndexedOwners(idx, ev, at ->
                {
                    needed.add(at);
                    return new Origin(at, 0, 0, 0, new long[0]);
                }, id ->
                {
                    ids.add(id);
                    return "";
                }), symbols, s.physKey);
                caches.put(ev, ids);
                seen.put(ev, s);
            }
        }
        TraceState st = null;
        final Map<Long, Map<Integer, String>> names = new HashMap<>();
        for (final long ev : needed)
        {
            st = states.view(ev, scratch, st);
            if (scratch.index() != ev)
            {
                return null;
            }
            final long[] stack = returnAddresses(st, scratch.cpu());
            final long task = idx.task(scratch.cpu(), ev);
            origins.put(ev, new Origin(ev, scratch.cpu(), task, scratch.pc(), stack));
            final Probe.Sight s = seen.get(ev);
            if (s != null)
            {
                s.task = task;
                s.stack = stack;
                final Map<Integer, String> n = new HashMap<>();
                for (final int id : caches.get(ev))
                {
                    n.put(id, cacheName(st, id));
                }
                names.put(ev, n);
            }
        }
        for (final long ev : wanted)
        {
            final Map<Integer, String> n = names.get(ev);
            seen.get(ev).owner = OwnerText.describe(new IndexedOwners(idx, ev, origins::get, n::get), symbols, seen.get(ev).physKey);
        }
        final TraceState last = st;
        symbols.readModulesFrom(new KernelInspector.Memory()
        {
            @Override
            public long read(final long paddr, final int size)
            {
                return last.backed(0, paddr, size) ? last.readPhys(0, paddr, size) : 0;
            }

            @Override
            public long size()
            {
                return last.ramSize(0);
            }
        });
        final List<Probe.Sight> out = new ArrayList<>();
        for (final long ev : events)
        {
            out.add(seen.get(ev));
        }
        return out;
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
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; pa >= 0 && i < 23 && st.backed(0, pa + i, 1); i++)
        {
            final int c = (int)st.readPhys(0, pa + i, 1);
            if (c == 0)
            {
                break;
            }
            sb.append((char)c);
        }
        return sb.length() > 0 ? sb.toString() : "cache#" + id;
    }
}
