package palimpsest.analyzers.page;

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
import palimpsest.emulator.Paging;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * Page lifetime, KASAN's use-after-free at page granularity, from PAGE_ALLOC/PAGE_FREE and the
 * page walks:
 * <ul>
 *   <li>a CPU write into a page after it was freed (and before it is allocated again): whoever
 *       wrote still held an address of it without a page reference;</li>
 *   <li>a write through a user virtual address into a page that, since its current allocation, is
 *       a page-table page (the MMU walked it) or a slab page (slab objects live in it): a user
 *       mapping that outlived the page's free, the page now somebody else's;</li>
 *   <li>a kernel write into a page that, since its current allocation, is a page-table page (the
 *       MMU walked it, or the kernel linked it into an upper-level table the MMU walked), by the
 *       very code that last wrote it in its previous life, which was not a page table: that code
 *       kept its address across the free (a stale pointer or pfn) and writes into whatever the
 *       page became.</li>
 * </ul>
 * The report names who freed the page (the last PAGE_FREE covering it), who holds the stale
 * address (a direct-map alias, a user mapping of task T at V, a vmalloc alias) and who owns the
 * page now. The buddy allocator keeps its free lists in {@code struct page} (vmemmap), never in
 * the free pages themselves, so no allocator write is an exception. DMA into freed memory is the
 * dma analyzer's. One report per writing pc, with the count of further writes.
 */
public final class PageLifetime implements Analyzer
{
    public static final String NAME = "page";

    private final MachineShadow shadow;
    private final Owners owners;
    private final Symbols symbols;
    /** physical page (key >>> 12) -> index into frees, while the page is free. */
    private final LongLongMap freePages = new LongLongMap(1024, -1);
    /** physical page -> index into frees of the last free of it (kept after it is allocated again). */
    private final LongLongMap lastFree = new LongLongMap(1024, -1);
    /** physical page -> event of the first walk through it since its current allocation. */
    private final LongLongMap tablePages = new LongLongMap(1024, -1);
    /** Reused physical pages slab objects were carved from since their current allocation. */
    private final LongLongMap slabPages = new LongLongMap(256, -1);
    /** physical page -> event of its current allocation. */
    private final LongLongMap allocatedAt = new LongLongMap(1024, -1);
    /** physical page -> pc of the last store into it (this life). */
    private final LongLongMap lastWriter = new LongLongMap(4096, -1);
    /** physical page -> pc of the last store into it in its previous life, when that life was not as a page table. */
    private final LongLongMap previousWriter = new LongLongMap(1024, -1);
    /** physical page -> the level (4..1) at which the MMU last walked an entry in it. */
    private final LongLongMap walkLevel = new LongLongMap(1024, -1);
    /** physical page -> its level when the kernel linked it into an upper-level table (this life). */
    private final LongLongMap linkLevel = new LongLongMap(256, -1);
    /** Per cpu: the last walk's vaddr, level and entry (to tell each entry's level in a walk). */
    private final long[] walkVaddr;
    private final int[] walkLevelOf;
    private final long[] walkValue;
    private final List<Origin> frees = new ArrayList<>();
    private final LongLongMap byPc = new LongLongMap(16, -1);
    private final List<Hit> hits = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();

    private static final class Hit
    {
        final Origin writer;
        final long vaddr;
        final long key;
        final int size;
        final long value;
        final long old;
        final Origin freedBy;
        final String nowOwner;
        final String reuse;
        /** A kernel write through a stale reference into a page now a page table (not a free page). */
        final boolean stale;
        long more;
        /** The latest write of this pc to the bytes it hit first. */
        long last;

        Hit(final Origin writer, final Event e, final long key, final Origin freedBy, final String nowOwner, final String reuse,
            final boolean stale)
        {
            this.stale = stale;
            this.last = e.index();
            this.writer = writer;
            this.vaddr = e.vaddr();
            this.key = key;
            this.size = e.size();
            this.value = e.value();
            this.old = e.oldValue();
            this.freedBy = freedBy;
            this.nowOwner = nowOwner;
            this.reuse = reuse;
        }
    }

