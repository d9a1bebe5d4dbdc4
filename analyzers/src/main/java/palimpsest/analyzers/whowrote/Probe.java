package palimpsest.analyzers.whowrote;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.function.LongConsumer;

import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.dma.DmaProvenance;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.owner.Owners;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.DecodeAhead;

/**
 * Looks at chosen events in context: one streaming pass from the start of the trace up to the last
 * of them, with the machine shadow and the memory owners running, capturing for each the event
 * itself, the backtrace at that moment and what its physical address belonged to then. This is how
 * who-wrote and the oops chain print "backtrace at that moment" without keyframes.
 */
public final class Probe
{
    /** What was seen at one event. */
    public static final class Sight
    {
        public final Event event = new Event();
        public long task;
        public long[] stack = new long[0];
        public String owner = "";
        public long physKey;
        /** For a DMA access through a descriptor: the event the device read the buffer's address in, or -1. */
        public long dmaDescriptorEvent = -1;
        /** Physical key of that descriptor word, and the buffer address it held. */
        public long dmaDescriptorPhys;
        public long dmaBuffer;
    }

    /**
     * Answers "what was seen at these events", in the order asked. {@link #of} makes one pass per
     * call; {@link palimpsest.analyzers.AnalysisContext#looker} answers the probes the second stages
     * announced ({@link palimpsest.analyzers.Analyzer#probes}) from one shared pass.
     */
    public interface Looker
    {
        List<Sight> look(List<Long> events);
    }

    private Probe()
    {
    }

    /** A looker that makes one pass over the trace per call. */
    public static Looker of(final Path trace, final Symbols symbols)
    {
        return events -> look(trace, symbols, events);
    }

    public static List<Sight> look(final Path trace, final Symbols symbols, final List<Long> events)
    {
        return look(trace, symbols, events, null);
    }

    /** {@link #look(Path, Symbols, List)}, telling progress the events read so far (may be null). */
    public static List<Sight> look(final Path trace, final Symbols symbols, final List<Long> events, final LongConsumer progress)
    {
        final TreeMap<Long, Sight> wanted = new TreeMap<>();
        for (final long ev : events)
        {
            wanted.put(ev, new Sight());
        }
        if (!wanted.isEmpty())
        {
            // The wanted events in order, walked by a cursor: nothing per event but a compare.
            final long[] at = new long[wanted.size()];
            final Sight[] sights = new Sight[at.length];
            int n = 0;
            for (final java.util.Map.Entry<Long, Sight> w : wanted.entrySet())
            {
                at[n] = w.getKey();
                sights[n++] = w.getValue();
            }
            int next = 0;
            try (DecodeAhead r = DecodeAhead.open(trace))
            {
                final TraceHeader h = r.header();
                final MachineShadow shadow = new MachineShadow(h.cpuCount(), h.cpusPerNode());
                symbols.readModulesFrom(shadow.memory());
                final Owners owners = new Owners(shadow, symbols);
                final DmaProvenance dma = new DmaProvenance(shadow);
                Event e;
                while (next < at.length && (e = r.next()) != null)
                {
                    while (next < at.length && at[next] < e.index())
                    {
                        next++; // not in the readable trace
                    }
                    if (next < at.length && e.index() == at[next])
                    {
                        final Sight s = sights[next++];
                        s.event.copyFrom(e);
                        s.task = shadow.task(e.cpu());
                        s.stack = shadow.backtrace(e.cpu());
                        s.physKey = shadow.physKey(e.cpu(), e.paddr());
                        s.owner = owners.describe(s.physKey);
                        if (EventKind.isDevice(e.cpu()))
                        {
                            s.dmaDescriptorEvent = dma.descriptorEvent(e.cpu(), e.paddr());
                            if (s.dmaDescriptorEvent >= 0)
                            {
                                s.dmaDescriptorPhys = dma.descriptorPhys(e.cpu());
                                s.dmaBuffer = dma.buffer(e.cpu());
                            }
                        }
                    }
                    if (progress != null && (e.index() & 0xfffff) == 0)
                    {
                        progress.accept(e.index());
                    }
                    dma.onEvent(e);
                    owners.onEvent(e);
                    symbols.onEvent(e);
                    shadow.apply(e);
                }
            }
        }
        final List<Sight> out = new ArrayList<>();
        for (final long ev : events)
        {
            out.add(wanted.get(ev));
        }
        return out;
    }
}
