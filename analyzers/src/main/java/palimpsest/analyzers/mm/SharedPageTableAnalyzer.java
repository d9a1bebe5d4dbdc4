package palimpsest.analyzers.mm;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.LongLongMap;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.emulator.Paging;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Mark;
import palimpsest.kernel.sched.PerCpu;
import palimpsest.kernel.sched.Task;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * Two classes of page-table damage, from the MMU's own walks and the stores into table pages:
 * <ul>
 * <li><b>a user-half page-table page shared between address spaces</b>: the same lower-level table
 * page walked under two different CR3s for user addresses. Each address space's user half must
 * have tables of its own (only the kernel half is shared, by design); a shared one means a
 * higher-level entry was copied instead of a table being allocated. Reported with the store that
 * linked the second address space to it (who wrote that entry: the code that made the state bad)
 * and its call chain.</li>
 * <li><b>a page freed while another address space still mapped it</b>: the page's mapping was
 * replaced in a shared table page while another address space was running (its page_insert or
 * page_remove), so the address space that installed it lost it without unmapping it, and the
 * page went back to the allocator.</li>
 * </ul>
 * Address spaces are named by the task running when they were seen (pid, and the env id when the
 * kernel named it: a {@code Mark.ENV_ID} points at the struct Env whose first word, as the trace
 * wrote it, is the id). Nothing is reported when every table page has one address space.
 */
public final class SharedPageTableAnalyzer implements Analyzer
{
    private static final int MAX_SHARED = 2;
    private static final int MAX_FREES = 4;

    /** One table page: the address spaces (cr3) seen walking it, and how each reached it. */
    private static final class Table
    {
        int level;
        long userVa;
        /** Freed (and not allocated again yet). */
        boolean freed;
        final Map<Long, long[]> via = new LinkedHashMap<>();   // cr3 -> {event, parent entry physKey, pid, cpu}
    }

    private final MachineShadow shadow;
    private final Symbols symbols;
    /** pid -> the env id the kernel wrote in its struct Env (Mark.ENV_ID), read from the shadow memory. */
    private final LongLongMap envIds = new LongLongMap(64, -1);
    private final Map<Long, Table> tables = new HashMap<>();
    /** Shared tables that were freed since (kept for the report). */
    private final Map<Long, Table> retired = new HashMap<>();
    /** Per cpu, the walk in progress: vaddr, icount, level of the next WALK, physKey of the last entry read. */
    private final long[][] walk;
    /** Per cpu, the address space walks run in (CR3). */
    private final long[] walkCr3;
    /** Leaf entries (physKey) -> slot: the last address space whose MMU walk used the entry, and what it mapped then. */
    private final palimpsest.analyzers.core.LongLongMap leafSlot = new palimpsest.analyzers.core.LongLongMap(1024, -1);
    /** The pages holding leaf entries of leafSlot: a store's page is asked first (runs of stores to one page ask once). */
    private final palimpsest.analyzers.core.LongLongMap leafPages = new palimpsest.analyzers.core.LongLongMap(256, -1);
    private long[] leafCr3 = new long[1024];
    private long[] leafPid = new long[1024];
    private long[] leafEvent = new long[1024];
    private long[] leafFrame = new long[1024];
    private int leaves;
    /** frame -> {event, cr3, pid, pte physKey, pc, installer event, installer cr3, installer pid} of the store that replaced its mapping. */
    private final Map<Long, long[]> removals = new HashMap<>();
    private final List<long[]> frees = new ArrayList<>();
    /** Frames freed with no replaced mapping seen yet -> the PAGE_FREE event. */
    private final Map<Long, Long> recentFrees = new HashMap<>();
    private final List<Finding> findings = new ArrayList<>();

    public SharedPageTableAnalyzer(final MachineShadow shadow, final Symbols symbols)
    {
        this.shadow = shadow;
        this.symbols = symbols;
        this.walk = new long[shadow.cpus()][4];
        this.walkCr3 = new long[shadow.cpus()];
    }

    @Override
    public String name()
    {
        return "pt-share";
    }

    /** pid of the task current on cpu, from per-cpu memory as the trace wrote it (0 if unknown). */
    private long pid(final int cpu)
    {
        final long pcpu = shadow.readVirt64(cpu, Globals.PER_CPU_OFFSET + cpu * 8L);
        if (pcpu == 0)
        {
            return 0;
        }
        final long t = shadow.readVirt64(cpu, pcpu + PerCpu.CURRENT);
        return t == 0 ? 0 : shadow.readVirt64(cpu, t + Task.PID);
    }

