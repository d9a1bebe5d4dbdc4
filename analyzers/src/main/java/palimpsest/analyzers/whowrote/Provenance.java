package palimpsest.analyzers.whowrote;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceHeader;

/**
 * Where a byte's value came from, hop by hop, across copies and across nodes. From a write it
 * goes back while the write only moved a value: a store whose value its cpu had just loaded (the
 * body of every memcpy-style loop) continues at the last writer of the loaded byte; a NIC's DMA
 * write of a received frame continues at the sender's memory the frame was read from (the frame's
 * NET_SEND, the byte at the same payload offset in the sender's TX buffer). It stops at the first
 * write that made the value (the origin) or at a byte nobody wrote during the trace. This is the
 * class "data that arrived from elsewhere": a page shipped by a memory node, a DMA'd buffer, a
 * copied structure; nothing here knows LegoOS.
 */
public final class Provenance
{
    /** One hop: the write at event, into phys (node << 48 | paddr), and how the value got there. */
    public static final class Hop
    {
        public enum Kind { COPY, DMA, SEND, ORIGIN, UNWRITTEN }

        public final Kind kind;
        public final Event event = new Event();
        /** The byte written (node << 48 | paddr). */
        public final long phys;
        /** COPY: the byte loaded (node << 48 | paddr) and the load's event; DMA: frame id and payload offset. */
        public final long from;
        public final long at;

        Hop(final Kind kind, final Event e, final long phys, final long from, final long at)
        {
            this.kind = kind;
            if (e != null)
            {
                this.event.copyFrom(e);
            }
            this.phys = phys;
            this.from = from;
            this.at = at;
        }
    }

    private static final int MAX_HOPS = 32;
    private static final int WINDOW = 4096;

    private final palimpsest.trace.EventCursor reader;
    private final WhoWroteIndex index;
    private final int cpusPerNode;

    private Provenance(final palimpsest.trace.EventCursor reader, final WhoWroteIndex index)
    {
        this.reader = reader;
        this.index = index;
        this.cpusPerNode = reader.header().cpusPerNode();
    }

    /** The hops from the write at event writeEvent of the byte phys (node << 48 | paddr). */
    public static List<Hop> follow(final Path trace, final WhoWroteIndex index, final long writeEvent, final long phys)
    {
        // Seeks through the chunk table (no Chronicle start): each hop reads a few windows of events.
        try (palimpsest.trace.EventCursor r = palimpsest.trace.TraceSeeker.cursor(trace))
        {
            return new Provenance(r, index).follow(writeEvent, phys);
        }
    }

    /** Whether the hops left the node the byte is on (a DMA hop). */
    public static boolean crossesNodes(final List<Hop> hops)
    {
        for (final Hop h : hops)
        {
            if (h.kind == Hop.Kind.DMA)
            {
                return true;
            }
        }
        return false;
    }

    private int nodeOf(final int cpu)
    {
        return EventKind.isDevice(cpu) ? cpu - 0x8000 : cpu / cpusPerNode;
    }

    private List<Hop> follow(final long writeEvent, final long phys)
    {
        final List<Hop> hops = new ArrayList<>();
        long ev = writeEvent;
        long key = phys;
        final Event e = new Event();
        final Event p = new Event();
        for (int hop = 0; hop < MAX_HOPS; hop++)
        {
            if (!at(ev, e))
            {
                break;
            }
            final long pa = key & ((1L << 48) - 1);
            if (e.kind() == EventKind.DMA_WRITE)
            {
                // A received frame: find its delivery, the frame's send, and the sender's byte.
                final Event deliver = new Event();
                if (!forward(ev, EventKind.NET_DELIVER, e.cpu(), -1, deliver))
                {
                    hops.add(new Hop(Hop.Kind.ORIGIN, e, key, 0, 0));
                    break;
                }
                final Event lastWrite = new Event();
                final long rxBase = before(deliver.index(), EventKind.DMA_WRITE, e.cpu(), lastWrite) ?
                    lastWrite.paddr() + lastWrite.size() - deliver.payloadLength() : e.paddr();
                final long off = pa - rxBase;
                hops.add(new Hop(Hop.Kind.DMA, e, key, deliver.b(), off));
                final int srcNode = (int)deliver.a();
                final Event send = new Event();
                if (!backward(deliver.index(), EventKind.NET_SEND, EventKind.deviceId(srcNode), deliver.b(), send))
                {
                    break;
                }
                final Event lastRead = new Event();
                if (!before(send.index(), EventKind.DMA_READ, send.cpu(), lastRead))
                {
                    break;
                }
                final long txByte = (long)srcNode << 48 | (lastRead.paddr() + lastRead.size() - send.payloadLength() + off);
                hops.add(new Hop(Hop.Kind.SEND, send, txByte, send.b(), off));
                ev = lastWriter(txByte, send.index(), hops, send);
                if (ev < 0)
                {
                    break;
                }
                key = txByte;
                continue;
            }
            if (e.kind() != EventKind.STORE && e.kind() != EventKind.RMW)
            {
                hops.add(new Hop(Hop.Kind.ORIGIN, e, key, 0, 0));
                break;
            }
            if (!previousAccess(e, p) || p.kind() != EventKind.LOAD || p.size() != e.size() || p.value() != e.value())
            {
                hops.add(new Hop(Hop.Kind.ORIGIN, e, key, 0, 0));
                break;
            }
            final long src = (long)nodeOf(p.cpu()) << 48 | (p.paddr() + (pa - e.paddr()));
            hops.add(new Hop(Hop.Kind.COPY, e, key, src, p.index()));
            ev = lastWriter(src, p.index(), hops, p);
            if (ev < 0)
            {
                break;
            }
            key = src;
        }
        return hops;
    }

