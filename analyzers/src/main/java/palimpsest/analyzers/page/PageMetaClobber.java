package palimpsest.analyzers.page;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import palimpsest.analyzers.AnalysisContext;
import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.kernel.mm.Page;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * Allocator metadata overwritten by another layer while its owner still relies on it. The page
 * allocator keeps a block's metadata in the head's struct page (the fields its allocation path
 * stores before the PAGE_ALLOC mark, or split_page's before PAGE_SPLIT: its order, count, flags). During the block's lifetime (PAGE_ALLOC
 * to PAGE_FREE) a plain store to one of those fields from code outside the allocator's own
 * functions (the functions its PAGE_ALLOC, PAGE_SPLIT and PAGE_FREE marks come from) is a foreign write; it is
 * reported when the allocator trusted it: the block was freed with an order other than it was
 * allocated with, and the free path had just read that order from the foreign value. The report
 * names the writer (function and stack), the field, the reader that trusted it, and the pages the
 * wrong order handed to the free lists while they were still in use; a later oops on one of those
 * pages is the same story. Atomic read-modify-writes (reference counts) are the fields' shared
 * protocol, not foreign writes. Class-level: nothing here knows which allocator or which layer wrote.
 */
public final class PageMetaClobber implements Analyzer
{
    private static final int RING = 32;
    private static final int MAX_FINDINGS = 4;

    /** A plain access to a struct page, kept for a few events per cpu. */
    private static final class Access
    {
        long event = -1;
        long pc;
        long vaddr;
        int size;
        long value;
    }

    /** A field the allocator stored at allocation, and its foreign overwrite if any. */
    private static final class Field
    {
        final int off;
        final int size;
        long value;
        long clobberEvent = -1;
        long clobberPc;
        long clobberValue;

        Field(final int off, final int size, final long value)
        {
            this.off = off;
            this.size = size;
            this.value = value;
        }
    }

    /** A live block of the page allocator. */
    private static final class Block
    {
        long pfn;
        int node;
        int order;
        long allocEvent;
        final List<Field> fields = new ArrayList<>();
    }

    /** A free that trusted a foreign value. */
    private static final class Clobbered
    {
        Block block;
        Field field;
        long loadEvent;
        long loadPc;
        long freeEvent;
        long freePc;
        int freedOrder;
        final List<String> swallowed = new ArrayList<>();
        final Set<Long> swallowedPfns = new HashSet<>();
        long oopsEvent = -1;
        long oopsPfn;
    }

    private final MachineShadow shadow;
    private final Symbols symbols;
    private final long memmapEnd;
    private final Map<Long, Block> live = new HashMap<>();
    private final Set<String> ownerFunctions = new HashSet<>();
    private final Access[][] stores;
    private final Access[][] loads;
    private final int[] storeAt;
    private final int[] loadAt;
    private final List<Clobbered> clobbered = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();
    private long blocks;
    private long foreign;

    public PageMetaClobber(final MachineShadow shadow, final Symbols symbols)
    {
        this.shadow = shadow;
        this.symbols = symbols;
        this.memmapEnd = Layout.VMEMMAP_START + Layout.VMEMMAP_SIZE;
        final int cpus = shadow.cpus();
        stores = new Access[cpus][RING];
        loads = new Access[cpus][RING];
        for (int c = 0; c < cpus; c++)
        {
            for (int i = 0; i < RING; i++)
            {
                stores[c][i] = new Access();
                loads[c][i] = new Access();
            }
        }
        storeAt = new int[cpus];
        loadAt = new int[cpus];
    }

    @Override
    public String name()
    {
        return "page-meta";
    }

    @Override
    public int kinds()
    {
        return 1 << EventKind.LOAD | 1 << EventKind.STORE | 1 << EventKind.MARK;
    }

    private boolean isMemmap(final long vaddr)
    {
        return Long.compareUnsigned(vaddr - Layout.VMEMMAP_START, memmapEnd - Layout.VMEMMAP_START) < 0;
    }

    private long blockKey(final int cpu, final long pfn)
    {
        return shadow.physKey(cpu, pfn << Layout.PAGE_SHIFT);
    }

    @Override
    public void onEvent(final Event e)
    {
        final int cpu = e.cpu();
        if (cpu >= shadow.cpus())
        {
            return;
        }
        final int kind = e.kind();
        if (kind == EventKind.MARK)
        {
            onMark(e, cpu);
            return;
        }
        if (!isMemmap(e.vaddr()))
        {
            return;
        }
        final Access a = kind == EventKind.STORE ? stores[cpu][storeAt[cpu]++ & (RING - 1)] : loads[cpu][loadAt[cpu]++ & (RING - 1)];
        a.event = e.index();
        a.pc = e.pc();
        a.vaddr = e.vaddr();
        a.size = e.size();
        a.value = e.value();
        if (kind == EventKind.STORE)
        {
            store(e, cpu);
        }
    }

    private void store(final Event e, final int cpu)
    {
        final long rel = e.vaddr() - Layout.VMEMMAP_START;
        final Block b = live.get(blockKey(cpu, rel / Page.SIZE));
        if (b == null)
        {
            return;
        }
        final int off = (int)(rel % Page.SIZE);
        for (final Field f : b.fields)
        {
            if (off >= f.off + f.size || f.off >= off + e.size())
            {
                continue;
            }
            final String fn = symbols.function(e.pc());
            if (fn != null && ownerFunctions.contains(fn) || off == f.off && e.size() == f.size && e.value() == f.value)
            {
                // The owner's own update, or the owner's value put back: nothing foreign stands.
                if (fn != null && ownerFunctions.contains(fn) && off == f.off && e.size() == f.size)
                {
                    f.value = e.value();
                }
                f.clobberEvent = -1;
                continue;
            }
            foreign++;
            f.clobberEvent = e.index();
            f.clobberPc = e.pc();
            f.clobberValue = e.value();
        }
    }

    private void onMark(final Event e, final int cpu)
    {
        final long type = e.a();
        if (type == Mark.PAGE_ALLOC)
        {
            allocated(e, cpu, e.b() >>> Layout.PAGE_SHIFT, (int)e.c());
        }
        else if (type == Mark.PAGE_SPLIT && e.c() >= 0 && e.c() <= 10)
        {
            // split_page: each page of the block is an order-0 allocation of its own from here on.
            final long pfn = e.b() >>> Layout.PAGE_SHIFT;
            live.remove(blockKey(cpu, pfn));
            for (long p = pfn; p < pfn + (1L << e.c()); p++)
            {
                allocated(e, cpu, p, 0);
            }
        }
        else if (type == Mark.PAGE_FREE)
        {
            freed(e, cpu);
        }
        else if (type == Mark.OOPS)
        {
            oops(e, cpu);
        }
    }

    private void allocated(final Event e, final int cpu, final long pfn, final int order)
    {
        if (order < 0 || order > 20)
        {
            return;
        }
        final String fn = symbols.function(e.pc());
        if (fn != null)
        {
            ownerFunctions.add(fn);
        }
        final Block b = new Block();
        b.pfn = pfn;
        b.node = MachineShadow.nodeOf(blockKey(cpu, pfn));
        b.order = order;
        b.allocEvent = e.index();
        final long head = Layout.VMEMMAP_START + pfn * Page.SIZE;
        // The allocation path's stores to the head's struct page, newest first (a field stored twice keeps its last value).
        for (int i = 1; i <= RING; i++)
        {
            final Access a = stores[cpu][(storeAt[cpu] - i) & (RING - 1)];
            if (a.event < 0 || a.vaddr < head || a.vaddr >= head + Page.SIZE || fn == null || !fn.equals(symbols.function(a.pc)))
            {
                continue;
            }
            final int off = (int)(a.vaddr - head);
            boolean have = false;
            for (final Field f : b.fields)
            {
                have |= f.off == off;
            }
            if (!have)
            {
                b.fields.add(new Field(off, a.size, a.value));
            }
        }
        live.put(blockKey(cpu, pfn), b);
        blocks++;
    }

    private void freed(final Event e, final int cpu)
    {
        final String fn = symbols.function(e.pc());
        if (fn != null)
        {
            ownerFunctions.add(fn);
        }
        final long pfn = e.b() >>> Layout.PAGE_SHIFT;
        final int order = (int)e.c();
        final Block b = live.remove(blockKey(cpu, pfn));
        if (b == null || order == b.order || clobbered.size() == MAX_FINDINGS)
        {
            return;
        }
        // Freed with another order: did the free path just read it from a foreign value?
        final long head = Layout.VMEMMAP_START + pfn * Page.SIZE;
        for (int i = 1; i <= RING; i++)
        {
            final Access a = loads[cpu][(loadAt[cpu] - i) & (RING - 1)];
            if (a.event < 0 || a.vaddr < head || a.vaddr >= head + Page.SIZE || a.value != order)
            {
                continue;
            }
            for (final Field f : b.fields)
            {
                if (f.clobberEvent >= 0 && f.clobberEvent < a.event && f.off == a.vaddr - head && f.clobberValue == a.value)
                {
                    final Clobbered c = new Clobbered();
                    c.block = b;
                    c.field = f;
                    c.loadEvent = a.event;
                    c.loadPc = a.pc;
                    c.freeEvent = e.index();
                    c.freePc = e.pc();
                    c.freedOrder = order;
                    swallowed(c, cpu);
                    clobbered.add(c);
                    return;
                }
            }
        }
    }

    /** The pages of the wrongly sized free outside the block, and which of them a live block held. */
    private void swallowed(final Clobbered c, final int cpu)
    {
        final long lo = c.block.pfn;
        final long hi = c.block.pfn + (1L << Math.min(c.freedOrder, 20));
        final long mine = c.block.pfn + (1L << c.block.order);
        for (long p = lo; p < hi && c.swallowed.size() < 8; p++)
        {
            if (p >= c.block.pfn && p < mine)
            {
                continue;
            }
            c.swallowedPfns.add(p);
            for (int o = 0; o <= 10; o++)
            {
                final long h = p & -(1L << o);
                final Block owner = live.get(blockKey(cpu, h));
                if (owner != null && owner.order >= o)
                {
                    c.swallowed.add("pfn " + Long.toHexString(p) + " (allocated at event " + owner.allocEvent + ", order " + owner.order + ")");
                    break;
                }
            }
        }
    }

    /** An oops on a page a wrong free handed out: the last struct page its cpu touched. */
    private void oops(final Event e, final int cpu)
    {
        Access last = null;
        for (int i = 1; i <= RING; i++)
        {
            final Access a = loads[cpu][(loadAt[cpu] - i) & (RING - 1)];
            if (a.event >= 0 && (last == null || a.event > last.event))
            {
                last = a;
            }
        }
        if (last == null || e.index() - last.event > 4096)
        {
            return;
        }
        final long pfn = (last.vaddr - Layout.VMEMMAP_START) / Page.SIZE;
        for (final Clobbered c : clobbered)
        {
            if (c.oopsEvent < 0 && MachineShadow.nodeOf(blockKey(cpu, pfn)) == c.block.node &&
                (c.swallowedPfns.contains(pfn) || pfn == c.block.pfn))
            {
                c.oopsEvent = e.index();
                c.oopsPfn = pfn;
            }
        }
    }

    @Override
    public Collection<Long> probes(final AnalysisContext context)
    {
        final List<Long> at = new ArrayList<>();
        for (final Clobbered c : clobbered)
        {
            at.add(c.field.clobberEvent);
            at.add(c.loadEvent);
            at.add(c.block.allocEvent);
        }
        return at;
    }

    @Override
    public void afterPass(final AnalysisContext context)
    {
        if (clobbered.isEmpty())
        {
            return;
        }
        final List<Probe.Sight> sights = context.looker().look(new ArrayList<>(probes(context)));
        for (int i = 0; i < clobbered.size(); i++)
        {
            report(clobbered.get(i), sights.get(3 * i), sights.get(3 * i + 1), sights.get(3 * i + 2));
        }
    }

    /** struct page's field at an offset ({@link Page}). */
    private static String field(final int off)
    {
        switch (off)
        {
            case Page.FLAGS:
                return "flags";
            case Page.COUNT:
                return "_count";
            case Page.MAPCOUNT:
                return "_mapcount";
            case Page.PRIVATE:
                return "private";
            case Page.LRU:
                return "lru";
            case Page.SLAB_CACHE:
                return "slab_cache";
            case Page.FREELIST:
                return "freelist";
            case Page.INUSE:
                return "inuse";
            default:
                return "+" + off;
        }
    }

    private void report(final Clobbered c, final Probe.Sight writer, final Probe.Sight reader, final Probe.Sight alloc)
    {
        final Field f = c.field;
        final String name = field(f.off);
        final String writerSym = symbols.sym(f.clobberPc);
        final String owner = symbols.function(alloc.event.pc());
        final StringBuilder sb = new StringBuilder();
        sb.append("=====================================================\n");
        sb.append("BUG: allocator metadata overwritten: ").append(writerSym).append(" wrote struct page ").append(name)
            .append(" of pfn ").append(Long.toHexString(c.block.pfn)).append(" (node ").append(c.block.node).append(") while ")
            .append(owner).append(" kept the block's ").append(name).append(" there\n");
        sb.append("The block (order ").append(c.block.order).append(") was allocated at event ").append(c.block.allocEvent).append(" by ")
            .append(symbols.chain(alloc.event.pc(), alloc.stack)).append(";\n");
        sb.append("its ").append(name).append(" (struct page +").append(f.off).append(") held 0x").append(Long.toHexString(f.value))
            .append(". At event ").append(f.clobberEvent).append(" cpu").append(writer.event.cpu()).append(" stored 0x")
            .append(Long.toHexString(f.clobberValue)).append(" there:\n");
        symbols.stack(sb, f.clobberPc, writer.stack);
        sb.append("At event ").append(c.loadEvent).append(" ").append(symbols.chain(c.loadPc, reader.stack)).append(" read it back (0x")
            .append(Long.toHexString(f.clobberValue)).append(") and at event ").append(c.freeEvent).append(" ").append(symbols.sym(c.freePc))
            .append(" freed the block as order ").append(c.freedOrder).append(", not ").append(c.block.order).append(".\n");
        if (!c.swallowed.isEmpty())
        {
            sb.append("Pages that went to the free lists with it while still in use: ").append(String.join(", ", c.swallowed)).append('\n');
        }
        if (c.oopsEvent >= 0)
        {
            sb.append("The oops at event ").append(c.oopsEvent).append(" is on pfn ").append(Long.toHexString(c.oopsPfn))
                .append(", one of the pages that free handed out.\n");
        }
        sb.append("=====================================================\n");
        final String title = "page-meta: " + writerSym + " overwrote struct page " + name + " of pfn " + Long.toHexString(c.block.pfn)
            + " (" + owner + "'s " + name + " 0x" + Long.toHexString(f.value) + " -> 0x" + Long.toHexString(f.clobberValue) + "); "
            + symbols.function(c.loadPc) + " trusted it and freed order " + c.freedOrder + " for an order-" + c.block.order + " block";
        findings.add(new Finding(name(), f.clobberEvent, title, sb.toString(), Finding.Role.CAUSE, "metadata-clobber",
            writerSym + "'s store to page->" + name, 95, c.loadEvent, c.freeEvent, c.oopsEvent));
    }

    @Override
    public String checked()
    {
        return blocks + " page blocks' metadata followed (" + foreign + " foreign stores)";
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    /** The factory ({@code pal analyze --only page-meta}). */
    public static final class Factory extends palimpsest.analyzers.ShadowAnalyzerFactory
    {
        public Factory()
        {
            super((AnalysisContext c) -> new PageMetaClobber(c.shadow, c.symbols), "page-meta",
                "allocator metadata in a struct page overwritten by another layer and trusted by the allocator (a free of the wrong order)");
        }
    }
}
