package palimpsest.analyzers.tlb;

import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.LongLongMap;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.owner.Origin;
import palimpsest.emulator.Cpu;
import palimpsest.emulator.CpuCore;
import palimpsest.emulator.Paging;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;

/**
 * Stale TLB entries, rebuilt from the trace: every cpu's TLB is modelled as the emulator's
 * hardware keeps it (direct-mapped, {@link CpuCore#TLB_SIZE} entries indexed by the virtual page
 * number), filled by the page walks the trace records (the leaf read of a 4-level walk that finds
 * a present entry), emptied by what empties the hardware's: {@code invlpg} (REG {@link
 * Cpu#REG_INVLPG}), a CR3 write or reload, a core reset, and the page fault's own drop of the
 * faulting page. A shootdown is an IPI whose handler runs one of those, so it needs no case of its
 * own.
 *
 * <p>When a store changes a leaf PTE some TLB caches so that the cached translation is no longer
 * allowed (present -> not present, writable -> read-only, another frame), every entry holding it
 * is marked stale with who changed it (event, cpu, task, pc, call chain). An access whose
 * translation came from a stale entry (no walk refreshed it) is the bug: a write through a
 * write-protected entry, any access through an unmapped or remapped one. The report names the
 * function chain that changed the PTE without flushing, the cpu that used the stale entry, and
 * what it read or wrote where. One finding per PTE-changing call site and kind of staleness; the
 * count of further uses is appended.
 *
 * <p>A read through an entry whose PTE is now not present, of a frame no cpu has stored to since
 * the PTE changed, is not a finding: it returns what the translation gave while it was valid, so
 * it cannot be told from a read just before the change (the window a correct shootdown leaves
 * open while its IPIs are on their way: the unmapping cpu reuses the frame only after the flush).
 * Once the frame is written after the change, such a read sees another owner's bytes and is one.
 *
 * <p>Likewise a write through such an entry, to a frame no cpu has read or written since the PTE
 * changed (other than through entries the change left stale): it lands where a write just before
 * the change would have, ahead of whatever the unmapping cpu does with the frame once its flush is
 * done (pcache_evict_line copies it out after the shootdown; munmap frees it after). A write after
 * the frame was read (copied out, so the write is lost) or written (reused) is a finding.
 */
public final class StaleTlb implements Analyzer
{
    public static final String NAME = "stale-tlb";

    private static final int SIZE = CpuCore.TLB_SIZE;
    private static final int MASK = SIZE - 1;
    static final int UNMAPPED = 1;
    static final int WRPROT = 2;
    static final int REMAPPED = 4;

    private final MachineShadow shadow;
    private final Symbols symbols;
    private final int cpus;
    /** Per cpu x entry: vpn + 1 (0 = empty), leaf pte's physical key, its value when cached, the event that filled it, stale change id or -1. */
    private final long[] tag;
    private final long[] pteKey;
    private final long[] pteVal;
    private final long[] filledAt;
    private final int[] stale;
    private final long[] cr3;
    private final int[] walkLevel;
    /** Physical keys of leaf PTEs any TLB ever cached (a superset of those cached now). */
    private final LongLongMap cachedPtes = new LongLongMap(4096, -1);
    /** The pages holding cached ptes: a store's page is asked first (runs of stores to one page ask once). */
    private final LongLongMap ptePages = new LongLongMap(1024, -1);
    /**
     * Frames a PTE store unmapped from a TLB (physical page key) -> the event of the last store into
     * them since they were first watched (-1: none). A frame never watched answers Long.MAX_VALUE, so
     * a read through it is never taken for harmless (an entry already stale by a remap that is then
     * unmapped makes no new change, and nothing watched its frame's stores).
     */
    private final LongLongMap unmappedFrames = new LongLongMap(1024, Long.MAX_VALUE);
    /** The same frames -> the event of the last load from them since they were first watched (-1: none). */
    private final LongLongMap frameLoads = new LongLongMap(1024, Long.MAX_VALUE);
    private final List<Change> changes = new ArrayList<>();
    private final List<Use> uses = new ArrayList<>();
    /** Call site of the pte store (pc and two callers) and staleness kind -> the first use reported for it. */
    private final java.util.Map<String, Use> bySite = new java.util.HashMap<>();

    /** A PTE store that made cached translations stale. */
    private static final class Change
    {
        final Origin by;
        final long pteKey;
        final long oldPte;
        final long newPte;
        /** Per staleness kind, the use it was reported with (or counted into). */
        final Use[] reported = new Use[REMAPPED + 1];

        Change(final Origin by, final long pteKey, final long oldPte, final long newPte)
        {
            this.by = by;
            this.pteKey = pteKey;
            this.oldPte = oldPte;
            this.newPte = newPte;
        }
    }