    /** The event of the last write of byteKey before an event, or -1 (an UNWRITTEN hop is added). */
    private long lastWriter(final long byteKey, final long before, final List<Hop> hops, final Event reader)
    {
        final List<WhoWroteIndex.Write> ws = index.writers(byteKey, 1, before, false);
        if (ws.isEmpty())
        {
            hops.add(new Hop(Hop.Kind.UNWRITTEN, reader, byteKey, 0, before));
            return -1;
        }
        return ws.get(0).event;
    }

    private boolean at(final long index, final Event e)
    {
        return reader.seek(index) && reader.next(e) && e.index() == index;
    }

    /** The access by the same cpu just before e (page-table walks aside). */
    private boolean previousAccess(final Event e, final Event out)
    {
        final long from = Math.max(0, e.index() - 512);
        if (!reader.seek(from))
        {
            return false;
        }
        final Event x = new Event();
        boolean found = false;
        while (reader.next(x) && x.index() < e.index())
        {
            if (x.cpu() == e.cpu() && x.kind() <= EventKind.FETCH)
            {
                out.copyFrom(x);
                found = true;
            }
        }
        return found;
    }

    /** The last event of kind by cpu before index, among the contiguous run just before it. */
    private boolean before(final long index, final int kind, final int cpu, final Event out)
    {
        final long from = Math.max(0, index - 64);
        if (!reader.seek(from))
        {
            return false;
        }
        final Event x = new Event();
        boolean found = false;
        while (reader.next(x) && x.index() < index)
        {
            if (x.cpu() == cpu && x.kind() == kind)
            {
                out.copyFrom(x);
                found = true;
            }
        }
        return found;
    }

    private boolean forward(final long from, final int kind, final int cpu, final long b, final Event out)
    {
        if (!reader.seek(from))
        {
            return false;
        }
        final Event x = new Event();
        while (reader.next(x) && x.index() < from + 4 * WINDOW)
        {
            if (x.kind() == kind && x.cpu() == cpu && (b < 0 || x.b() == b))
            {
                out.copyFrom(x);
                return true;
            }
        }
        return false;
    }

    private boolean backward(final long from, final int kind, final int cpu, final long b, final Event out)
    {
        for (long end = from; end > 0; end -= WINDOW)
        {
            final long start = Math.max(0, end - WINDOW);
            if (!reader.seek(start))
            {
                return false;
            }
            final Event x = new Event();
            boolean found = false;
            while (reader.next(x) && x.index() < end)
            {
                if (x.kind() == kind && x.cpu() == cpu && x.b() == b)
                {
                    out.copyFrom(x);
                    found = true;
                }
            }
            if (found)
            {
                return true;
            }
        }
        return false;
    }

    /** Node name for printing: the header's roles (P0, M1...) or nodeN. */
    public static String nodeName(final TraceHeader h, final int node)
    {
        final String roles = h.scenarioArgs().get("roles");
        if (roles != null)
        {
            final String[] r = roles.split(",");
            if (node < r.length)
            {
                return r[node];
            }
        }
        return "node" + node;
    }
}