    public PageLifetime(final MachineShadow shadow, final Owners owners, final Symbols symbols)
    {
        this.shadow = shadow;
        this.owners = owners;
        this.symbols = symbols;
        this.walkVaddr = new long[shadow.cpus()];
        this.walkLevelOf = new int[shadow.cpus()];
        this.walkValue = new long[shadow.cpus()];
    }

    @Override
    public String name()
    {
        return NAME;
    }

    /** The kinds {@link #onEvent} looks at. */
    private static final int KINDS = 1 << EventKind.MARK | 1 << EventKind.WALK | 1 << EventKind.STORE | 1 << EventKind.RMW;

    @Override
    public int kinds()
    {
        return KINDS;
    }

    @Override
    public void onEvent(final Event e)
    {
        final int kind = e.kind();
        final int cpu = e.cpu();
        if (kind == EventKind.MARK)
        {
            mark(e);
            return;
        }
        if (cpu >= shadow.cpus())
        {
            return;
        }
        if (kind == EventKind.WALK)
        {
            final long page = shadow.physKey(cpu, e.paddr()) >>> 12;
            if (allocatedAt.size() > 0 && allocatedAt.containsKey(page) && !tablePages.containsKey(page))
            {
                tablePages.put(page, e.index());
            }
            // Each translation walks levels 4..1 in order, and stops at an entry it cannot follow.
            final long prev = walkValue[cpu];
            final int level = walkVaddr[cpu] == e.vaddr() && walkLevelOf[cpu] > 1 && (prev & Paging.P) != 0 &&
                (prev & Paging.RSVD_MASK) == 0 ? walkLevelOf[cpu] - 1 : 4;
            walkVaddr[cpu] = e.vaddr();
            walkLevelOf[cpu] = level;
            walkValue[cpu] = e.value();
            if (walkLevel.get(page) != level)
            {
                walkLevel.put(page, level);
            }
            return;
        }
        if (kind != EventKind.STORE && kind != EventKind.RMW)
        {
            return;
        }
        final long key = shadow.physKey(cpu, e.paddr());
        final long page = key >>> 12;
        if (lastWriter.get(page) != e.pc())
        {
            lastWriter.put(page, e.pc());
        }
        if (freePages.size() > 0)
        {
            final long f = freePages.get(page);
            if (f >= 0)
            {
                hit(e, key, frees.get((int)f), "nobody: the page is free in the buddy allocator", null, false);
                return;
            }
        }
        final boolean kernel = e.vaddr() < 0;
        if (kernel && e.size() == 8 && (e.value() & Paging.P) != 0)
        {
            final long level = Math.max(walkLevel.get(page), linkLevel.get(page));
            if (level > 1)
            {
                // An entry of an upper-level table: the frame it names is a page table (one level
                // down) from now on, walked or not yet.
                final long linked = shadow.physKey(cpu, e.value() & Paging.ADDR_MASK) >>> 12;
                if (linkLevel.get(linked) != level - 1)
                {
                    linkLevel.put(linked, level - 1);
                }
                if (allocatedAt.size() > 0 && allocatedAt.containsKey(linked) && !tablePages.containsKey(linked))
                {
                    tablePages.put(linked, e.index());
                }
            }
        }
        if (kernel && previousWriter.size() > 0 && previousWriter.get(page) == e.pc() && tablePages.containsKey(page) &&
            allocatedAt.containsKey(page))
        {
            final long lf = lastFree.get(page);
            hit(e, key, lf >= 0 ? frees.get((int)lf) : null, owners.describe(key), "a page-table page (linked or walked at event " +
                tablePages.get(page) + ")", true);
            return;
        }
        if (e.vaddr() >= 0 && e.vaddr() < Layout.USER_TOP && allocatedAt.containsKey(page))
        {
            final long walked = tablePages.get(page);
            final boolean slab = walked < 0 && slabPages.containsKey(page);
            if (walked >= 0 || slab)
            {
                final long lf = lastFree.get(page);
                hit(e, key, lf >= 0 ? frees.get((int)lf) : null, owners.describe(key),
                    walked >= 0 ? "a page-table page (walked by the MMU at event " + walked + ")" : "a slab page", false);
            }
        }
    }