    /** The first access through an entry made stale by one change, and how many followed. */
    private static final class Use
    {
        final Change change;
        final int how;
        final Origin at;
        final int kind;
        final long vaddr;
        final long paddr;
        final int size;
        final long value;
        final long old;
        final long cachedPte;
        final long filledAt;
        long more;

        Use(final Change change, final int how, final Origin at, final Event e, final long cachedPte, final long filledAt)
        {
            this.change = change;
            this.how = how;
            this.at = at;
            this.kind = e.kind();
            this.vaddr = e.vaddr();
            this.paddr = e.paddr();
            this.size = e.size();
            this.value = e.value();
            this.old = e.oldValue();
            this.cachedPte = cachedPte;
            this.filledAt = filledAt;
        }
    }

    public StaleTlb(final MachineShadow shadow, final Symbols symbols)
    {
        this.shadow = shadow;
        this.symbols = symbols;
        this.cpus = shadow.cpus();
        tag = new long[cpus * SIZE];
        pteKey = new long[cpus * SIZE];
        pteVal = new long[cpus * SIZE];
        filledAt = new long[cpus * SIZE];
        stale = new int[cpus * SIZE];
        java.util.Arrays.fill(stale, -1);
        cr3 = new long[cpus];
        walkLevel = new int[cpus];
    }

    @Override
    public String name()
    {
        return NAME;
    }