    /** The kinds {@link #onEvent} looks at. */
    private static final int KINDS = 1 << EventKind.WALK | 1 << EventKind.STORE | 1 << EventKind.MARK | 1 << EventKind.REG;

    @Override
    public int kinds()
    {
        return KINDS;
    }

    @Override
    public void onEvent(final Event e)
    {
        final int cpu = e.cpu();
        if (cpu >= walk.length)
        {
            return;
        }
        final int kind = e.kind();
        if (kind == EventKind.WALK)
        {
            onWalk(e, cpu);
        }
        else if (kind == EventKind.MARK && e.a() == Mark.ENV_ID)
        {
            // The kernel names the address space (JOS's env id): read it from the struct it just wrote.
            final long key = shadow.translate(cpu, e.b());
            if (key >= 0 && shadow.memory().known(key))
            {
                envIds.put(e.c(), shadow.memory().read64(key));
            }
        }
        else if (kind == EventKind.STORE && e.size() == 8)
        {
            onStore(e, cpu);
        }
        else if (kind == EventKind.MARK && e.a() == Mark.PAGE_FREE)
        {
            final long frame = shadow.physKey(cpu, e.b()) & ~0xfffL;
            markFreed(frame, 1L << e.c());
            final long[] r = removals.remove(frame);
            if (r != null)
            {
                addFree(e.index(), e.b(), r, cpu);
            }
            else if (recentFrees.size() < 4096)
            {
                // A page_remove may drop the reference before it clears the entry.
                recentFrees.put(frame, e.index());
            }
        }
        else if (kind == EventKind.MARK && e.a() == Mark.PAGE_ALLOC)
        {
            final long frame = shadow.physKey(cpu, e.b()) & ~0xfffL;
            retire(frame, 1L << e.c());
            recentFrees.remove(frame);
            removals.remove(frame);
        }
        else if (kind == EventKind.REG && e.a() == palimpsest.trace.Reg.CR3)
        {
            walk[cpu][1] = -1;
            walkCr3[cpu] = e.b() & Paging.ADDR_MASK;
        }
    }

    private void onWalk(final Event e, final int cpu)
    {
        final long[] w = walk[cpu];
        final long key = shadow.physKey(cpu, e.paddr());
        if (w[1] != e.icount() || w[0] != e.vaddr() || w[2] <= 1)
        {
            w[0] = e.vaddr();
            w[1] = e.icount();
            w[2] = 4;
        }
        else
        {
            w[2]--;
        }
        final int level = (int)w[2];
        if (level < 4 && e.vaddr() >= 0)
        {
            final long page = key & ~0xfffL;
            Table t = tables.get(page);
            if (t == null)
            {
                t = new Table();
                t.level = level;
                t.userVa = e.vaddr();
                tables.put(page, t);
            }
            final long space = shadowCr3(cpu);
            if (!t.via.containsKey(space) && t.via.size() < 8)
            {
                t.via.put(space, new long[] {e.index(), w[3], pid(cpu), cpu});
            }
        }
        if (level == 1 && e.vaddr() >= 0 && (e.value() & Paging.P) != 0)
        {
            long slot = leafSlot.get(key);
            if (slot < 0)
            {
                if (leaves == leafCr3.length)
                {
                    leafCr3 = java.util.Arrays.copyOf(leafCr3, leaves * 2);
                    leafPid = java.util.Arrays.copyOf(leafPid, leaves * 2);
                    leafEvent = java.util.Arrays.copyOf(leafEvent, leaves * 2);
                    leafFrame = java.util.Arrays.copyOf(leafFrame, leaves * 2);
                }
                slot = leaves++;
                leafSlot.put(key, slot);
                leafPages.put(key >>> 12, 1);
            }
            final int i = (int)slot;
            if (leafCr3[i] != shadowCr3(cpu) || leafFrame[i] != (e.value() & Paging.ADDR_MASK))
            {
                leafCr3[i] = shadowCr3(cpu);
                leafPid[i] = pid(cpu);
                leafEvent[i] = e.index();
                leafFrame[i] = e.value() & Paging.ADDR_MASK;
            }
        }
        w[3] = key;
    }

    private long shadowCr3(final int cpu)
    {
        return walkCr3[cpu];
    }