    private void mark(final Event e)
    {
        final long type = e.a();
        if (type == Mark.SLAB_ALLOC && allocatedAt.size() > 0)
        {
            final long key = shadow.translate(e.cpu(), e.b());
            final long page = key >>> 12;
            if (key >= 0 && allocatedAt.containsKey(page) && !slabPages.containsKey(page))
            {
                slabPages.put(page, 1);
            }
            return;
        }
        if (type != Mark.PAGE_ALLOC && type != Mark.PAGE_FREE)
        {
            return;
        }
        final long key = shadow.physKey(e.cpu(), e.b());
        final long pages = 1L << Math.min(e.c(), 10);
        if (type == Mark.PAGE_FREE)
        {
            final int idx = frees.size();
            frees.add(new Origin(e.index(), e.cpu(), shadow.task(e.cpu()), e.pc(), shadow.backtrace(e.cpu())));
            for (long p = 0; p < pages; p++)
            {
                final long w = lastWriter.get((key >>> 12) + p);
                // A life as a page table (walked, or linked into an upper table) is not a previous
                // "other use": page-table code writes page tables in every life.
                final boolean table = walkLevel.containsKey((key >>> 12) + p) || linkLevel.containsKey((key >>> 12) + p);
                if (w != -1 && !table)
                {
                    previousWriter.put((key >>> 12) + p, w);
                }
                else
                {
                    previousWriter.remove((key >>> 12) + p);
                }
                lastWriter.remove((key >>> 12) + p);
                walkLevel.remove((key >>> 12) + p);
                linkLevel.remove((key >>> 12) + p);
                freePages.put((key >>> 12) + p, idx);
                lastFree.put((key >>> 12) + p, idx);
                allocatedAt.remove((key >>> 12) + p);
                tablePages.remove((key >>> 12) + p);
                slabPages.remove((key >>> 12) + p);
            }
        }
        else
        {
            for (long p = 0; p < pages; p++)
            {
                freePages.remove((key >>> 12) + p);
                tablePages.remove((key >>> 12) + p);
                slabPages.remove((key >>> 12) + p);
                linkLevel.remove((key >>> 12) + p);
                if (lastFree.containsKey((key >>> 12) + p))
                {
                    allocatedAt.put((key >>> 12) + p, e.index()); // only reused pages can be reached through a stale address
                }
            }
        }
    }

    private void hit(final Event e, final long key, final Origin freedBy, final String nowOwner, final String reuse, final boolean stale)
    {
        // One report per writing pc (a stale writer's: per pc and page, as each page it hits is a
        // page table of its own; its writes into a free page are another report).
        final long byKey = stale ? ~e.pc() ^ (key >>> 12) * 0x9E3779B97F4A7C15L : e.pc();
        final long i = byPc.get(byKey);
        if (i >= 0)
        {
            final Hit h = hits.get((int)i);
            h.more++;
            if (key == h.key)
            {
                h.last = e.index(); // the same bytes again: what a later reader of them loads
            }
            return;
        }
        byPc.put(byKey, hits.size());
        final int cpu = e.cpu();
        hits.add(new Hit(new Origin(e.index(), cpu, shadow.task(cpu), e.pc(), shadow.backtrace(cpu)), e, key, freedBy, nowOwner, reuse,
            stale));
    }

    private String holder(final Hit h)
    {
        if (h.stale)
        {
            return "an address of the page (" + Long.toHexString(h.vaddr) + ") that " + fn(h.writer.pc) +
                " last wrote in the page's previous life, kept without a page reference";
        }
        if (h.vaddr >= 0 && h.vaddr < Layout.USER_TOP)
        {
            return "a user mapping of task " + h.writer.task + " at " + Long.toHexString(h.vaddr & ~0xfffL) +
                " (its pte still maps the frame)";
        }
        if (Layout.isDirectMap(h.vaddr))
        {
            return "a direct-map alias " + Long.toHexString(h.vaddr) + " kept without a page reference";
        }
        return "an alias " + Long.toHexString(h.vaddr) + " (vmalloc/module/fixmap) still mapping the frame";
    }