    /** The kinds {@link #onEvent} looks at. */
    private static final int KINDS = 1 << EventKind.WALK | 1 << EventKind.STORE | 1 << EventKind.RMW | 1 << EventKind.LOAD | 1 << EventKind.FETCH | 1 << EventKind.REG | 1 << EventKind.EXCEPTION;

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
        if (cpu >= cpus)
        {
            return; // a device (DMA) has no TLB
        }
        switch (kind)
        {
            case EventKind.WALK:
                walk(cpu, e);
                break;
            case EventKind.STORE:
            case EventKind.RMW:
            {
                final long frame = watch(unmappedFrames, cpu, e);
                final long before = watchedBefore;
                if (cachedPtes.size() > 0)
                {
                    pteStore(cpu, e);
                }
                if (use(cpu, e, frame, before) && frame >= 0)
                {
                    unmappedFrames.put(frame, before); // harmless through a stale entry: not another user's store
                }
                break;
            }
            case EventKind.LOAD:
            case EventKind.FETCH:
            {
                final long frame = watch(frameLoads, cpu, e);
                final long before = watchedBefore;
                if (use(cpu, e, frame, before) && frame >= 0)
                {
                    frameLoads.put(frame, before); // harmless through a stale entry: not another user's read
                }
                break;
            }
            case EventKind.REG:
                reg(cpu, e);
                break;
            case EventKind.EXCEPTION:
                if (e.a() == Paging.VEC_PF)
                {
                    drop(cpu, e.c()); // the emulator drops the faulting page's entry, as x86 does
                }
                break;
            default:
                break;
        }
    }

    /** {@link #watch}'s second answer: the frame's last access before this one (-1: none since watched). */
    private long watchedBefore;

    /**
     * If the access's frame is watched in map (frame -> its last access of this kind), records this
     * access there and returns the frame, with the access before it in {@link #watchedBefore}; else -1.
     */
    private long watch(final LongLongMap map, final int cpu, final Event e)
    {
        watchedBefore = -1;
        if (map.size() == 0)
        {
            return -1;
        }
        final long page = shadow.physKey(cpu, e.paddr()) >>> 12;
        if (!map.containsKey(page))
        {
            return -1;
        }
        watchedBefore = map.get(page);
        map.put(page, e.index());
        return page;
    }

    private void walk(final int cpu, final Event e)
    {
        final long root = cr3[cpu] & Paging.ADDR_MASK;
        if (e.paddr() == root + Paging.index(e.vaddr(), 4) * 8L)
        {
            walkLevel[cpu] = 4;
        }
        else if (walkLevel[cpu] > 1)
        {
            walkLevel[cpu]--;
        }
        else
        {
            return; // a walk we did not see start
        }
        if (walkLevel[cpu] == 1 && (e.value() & Paging.P) != 0)
        {
            final long vpn = e.vaddr() >>> 12;
            final int i = cpu * SIZE + ((int)vpn & MASK);
            final long key = shadow.physKey(cpu, e.paddr());
            tag[i] = vpn + 1;
            pteKey[i] = key;
            pteVal[i] = e.value();
            filledAt[i] = e.index();
            stale[i] = -1;
            if (!cachedPtes.containsKey(key))
            {
                cachedPtes.put(key, 1);
                ptePages.put(key >>> 12, 1);
            }
        }
    }

    private void pteStore(final int cpu, final Event e)
    {
        final long key = shadow.physKey(cpu, e.paddr()) & ~7L;
        if (e.size() != 8 || !ptePages.containsKey(key >>> 12) || !cachedPtes.containsKey(key))
        {
            return;
        }
        final long now = e.value();
        Change change = null;
        for (int i = 0; i < tag.length; i++)
        {
            if (tag[i] != 0 && pteKey[i] == key && stale[i] < 0 && staleness(pteVal[i], now) != 0)
            {
                if (change == null)
                {
                    change = new Change(new Origin(e.index(), cpu, shadow.task(cpu), e.pc(), shadow.backtrace(cpu)), key, e.oldValue(), now);
                    changes.add(change);
                }
                stale[i] = changes.size() - 1;
                if ((now & Paging.P) == 0)
                {
                    // The frame this entry still reaches: its stores from now on decide whether a read through it is stale.
                    final long frame = shadow.physKey(i / SIZE, pteVal[i] & Paging.ADDR_MASK) >>> 12;
                    if (!unmappedFrames.containsKey(frame))
                    {
                        unmappedFrames.put(frame, -1);
                        frameLoads.put(frame, -1);
                    }
                }
            }
        }
    }

    /** What a cached translation lost when its PTE became now: 0 when it is still allowed. */
    static int staleness(final long cached, final long now)
    {
        if ((now & Paging.P) == 0)
        {
            return UNMAPPED;
        }
        if ((now & Paging.ADDR_MASK) != (cached & Paging.ADDR_MASK))
        {
            return REMAPPED;
        }
        if ((cached & Paging.W) != 0 && (now & Paging.W) == 0)
        {
            return WRPROT;
        }
        return 0;
    }

    /**
     * An access: a finding if its translation came from a stale entry and is not one of the harmless
     * cases. frame is its watched frame (or -1) and before the event of that frame's last access of
     * this kind before it. True when the access went through a stale entry harmlessly.
     */
    private boolean use(final int cpu, final Event e, final long frame, final long before)
    {
        if (cr3[cpu] == 0)
        {
            return false;
        }
        final long vpn = e.vaddr() >>> 12;
        final int i = cpu * SIZE + ((int)vpn & MASK);
        if (stale[i] < 0 || tag[i] != vpn + 1)
        {
            return false;
        }
        final Change c = changes.get(stale[i]);
        // The pte as it is now (a later store may have restored what the entry holds).
        final long now = shadow.memory().read64(pteKey[i]);
        int how = staleness(pteVal[i], now);
        final boolean write = EventKind.isWrite(e.kind());
        if (how == WRPROT && !write)
        {
            return false; // reading through an entry that lost only W is still right
        }
        if (how == UNMAPPED && frame >= 0)
        {
            // Harmless while no one else has used the frame since the change: the access is the one
            // it would have been just before (a read: no store since; a write: no store and no load).
            // (A frame never watched is never presumed unused: see unmappedFrames.)
            final long stored = write ? before : unmappedFrames.get(frame);
            final long loaded = write ? frameLoads.get(frame) : -1;
            if (stored < c.by.event && loaded < c.by.event)
            {
                return true;
            }
        }
        if (how == 0)
        {
            stale[i] = -1;
            return false;
        }
        if (c.reported[how] != null)
        {
            c.reported[how].more++;
            return false;
        }
        final long[] st = c.by.stack;
        final String site = how + ":" + c.by.pc + ":" + (st.length > 0 ? st[0] : 0) + ":" + (st.length > 1 ? st[1] : 0);
        final Use first = bySite.get(site);
        if (first != null)
        {
            first.more++;
            c.reported[how] = first;
            return false;
        }
        final Use u = new Use(c, how, new Origin(e.index(), cpu, shadow.task(cpu), e.pc(), shadow.backtrace(cpu)), e, pteVal[i], filledAt[i]);
        c.reported[how] = u;
        bySite.put(site, u);
        uses.add(u);
        return false;
    }

    private void reg(final int cpu, final Event e)
    {
        final int reg = (int)e.a();
        if (reg == Reg.CR3)
        {
            cr3[cpu] = e.b();
            flushAll(cpu);
        }
        else if (reg == Cpu.REG_INVLPG)
        {
            drop(cpu, e.b());
        }
        else if (reg == Cpu.REG_RESET)
        {
            cr3[cpu] = 0;
            flushAll(cpu);
        }
    }

    private void drop(final int cpu, final long vaddr)
    {
        final long vpn = vaddr >>> 12;
        final int i = cpu * SIZE + ((int)vpn & MASK);
        if (tag[i] == vpn + 1)
        {
            tag[i] = 0;
            stale[i] = -1;
        }
    }

    private void flushAll(final int cpu)
    {
        java.util.Arrays.fill(tag, cpu * SIZE, cpu * SIZE + SIZE, 0);
        java.util.Arrays.fill(stale, cpu * SIZE, cpu * SIZE + SIZE, -1);
    }

    @Override
    public List<Finding> findings()
    {
        final List<Finding> out = new ArrayList<>();
        for (final Use u : uses)
        {
            // A cause: the pte store that skipped the flush made the bad state; the use is where it showed.
            out.add(new Finding(NAME, u.at.event, title(u), report(u), Finding.Role.CAUSE, "stale-tlb", culprit(u),
                EventKind.isWrite(u.kind) ? 90 : 80, u.change.by.event, u.filledAt));
        }
        return out;
    }

    /** The pte writer and its two callers: {@code set_pte_at <- copy_page_range <- dup_mm}. */
    private String culprit(final Use u)
    {
        final long[] st = u.change.by.stack;
        return symbols.chain(u.change.by.pc, java.util.Arrays.copyOf(st, Math.min(2, st.length)));
    }

    private static String what(final int how)
    {
        switch (how)
        {
            case UNMAPPED: return "an unmapped";
            case WRPROT: return "a write-protected";
            default: return "a remapped";
        }
    }

    private String title(final Use u)
    {
        return "stale TLB: cpu" + u.at.cpu + " " + (EventKind.isWrite(u.kind) ? "wrote" : "read") + " through " + what(u.how) +
            " translation of " + Long.toHexString(u.vaddr & ~0xfffL) + "; the pte was changed without a flush by " +
            symbols.chain(u.change.by.pc, u.change.by.stack);
    }

    private String report(final Use u)
    {
        final StringBuilder sb = new StringBuilder();
        final boolean write = EventKind.isWrite(u.kind);
        sb.append("BUG: stale TLB: ").append(write ? "write" : "read").append(" through ").append(what(u.how))
            .append(" translation in ").append(symbols.sym(u.at.pc)).append('\n');
        sb.append(write ? "Write" : "Read").append(" of size ").append(u.size).append(" at addr ").append(Symbols.hex16(u.vaddr))
            .append(" (phys ").append(Long.toHexString(MachineShadow.paddrOf(u.paddr))).append(") by").append(" task ")
            .append(u.at.task).append(" on cpu").append(u.at.cpu).append(" at event ").append(u.at.event)
            .append(write ? ": wrote 0x" + Long.toHexString(u.value) + " over 0x" + Long.toHexString(u.old) : ": read 0x" + Long.toHexString(u.value))
            .append('\n');
        symbols.stack(sb, u.at.pc, u.at.stack);
        sb.append("\nThe cpu").append(u.at.cpu).append(" TLB entry was filled at event ").append(u.filledAt)
            .append(" from the pte at phys ").append(Long.toHexString(MachineShadow.paddrOf(u.change.pteKey)))
            .append(" = ").append(Symbols.hex16(u.cachedPte)).append(pteFlags(u.cachedPte)).append('\n');
        sb.append("The pte was changed to ").append(Symbols.hex16(u.change.newPte)).append(pteFlags(u.change.newPte))
            .append(" by");
        u.change.by.describe(sb, symbols);
        sb.append("and cpu").append(u.at.cpu).append(" ran no invlpg, CR3 reload or shootdown for ")
            .append(Long.toHexString(u.vaddr & ~0xfffL)).append(" between event ").append(u.change.by.event)
            .append(" and event ").append(u.at.event).append('\n');
        if (u.more > 0)
        {
            sb.append("(").append(u.more).append(" more accesses through entries made stale by pte stores from this call site)\n");
        }
        return sb.toString();
    }

    private static String pteFlags(final long pte)
    {
        return " (frame " + Long.toHexString(pte & Paging.ADDR_MASK) + ((pte & Paging.P) != 0 ? " P" : " !P") +
            ((pte & Paging.W) != 0 ? " W" : " RO") + ((pte & Paging.U) != 0 ? " U" : "") + ")";
    }

    public static final class Factory implements palimpsest.analyzers.AnalyzerFactory
    {
        @Override
        public String name()
        {
            return NAME;
        }

        @Override
        public String description()
        {
            return "stale TLB: an access through a cached translation whose pte was changed without invlpg/CR3 reload/shootdown";
        }

        @Override
        public Analyzer create(final palimpsest.analyzers.AnalysisContext c)
        {
            return new StaleTlb(c.shadow, c.symbols);
        }
    }

    @Override
    public String checked()
    {
        return cachedPtes.size() + " cached ptes, " + changes.size() + " pte changes that left TLB entries stale";
    }
}