    private void onStore(final Event e, final int cpu)
    {
        final long key = shadow.physKey(cpu, e.paddr());
        if (!leafPages.containsKey(key >>> 12))
        {
            return;
        }
        final long slot = leafSlot.get(key);
        if (slot < 0)
        {
            return;
        }
        final int i = (int)slot;
        final long old = e.oldValue();
        final long space = shadowCr3(cpu);
        // Another address space's entry, as its last walk used it, replaced from this one.
        if ((old & Paging.P) != 0 && (old & Paging.ADDR_MASK) == leafFrame[i] && (e.value() & Paging.ADDR_MASK) != leafFrame[i]
            && leafCr3[i] != space && removals.size() < 4096)
        {
            final long frame = shadow.physKey(cpu, leafFrame[i]);
            final long[] r = {e.index(), space, pid(cpu), key, e.pc(), leafEvent[i], leafCr3[i], leafPid[i]};
            final Long freed = recentFrees.remove(frame);
            if (freed != null)
            {
                addFree(freed, MachineShadow.paddrOf(frame), r, cpu);
            }
            else
            {
                removals.put(frame, r);
            }
        }
    }

    /**
     * A table page freed while entries may still point at it: its life goes on until the page is
     * allocated again (a walk through it now is through a stale link, by the same address spaces).
     */
    private void markFreed(final long frame, final long pages)
    {
        for (long p = 0; p < pages && p < 1024; p++)
        {
            final Table t = tables.get(frame + (p << 12));
            if (t != null)
            {
                t.freed = true;
            }
        }
    }

    /** Pages allocated again are no longer those tables: a later address space may get one as its own table. Shared ones are kept as evidence. */
    private void retire(final long frame, final long pages)
    {
        for (long p = 0; p < pages && p < 1024; p++)
        {
            final Table t = tables.remove(frame + (p << 12));
            if (t != null && t.via.size() > 1)
            {
                retired.put(frame + (p << 12), t);
            }
        }
    }

