package palimpsest.analyzers.dma;

import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.AnalysisContext;
import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.AnalyzerFactory;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.LongLongMap;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.owner.Origin;
import palimpsest.analyzers.owner.Owners;
import palimpsest.analyzers.owner.PageBlock;
import palimpsest.analyzers.owner.SlabObject;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * DMA causality and DMA after free. Every DMA write is attributed to its device, to the descriptor
 * the device read the buffer address from ({@link DmaProvenance}) and, in the second stage, to the
 * CPU store that posted that descriptor (the who-wrote index: the last writer of the descriptor word
 * before the device read it). A buffer whose memory was freed after it was posted, or allocated
 * again since (it was freed and is someone else's now), while the device still owned it, is a
 * use-after-free: {@code BUG: KASAN: use-after-free in DMA by nic0} naming who posted the buffer and
 * who freed it. A DMA into a buffer allocated before it was posted and still live is what drivers
 * do, and is not reported.
 *
 * <p>Ownership is the slab objects and page blocks of {@link Owners} at the DMA write. One
 * candidate per buffer fill (descriptor read), checked on its first write.
 */
public final class DmaAfterFree implements Analyzer
{
    public static final String NAME = "dma";

    private final MachineShadow shadow;
    private final Owners owners;
    private final Symbols symbols;
    private final DmaProvenance provenance;
    private final LongLongMap seenFill = new LongLongMap(256, -1);
    private final List<Candidate> candidates = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();
    private long dmaWrites;
    private long fills;

    private static final class Candidate
    {
        final long event;
        final int device;
        final long paddr;
        final int size;
        final long value;
        final long descriptorEvent;
        final long descriptorPhys;
        final long buffer;
        final Origin allocated;
        final Origin freed;
        final String owner;

        Candidate(final Event e, final long descriptorEvent, final long descriptorPhys, final long buffer, final Origin allocated,
            final Origin freed, final String owner)
        {
            this.event = e.index();
            this.device = e.cpu();
            this.paddr = e.paddr();
            this.size = e.size();
            this.value = e.value();
            this.descriptorEvent = descriptorEvent;
            this.descriptorPhys = descriptorPhys;
            this.buffer = buffer;
            this.allocated = allocated;
            this.freed = freed;
            this.owner = owner;
        }
    }

    public DmaAfterFree(final MachineShadow shadow, final Owners owners, final Symbols symbols)
    {
        this.shadow = shadow;
        this.owners = owners;
        this.symbols = symbols;
        this.provenance = new DmaProvenance(shadow);
    }

    @Override
    public String name()
    {
        return NAME;
    }

    /** The kinds {@link #onEvent} looks at. */
    private static final int KINDS = 1 << EventKind.DMA_READ | 1 << EventKind.DMA_WRITE;

    @Override
    public int kinds()
    {
        return KINDS;
    }

    @Override
    public void onEvent(final Event e)
    {
        provenance.onEvent(e);
        if (e.kind() != EventKind.DMA_WRITE || !EventKind.isDevice(e.cpu()))
        {
            return;
        }
        dmaWrites++;
        final long desc = provenance.descriptorEvent(e.cpu(), e.paddr());
        if (desc < 0 || seenFill.containsKey(desc))
        {
            return; // a write-back into the descriptor itself, or a fill already looked at
        }
        seenFill.put(desc, 1);
        fills++;
        final long key = shadow.physKey(e.cpu(), e.paddr());
        final SlabObject o = owners.objectAt(key);
        Origin allocated = null;
        Origin freed = null;
        if (o != null)
        {
            allocated = o.allocated;
            freed = o.freed;
        }
        else
        {
            final PageBlock b = owners.blockAt(key);
            if (b != null)
            {
                allocated = b.allocated;
                freed = b.freed;
            }
        }
        if (allocated == null)
        {
            return; // memory the allocators never handed out (bare metal, a boot-time ring): nothing to check
        }
        candidates.add(new Candidate(e, desc, provenance.descriptorPhys(e.cpu()), provenance.buffer(e.cpu()), allocated, freed,
            owners.describe(key)));
    }

    /** The posting store of every fill that hit a buffer freed or reallocated while the device owned it. */
    @Override
    public java.util.Collection<Long> probes(final AnalysisContext context)
    {
        final List<Long> posts = new ArrayList<>();
        if (!candidates.isEmpty())
        {
            suspects(context.whoWrote(), new ArrayList<>(), posts);
        }
        return posts;
    }

    /** The candidates whose buffer was freed or allocated after the device was handed it, with their posting stores. */
    private void suspects(final WhoWroteIndex idx, final List<Candidate> bad, final List<Long> posts)
    {
        for (final Candidate c : candidates)
        {
            final List<WhoWroteIndex.Write> ws = idx.writers(c.descriptorPhys, 8, c.descriptorEvent, false);
            if (ws.isEmpty())
            {
                continue;
            }
            final long posted = ws.get(0).event; // newest first: the store that last set the buffer address
            final boolean freedWhileOwned = c.freed != null && c.freed.event > posted && c.freed.event < c.event;
            final boolean reallocated = c.allocated.event > posted;
            if (freedWhileOwned || reallocated)
            {
                bad.add(c);
                posts.add(posted);
            }
        }
    }

    @Override
    public void afterPass(final AnalysisContext context)
    {
        if (candidates.isEmpty())
        {
            return;
        }
        final List<Candidate> bad = new ArrayList<>();
        final List<Long> posts = new ArrayList<>();
        suspects(context.whoWrote(), bad, posts);
        if (bad.isEmpty())
        {
            return;
        }
        final List<Probe.Sight> sights = context.looker().look(posts);
        for (int i = 0; i < bad.size() && findings.size() < 16; i++)
        {
            final Candidate c = bad.get(i);
            final Probe.Sight post = sights.get(i);
            final Origin poster = new Origin(post.event.index(), post.event.cpu(), post.task, post.event.pc(), post.stack);
            final String freer = c.freed != null ? symbols.chain(c.freed.pc, java.util.Arrays.copyOf(c.freed.stack,
                Math.min(2, c.freed.stack.length))) : "";
            findings.add(new Finding(NAME, c.event, title(c, poster), report(c, poster), Finding.Role.CAUSE, "dma-use-after-free",
                freer.isEmpty() ? symbols.chain(c.allocated.pc, new long[0]) : freer, 85, poster.event, c.descriptorEvent));
        }
    }

    private String title(final Candidate c, final Origin poster)
    {
        return "KASAN: use-after-free in DMA by " + DmaProvenance.deviceName(c.device) + ": buffer " +
            Long.toHexString(c.buffer) + " posted by " + symbols.chain(poster.pc, poster.stack) +
            (c.freed != null ? ", freed by " + symbols.chain(c.freed.pc, c.freed.stack) : ", allocated again since");
    }

    private String report(final Candidate c, final Origin poster)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("BUG: KASAN: use-after-free in DMA by ").append(DmaProvenance.deviceName(c.device)).append('\n');
        sb.append("Write of size ").append(c.size).append(" at phys ").append(Long.toHexString(c.paddr)).append(" by ")
            .append(DmaProvenance.deviceName(c.device)).append(" at event ").append(c.event).append(": 0x")
            .append(Long.toHexString(c.value)).append('\n');
        sb.append("through the descriptor at phys ").append(Long.toHexString(MachineShadow.paddrOf(c.descriptorPhys)))
            .append(" (read by the device at event ").append(c.descriptorEvent).append("), buffer ")
            .append(Long.toHexString(c.buffer)).append('\n');
        sb.append("\nThe buffer was posted (descriptor written) by");
        poster.describe(sb, symbols);
        sb.append("\nThe buffer's memory was allocated by");
        c.allocated.describe(sb, symbols);
        if (c.freed != null)
        {
            sb.append("\nand freed, while the device still owned it, by");
            c.freed.describe(sb, symbols);
        }
        else
        {
            sb.append("after the descriptor was posted: the posted buffer had been freed and its memory handed out again\n");
        }
        sb.append('\n').append(c.owner);
        return sb.toString();
    }

    @Override
    public String checked()
    {
        return dmaWrites + " DMA writes, " + fills + " buffer fills traced to their descriptors";
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    public static final class Factory implements AnalyzerFactory
    {
        @Override
        public String name()
        {
            return NAME;
        }

        @Override
        public String description()
        {
            return "DMA causality: device writes traced to their descriptor and posting store; DMA into freed/reallocated memory";
        }

        @Override
        public Analyzer create(final AnalysisContext c)
        {
            return new DmaAfterFree(c.shadow, c.owners, c.symbols);
        }
    }
}