    @Override
    public List<Finding> findings()
    {
        if (findings.isEmpty())
        {
            for (final Hit h : hits)
            {
                final String freer = h.freedBy != null ? symbols.chain(h.freedBy.pc, java.util.Arrays.copyOf(h.freedBy.stack,
                    Math.min(2, h.freedBy.stack.length))) : null;
                // A stale writer's culprit is the write and the free it outlived; otherwise the free.
                final String culprit = h.stale ? fn(h.writer.pc) + " into page " + Long.toHexString(MachineShadow.paddrOf(h.key) & ~0xfffL) +
                    (freer != null ? ", freed by " + freer + " and reused as a page table" : "") : freer != null ? freer : fn(h.writer.pc);
                final long[] links = h.freedBy == null ? new long[] {h.last} : new long[] {h.freedBy.event, h.last};
                // A stale write into a reused page ranks below a finding that explains why the
                // reference went stale (a page table shared between address spaces, 80: the other
                // space's exit freed what this one still walks); alone it is still the first line.
                findings.add(new Finding(NAME, h.writer.event, title(h), report(h), Finding.Role.CAUSE,
                    h.stale ? "page-reuse" : "page-use-after-free", culprit, h.stale ? 78 : 80, links));
            }
        }
        return findings;
    }

    private String fn(final long pc)
    {
        final String f = symbols.function(pc);
        return f != null ? f : symbols.sym(pc);
    }

    private String title(final Hit h)
    {
        if (h.stale)
        {
            return "KASAN: use-after-free in " + fn(h.writer.pc) + ": write through a stale reference to page " +
                Long.toHexString(MachineShadow.paddrOf(h.key) & ~0xfffL) + ", now " + h.reuse + ", which it wrote before " +
                (h.freedBy != null ? symbols.chain(h.freedBy.pc, h.freedBy.stack) + " freed it" : "the page was freed");
        }
        return "KASAN: use-after-free in " + fn(h.writer.pc) + ": write to page " +
            Long.toHexString(MachineShadow.paddrOf(h.key) & ~0xfffL) + (h.reuse == null ? " after it was freed" : " now " + h.reuse) +
            (h.freedBy != null ? " (freed by " + symbols.chain(h.freedBy.pc, h.freedBy.stack) + ")" : "");
    }

    private String report(final Hit h)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("BUG: KASAN: use-after-free in ").append(symbols.sym(h.writer.pc)).append('\n');
        sb.append("Write of size ").append(h.size).append(" at addr ").append(Symbols.hex16(h.vaddr)).append(" (page ")
            .append(Long.toHexString(MachineShadow.paddrOf(h.key) & ~0xfffL)).append(") by task ").append(h.writer.task)
            .append(" on cpu").append(h.writer.cpu).append(" at event ").append(h.writer.event).append(": 0x")
            .append(Long.toHexString(h.old)).append(" -> 0x").append(Long.toHexString(h.value)).append('\n');
        symbols.stack(sb, h.writer.pc, h.writer.stack);
        sb.append("\nThe stale address is ").append(holder(h)).append('\n');
        if (h.freedBy != null)
        {
            sb.append("\nThe page was freed by");
            h.freedBy.describe(sb, symbols);
        }
        sb.append("\nThe page now belongs to ").append(h.reuse == null ? h.nowOwner + "\n" : h.reuse + ":\n" + h.nowOwner);
        if (h.more > 0)
        {
            sb.append("(").append(h.more).append(" more writes from this pc to pages it no longer owned; the latest to the same bytes at event ")
                .append(h.last).append(")\n");
        }
        return sb.toString();
    }

    @Override
    public String checked()
    {
        return frees.size() + " page frees followed, " + freePages.size() + " pages free at the end";
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
            return "KASAN-style page use-after-free: writes to freed pages, and user mappings into pages reused as page tables or slab";
        }

        @Override
        public Analyzer create(final AnalysisContext c)
        {
            return new PageLifetime(c.shadow, c.owners, c.symbols);
        }
    }
}