    private void addFree(final long freeEvent, final long paddr, final long[] r, final int cpu)
    {
        if (frees.size() < 64)
        {
            frees.add(new long[] {freeEvent, paddr, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], cpu});
        }
    }

    public void afterPass(final palimpsest.analyzers.AnalysisContext context)
    {
        if (sawSharing())
        {
            explain(context.looker(), context.whoWrote());
        }
    }

    public boolean sawSharing()
    {
        if (!retired.isEmpty())
        {
            return true;
        }
        for (final Table t : tables.values())
        {
            if (t.via.size() > 1)
            {
                return true;
            }
        }
        return false;
    }

    private String who(final long pid)
    {
        if (pid == 0)
        {
            return "the kernel";
        }
        final long env = envIds.get(pid);
        return env >= 0 ? String.format("pid %d (env %08x)", pid, env) : "pid " + pid;
    }

    /** Second stage: who linked each extra address space to a shared table; the frees through them. */
    public void explain(final Path trace, final WhoWroteIndex idx)
    {
        explain(Probe.of(trace, symbols), idx);
    }

    /** {@link #explain(Path, WhoWroteIndex)} with the probes from a looker. */
    public void explain(final Probe.Looker looker, final WhoWroteIndex idx)
    {
        int shared = 0;
        final Map<Long, Table> all = new HashMap<>(tables);
        all.putAll(retired);
        final List<Map.Entry<Long, Table>> list = new ArrayList<>(all.entrySet());
        list.sort((a, b) -> Long.compare(a.getValue().via.values().stream().skip(1).findFirst().map(v -> v[0]).orElse(Long.MAX_VALUE),
            b.getValue().via.values().stream().skip(1).findFirst().map(v -> v[0]).orElse(Long.MAX_VALUE)));
        for (final Map.Entry<Long, Table> en : list)
        {
            final Table t = en.getValue();
            if (t.via.size() < 2 || shared >= MAX_SHARED || insideShared(t))
            {
                continue;
            }
            shared++;
            findings.add(sharedFinding(looker, idx, en.getKey(), t));
        }
        for (final long[] f : frees)
        {
            final Table t = all.get(f[5] & ~0xfffL);
            if (t != null && t.via.size() > 1 && findings.size() < MAX_SHARED + MAX_FREES)
            {
                findings.add(freeFinding(looker, f));
            }
        }
    }

    /** Whether the entry through which the second address space reached t is itself in a shared table (t is shared as a consequence). */
    private boolean insideShared(final Table t)
    {
        final long[] second = new ArrayList<>(t.via.values()).get(1);
        final Table parent = tables.get(second[1] & ~0xfffL);
        final Table old = retired.get(second[1] & ~0xfffL);
        return parent != null && parent.via.size() > 1 || old != null && old.via.size() > 1;
    }

    private Finding sharedFinding(final Probe.Looker looker, final WhoWroteIndex idx, final long page, final Table t)
    {
        final List<long[]> vs = new ArrayList<>(t.via.values());
        final long[] first = vs.get(0);
        final long[] second = vs.get(1);
        // Who wrote the entry through which the second address space reached this table?
        final List<WhoWroteIndex.Write> ws = second[1] == 0 ? List.of() : idx.writers(second[1], 8, second[0], false);
        final Probe.Sight s = ws.isEmpty() ? null : looker.look(List.of(ws.get(0).event)).get(0);
        final String linker = s == null ? "an entry nobody wrote during the trace" :
            symbols.sym(s.event.pc()) + " (event " + s.event.index() + ")";
        final long event = s == null ? second[0] : s.event.index();
        final String title = String.format("page-table page %x (level %d, user %x) shared between address spaces: linked into %s's by %s, " +
            "already %s's", MachineShadow.paddrOf(page), t.level, t.userVa & ~((1L << (12 + 9 * t.level)) - 1), who(second[2]), linker, who(first[2]));
        final StringBuilder sb = new StringBuilder();
        sb.append("==================================================================\n");
        sb.append("shared page table: ").append(String.format("%x", MachineShadow.paddrOf(page))).append(" (level ").append(t.level)
            .append(") is walked by ").append(vs.size()).append(" address spaces for user addresses\n");
        for (final Map.Entry<Long, long[]> v : t.via.entrySet())
        {
            sb.append(String.format("  cr3 %x (%s) first walked it at event %d (cpu%d)%n", v.getKey(), who(v.getValue()[2]), v.getValue()[0],
                v.getValue()[3]));
        }
        sb.append("a user-half table belongs to one address space; only the kernel half is shared by design\n");
        if (s != null)
        {
            sb.append(String.format("the entry at phys %x that links %s to it: 0x%x -> 0x%x, written at event %d by %s%n",
                MachineShadow.paddrOf(second[1]), who(second[2]), s.event.oldValue(), s.event.value(), s.event.index(), symbols.sym(s.event.pc())));
            sb.append("  writer: ").append(symbols.chain(s.event.pc(), s.stack)).append('\n');
            sb.append("  (a copy of the entry that points at an existing table, instead of a table of its own)\n");
        }
        // A cause: the store that linked a second address space to an existing user-half table.
        return new Finding(name(), event, title, sb.toString(), Finding.Role.CAUSE, "pt-share",
            s == null ? "" : symbols.sym(s.event.pc()), 80, second[0]);
    }

    private Finding freeFinding(final Probe.Looker looker, final long[] f)
    {
        final long freeEvent = f[0];
        final long frame = f[1];
        final long removeEvent = f[2];
        final long removerPid = f[4];
        final long pte = f[5];
        final long pc = f[6];
        final long installEvent = f[7];
        final long installerPid = f[9];
        final Probe.Sight s = looker.look(List.of(removeEvent)).get(0);
        final String chain = symbols.chain(pc, s.stack);
        final String[] parts = chain.split(" <- ");
        final String title = String.format("page %x freed (event %d) while %s still mapped it: %s's %s replaced the mapping " +
            "(event %d) in a page-table page shared with %s", frame, freeEvent, who(installerPid), who(removerPid),
            String.join(" <- ", java.util.Arrays.copyOf(parts, Math.min(4, parts.length))), removeEvent, who(installerPid));
        final StringBuilder sb = new StringBuilder();
        sb.append("==================================================================\n");
        sb.append("page freed while mapped by another address space: ").append(String.format("%x", frame)).append('\n');
        sb.append(String.format("mapped by %s: its MMU last used the entry at phys %x (that page) at event %d%n", who(installerPid),
            MachineShadow.paddrOf(pte), installEvent));
        sb.append(String.format("replaced at event %d by %s running %s:%n", removeEvent, who(removerPid), symbols.sym(pc)));
        sb.append("  ").append(symbols.chain(pc, s.stack)).append('\n');
        sb.append(String.format("the page's last reference went with it: freed at event %d, while %s never unmapped it%n", freeEvent, who(installerPid)));
        // The consequence the sharing had: a page freed under another address space (linked to the removal).
        return new Finding(name(), freeEvent, title, sb.toString(), Finding.Role.CAUSE, "page-freed-while-mapped",
            symbols.sym(pc), 70, removeEvent, installEvent);
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    /** {@code pal analyze --only pt-share}. */
    public static final class Factory extends palimpsest.analyzers.ShadowAnalyzerFactory
    {
        public Factory()
        {
            super("pt-share", "a user-half page-table page walked by two address spaces, and pages freed under the other one",
                (shadow, owners, symbols) -> new SharedPageTableAnalyzer(shadow, symbols));
        }
    }
}
