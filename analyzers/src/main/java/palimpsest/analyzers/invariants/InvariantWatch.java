package palimpsest.analyzers.invariants;

import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.AnalysisContext;
import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.LongLongMap;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.SparseMemory;
import palimpsest.analyzers.core.Symbols;
import palimpsest.kernel.KernelInspector;
import palimpsest.kernel.Mark;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * A lock-guarded structure left inconsistent: the {@link Invariant}s that say they are cheap
 * enough ({@link Invariant#watched}) are checked on the pass's shadow of node 0 after every write
 * that {@link Invariant#touches} them. An invariant that holds only outside its lock (a pte and its
 * rmap entry changed together under the set lock, say) breaks when a write leaves the pair apart
 * with no lock held: the lock was dropped before the update was done, or the write was made under
 * another lock, or none. Each break is an episode, from the write that broke it to the write that
 * made it hold again; the report names the first episode's breaking write and the write that ended
 * it with the lockset of each (the update finished outside the lock), and the longest episode (the
 * state a reader of the structure could have found) with every cpu's stack when it began: the code
 * that raced with the breaker.
 */
public final class InvariantWatch implements Analyzer
{
    public static final String NAME = "invariants";

    private static final int KINDS = 1 << EventKind.STORE | 1 << EventKind.RMW | 1 << EventKind.DMA_WRITE | 1 << EventKind.MARK;
    private static final int MAX_EPISODES = 1024;
    private static final int MAX_LATER = 4;

    private final MachineShadow shadow;
    private final Symbols symbols;
    private final List<Invariant> watched;
    private final KernelState state;
    private final boolean[] broken;
    /** Locks held per task (LOCK_ACQUIRE minus LOCK_RELEASE marks), for the lockset of a write. */
    private final LongLongMap locksOfTask = new LongLongMap(256, 0);
    private final List<Episode> episodes = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();
    private long checks;

    /** The last write that touched a watched invariant: checked at the next write (the shadow holds it then). */
    private boolean pending;
    private final Event write = new Event();
    private long[] writeStack = new long[0];
    private long writeLocks;

    /** One break of an invariant: from the write that broke it to the one after which it held again. */
    private static final class Episode
    {
        final Invariant invariant;
        final String violation;
        final Event breaker;
        final long[] breakerStack;
        final long breakerLocks;
        final long[][] stacks;
        Event healer;
        long[] healerStack;
        long healerLocks;
        /** Later writes to the bytes the breaker wrote, while the break lasted (another cpu's hand in it). */
        final List<Event> later = new ArrayList<>();
        final List<long[]> laterStacks = new ArrayList<>();
        final List<Long> laterLocks = new ArrayList<>();

        Episode(final Invariant invariant, final String violation, final Event breaker, final long[] breakerStack, final long breakerLocks,
            final long[][] stacks)
        {
            this.invariant = invariant;
            this.violation = violation;
            this.breaker = breaker;
            this.breakerStack = breakerStack;
            this.breakerLocks = breakerLocks;
            this.stacks = stacks;
        }

        long length(final long end)
        {
            return (healer != null ? healer.index() : end) - breaker.index();
        }
    }

    public InvariantWatch(final AnalysisContext c)
    {
        this.shadow = c.shadow;
        this.symbols = c.symbols;
        final List<Invariant> w = new ArrayList<>();
        for (final Invariant i : Invariants.load().all())
        {
            if (i.watched(c.header))
            {
                w.add(i);
            }
        }
        this.watched = w;
        this.broken = new boolean[w.size()];
        final SparseMemory mem = shadow.memory();
        final KernelInspector.Memory node0 = new KernelInspector.Memory()
        {
            @Override
            public long read(final long paddr, final int size)
            {
                if (size == 8)
                {
                    return mem.read64(paddr);
                }
                long v = 0;
                for (int i = 0; i < size; i++)
                {
                    v |= (long)mem.read8(paddr + i) << (8 * i);
                }
                return v;
            }

            @Override
            public long size()
            {
                return Long.MAX_VALUE;
            }
        };
        this.state = new KernelState(node0, KernelState.patchesOf(c.header));
    }

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public int kinds()
    {
        return watched.isEmpty() ? 0 : KINDS;
    }

    @Override
    public void onEvent(final Event e)
    {
        if (pending)
        {
            pending = false;
            check(e.index());
        }
        final int cpu = e.cpu();
        if (e.kind() == EventKind.MARK)
        {
            if (cpu < shadow.cpus() && (e.a() == Mark.LOCK_ACQUIRE || e.a() == Mark.LOCK_RELEASE))
            {
                final long task = shadow.task(cpu);
                locksOfTask.put(task, Math.max(0, locksOfTask.get(task) + (e.a() == Mark.LOCK_ACQUIRE ? 1 : -1)));
            }
            return;
        }
        final boolean node0 = EventKind.isDevice(cpu) ? e.kind() == EventKind.DMA_WRITE && shadow.physKey(cpu, e.paddr()) == e.paddr()
            : cpu < shadow.cpusPerNode();
        if (!node0)
        {
            return;
        }
        laterWrite(e);
        for (final Invariant i : watched)
        {
            if (i.touches(state, e.paddr(), e.size()))
            {
                pending = true;
                write.copyFrom(e);
                writeStack = EventKind.isDevice(cpu) ? new long[0] : shadow.backtrace(cpu);
                writeLocks = EventKind.isDevice(cpu) ? 0 : locksOfTask.get(shadow.task(cpu));
                return;
            }
        }
    }

    private void laterWrite(final Event e)
    {
        for (int k = 0; k < watched.size(); k++)
        {
            if (!broken[k] || episodes.isEmpty())
            {
                continue;
            }
            final Episode ep = episodes.get(episodes.size() - 1);
            if (ep.healer == null && ep.later.size() < MAX_LATER && e.index() != ep.breaker.index() &&
                e.paddr() < ep.breaker.paddr() + ep.breaker.size() && ep.breaker.paddr() < e.paddr() + e.size())
            {
                ep.later.add(new Event().copyFrom(e));
                ep.laterStacks.add(EventKind.isDevice(e.cpu()) ? new long[0] : shadow.backtrace(e.cpu()));
                ep.laterLocks.add(EventKind.isDevice(e.cpu()) ? 0 : locksOfTask.get(shadow.task(e.cpu())));
            }
        }
    }

    @Override
    public void onEnd()
    {
        if (pending)
        {
            pending = false;
            check(Long.MAX_VALUE);
        }
    }

    private void check(final long now)
    {
        for (int k = 0; k < watched.size(); k++)
        {
            checks++;
            final String v = watched.get(k).check(state);
            if (v != null && !broken[k])
            {
                broken[k] = true;
                if (episodes.size() < MAX_EPISODES)
                {
                    final int cpus = shadow.cpusPerNode();
                    final long[][] stacks = new long[cpus][];
                    for (int c = 0; c < cpus; c++)
                    {
                        stacks[c] = shadow.backtrace(c);
                    }
                    episodes.add(new Episode(watched.get(k), v, new Event().copyFrom(write), writeStack, writeLocks, stacks));
                }
            }
            else if (v == null && broken[k])
            {
                broken[k] = false;
                for (int i = episodes.size() - 1; i >= 0; i--)
                {
                    final Episode ep = episodes.get(i);
                    if (ep.invariant == watched.get(k) && ep.healer == null)
                    {
                        ep.healer = new Event().copyFrom(write);
                        ep.healerStack = writeStack;
                        ep.healerLocks = writeLocks;
                        break;
                    }
                }
            }
        }
    }

    @Override
    public void afterPass(final AnalysisContext context)
    {
        if (episodes.isEmpty())
        {
            return;
        }
        final Episode first = episodes.get(0);
        Episode longest = first;
        for (final Episode ep : episodes)
        {
            if (ep.length(Long.MAX_VALUE / 2) > longest.length(Long.MAX_VALUE / 2))
            {
                longest = ep;
            }
        }
        final String culprit = function(first.breaker.pc(), first.breakerStack);
        final StringBuilder title = new StringBuilder();
        title.append(first.invariant.name()).append(" broken by ").append(culprit).append(" on cpu").append(first.breaker.cpu())
            .append(first.breakerLocks == 0 ? " holding no lock" : "");
        if (first.healer != null)
        {
            title.append(", mended by ").append(function(first.healer.pc(), first.healerStack)).append(" on cpu").append(first.healer.cpu())
                .append(first.healerLocks == 0 ? " holding no lock" : " under a lock")
                .append(first.healerLocks == 0 && first.healer.cpu() == first.breaker.cpu() ? " (the update finished outside the lock)" : "");
        }
        title.append(": ").append(first.violation);
        if (longest != first)
        {
            title.append("; the longest break (").append(longest.healer == null ? "to the end" : longest.length(0) + " events").append(") began with ").append(function(longest.breaker.pc(), longest.breakerStack))
                .append(" on cpu").append(longest.breaker.cpu()).append(" at event ").append(longest.breaker.index());
            for (int i = 0; i < longest.later.size(); i++)
            {
                if (longest.later.get(i).cpu() != longest.breaker.cpu())
                {
                    title.append(", then ").append(function(longest.later.get(i).pc(), longest.laterStacks.get(i))).append(" on cpu")
                        .append(longest.later.get(i).cpu()).append(" wrote the same bytes");
                    break;
                }
            }
        }
        final StringBuilder r = new StringBuilder();
        r.append("invariant ").append(first.invariant.name()).append(" (").append(first.invariant.description()).append(")\n");
        r.append(episodes.size() >= MAX_EPISODES ? "at least " : "").append(episodes.size())
            .append(" time(s) broken outside its lock, over ").append(checks).append(" checks after writes\n\n");
        episode(r, "first", first);
        if (longest != first)
        {
            r.append('\n');
            episode(r, "longest", longest);
        }
        final long[] links = longest != first ? new long[] {first.breaker.index(), longest.breaker.index()} : new long[] {first.breaker.index()};
        findings.add(new Finding(NAME, first.breaker.index(), title.toString(), r.toString(), Finding.Role.CAUSE, first.invariant.name(),
            culprit, 80, links));
    }

    private void episode(final StringBuilder r, final String which, final Episode ep)
    {
        r.append("The ").append(which).append(" break, at event ").append(ep.breaker.index())
            .append(ep.healer != null ? " until event " + ep.healer.index() : " until the end of the trace").append(":\n  ")
            .append(ep.violation).append('\n');
        r.append("broken by a ").append(EventKind.name(ep.breaker.kind())).append(" to 0x").append(Long.toHexString(ep.breaker.vaddr()))
            .append(" on cpu ").append(ep.breaker.cpu()).append(ep.breakerLocks == 0 ? " holding no lock" : " holding " + ep.breakerLocks + " lock(s)")
            .append(":\n");
        symbols.stack(r, ep.breaker.pc(), ep.breakerStack);
        if (ep.healer != null)
        {
            r.append("made to hold again by a ").append(EventKind.name(ep.healer.kind())).append(" to 0x")
                .append(Long.toHexString(ep.healer.vaddr())).append(" on cpu ").append(ep.healer.cpu())
                .append(ep.healerLocks == 0 ? " holding no lock" : " holding " + ep.healerLocks + " lock(s)").append(":\n");
            symbols.stack(r, ep.healer.pc(), ep.healerStack);
        }
        for (int i = 0; i < ep.later.size(); i++)
        {
            final Event w = ep.later.get(i);
            r.append("while broken, the same bytes written by a ").append(EventKind.name(w.kind())).append(" on cpu ").append(w.cpu())
                .append(" at event ").append(w.index()).append(ep.laterLocks.get(i) == 0 ? " holding no lock" : " holding " + ep.laterLocks.get(i) + " lock(s)")
                .append(":\n");
            symbols.stack(r, w.pc(), ep.laterStacks.get(i));
        }
        for (int c = 0; c < ep.stacks.length; c++)
        {
            if (c != ep.breaker.cpu() && ep.stacks[c].length > 0)
            {
                r.append("cpu ").append(c).append(" meanwhile:\n");
                symbols.stack(r, 0, ep.stacks[c]);
            }
        }
    }

    private String function(final long pc, final long[] stack)
    {
        // The first frame that is not a lock primitive: the code that made the write.
        final String f = symbols.function(pc);
        if (f != null && !f.contains("spin_unlock") && !f.contains("spin_lock") && !f.startsWith("set_pte") && !f.startsWith("ptep_"))
        {
            return f;
        }
        for (final long ra : stack)
        {
            final String g = symbols.function(ra);
            if (g != null && !g.contains("spin_") && !g.startsWith("set_pte") && !g.startsWith("ptep_"))
            {
                return g;
            }
        }
        return f != null ? f : symbols.sym(pc);
    }

    @Override
    public String checked()
    {
        return watched.isEmpty() ? "" : checks + " invariant checks after writes (" + String.join(", ", names()) + ")";
    }

    private List<String> names()
    {
        final List<String> n = new ArrayList<>();
        watched.forEach(i -> n.add(i.name()));
        return n;
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
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
            return "lock-guarded structures left inconsistent: watched invariants checked after every write, with the lockset of the writes that broke and mended them";
        }

        @Override
        public Analyzer create(final AnalysisContext c)
        {
            return new InvariantWatch(c);
        }
    }
}
