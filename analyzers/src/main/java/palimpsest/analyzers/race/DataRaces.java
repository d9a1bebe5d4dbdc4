package palimpsest.analyzers.race;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.LongLongMap;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.emulator.Cpu;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * KCSAN's data races, decided by happens-before over the whole trace instead of by watchpoints:
 * two plain accesses to the same bytes from different threads, at least one a write, neither
 * ordered before the other, is {@code BUG: KCSAN: data-race in f / g}.
 *
 * <p>Threads are the executor's tasks (TASK_SWITCH), each cpu before its first switch (or after a
 * core reset) a thread of its own; an interrupt handler runs in the thread it interrupted.
 * Happens-before ({@link VectorClocks}) comes from what the trace records:
 * <ul>
 *   <li>spinlocks: LOCK_ACQUIRE acquires, LOCK_RELEASE releases the lock's clock;</li>
 *   <li>LOCK-prefixed read-modify-writes (atomics, the spinlock's xchg): a full barrier on their word
 *       (one whose prefix byte was patched to 0x3e is recorded as a plain load and store);</li>
 *   <li>IPIs: the sender releases into the destination cpu's mailbox, every interrupt taken by that
 *       cpu acquires it (and a core reset by INIT/SIPI starts from it);</li>
 *   <li>task switches: the outgoing task releases, the incoming one acquires (a cpu runs one thing at
 *       a time), which with the run-queue locks orders wake-ups, fork/clone's first run, futex
 *       wake-ups and migrations.</li>
 * </ul>
 *
 * <p>Marked accesses never race, as in KCSAN: loads and stores of a word that LOCK-prefixed
 * atomics use (atomic_read/atomic_set, the spinlock's spin and release), {@code Mark.ACCESS_ONCE}
 * accesses (READ_ONCE/WRITE_ONCE: the next access of that cpu to that address) and every access
 * to a {@code Mark.DATA_RACY} range ({@code __data_racy}: handshake variables, polled flags; see
 * {@code palimpsest.kernel.Once}) are an acquire (load) or a release (store) of their word, which
 * is what x86 gives every load and store, and what the software said it relies on by marking them.
 * Memory freed or allocated (SLAB_FREE/ALLOC, PAGE_FREE/ALLOC) forgets its history. Page walks, instruction fetches and
 * DMA are not plain accesses, and user memory is not watched (user-space races are a user-space
 * tool's, as for KCSAN).
 *
 * <p>Shadow: per 8-byte word the last write and the last two reads by different threads, each one
 * long {@code event << 24 | slot << 8 | byte mask}, in pages of 512 words allocated on first
 * touch. Found races are explained by a second pass ({@link Probe}) that fetches both accesses'
 * stacks. One report per pair of functions, with the count of further races between them.
 */
public final class DataRaces implements Analyzer
{
    public static final String NAME = "kcsan";

    private static final int WORDS = 512;
    private static final long TAG_IPI = 1L << 56;
    private static final long TAG_CPU = 2L << 56;
    private static final long TAG_ATOMIC = 3L << 56;
    private static final int MAX_REPORTS = 16;

    private final MachineShadow shadow;
    private final Symbols symbols;
    private final VectorClocks clocks = new VectorClocks();
    private final int cpus;
    private final int[] slotOf;
    private final long[] onceAddr;
    /** physical page key -> index into pages; each page 3 x 512 longs: write, read 1, read 2. */
    private final LongLongMap pageIndex = new LongLongMap(4096, -1);
    private final List<long[]> pages = new ArrayList<>();
    /** The page last looked up (accesses come in runs on one page). */
    private long lastPpage = -1;
    private long[] lastPage;
    /** Word keys used by LOCK-prefixed atomics (physical key >>> 3 -> 1). */
    private final LongLongMap atomicWords = new LongLongMap(1024, -1);
    /** Words of DATA_RACY ranges (physical key >>> 3 -> 1). */
    private final LongLongMap racyWords = new LongLongMap(64, -1);
    /** Later access pc -> index into races: one race kept per racing site, the rest counted. */
    private final LongLongMap raceAtPc = new LongLongMap(64, -1);
    private final Map<String, Race> byFunctions = new HashMap<>();
    private final List<Race> races = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();
    /** Per thread slot: how many locks it holds now (the lockset's size, for the report). */
    private int[] held = new int[64];

    /** One reported race: the earlier and the later access, by event. */
    private static final class Race
    {
        final long earlier;
        final long later;
        /** Spinlocks the later access's thread held (LOCK_ACQUIRE minus LOCK_RELEASE marks). */
        final int laterLocks;
        long more;

        Race(final long earlier, final long later, final int laterLocks)
        {
            this.earlier = earlier;
            this.later = later;
            this.laterLocks = laterLocks;
        }
    }

    public DataRaces(final MachineShadow shadow, final Symbols symbols)
    {
        this.shadow = shadow;
        this.symbols = symbols;
        this.cpus = shadow.cpus();
        slotOf = new int[cpus];
        onceAddr = new long[cpus];
        for (int c = 0; c < cpus; c++)
        {
            slotOf[c] = clocks.slot(cpuThread(c, 0));
            onceAddr[c] = -1;
        }
    }

    /** Thread key of a cpu's own context before its first task switch (or after reset number n). */
    private static long cpuThread(final int cpu, final long n)
    {
        return -1 - cpu - (n << 16);
    }

    @Override
    public String name()
    {
        return NAME;
    }

    /** The kinds {@link #onEvent} looks at. */
    private static final int KINDS = 1 << EventKind.LOAD | 1 << EventKind.STORE | 1 << EventKind.RMW | 1 << EventKind.MARK | 1 << EventKind.IPI | 1 << EventKind.INTERRUPT | 1 << EventKind.TASK_SWITCH | 1 << EventKind.REG;

    @Override
    public int kinds()
    {
        return KINDS;
    }

    @Override
    public void onEvent(final Event e)
    {
        final int cpu = e.cpu();
        if (cpu >= cpus)
        {
            return; // devices: DMA is the dma analyzer's
        }
        switch (e.kind())
        {
            case EventKind.LOAD:
                plain(cpu, e, false);
                break;
            case EventKind.STORE:
                plain(cpu, e, true);
                break;
            case EventKind.RMW:
                rmw(cpu, e);
                break;
            case EventKind.MARK:
                mark(cpu, e);
                break;
            case EventKind.IPI:
                if (e.a() >= 0 && e.a() < cpus)
                {
                    clocks.release(slotOf[cpu], TAG_IPI | e.a(), e.index());
                }
                break;
            case EventKind.INTERRUPT:
                clocks.acquire(slotOf[cpu], TAG_IPI | cpu);
                break;
            case EventKind.TASK_SWITCH:
                clocks.release(slotOf[cpu], TAG_CPU | cpu, e.index());
                slotOf[cpu] = clocks.slot(e.b());
                clocks.acquire(slotOf[cpu], TAG_CPU | cpu);
                break;
            case EventKind.REG:
                if (e.a() == Cpu.REG_RESET)
                {
                    clocks.release(slotOf[cpu], TAG_CPU | cpu, e.index());
                    slotOf[cpu] = clocks.slot(cpuThread(cpu, e.index()));
                    clocks.acquire(slotOf[cpu], TAG_CPU | cpu);
                    clocks.acquire(slotOf[cpu], TAG_IPI | cpu);
                }
                break;
            default:
                break;
        }
    }

    private void mark(final int cpu, final Event e)
    {
        final long type = e.a();
        if (type == Mark.LOCK_ACQUIRE)
        {
            clocks.acquire(slotOf[cpu], lockKey(cpu, e.b()));
            held(slotOf[cpu], 1);
        }
        else if (type == Mark.LOCK_RELEASE)
        {
            clocks.release(slotOf[cpu], lockKey(cpu, e.b()), e.index());
            held(slotOf[cpu], -1);
        }
        else if (type == Mark.ACCESS_ONCE)
        {
            onceAddr[cpu] = e.b();
        }
        else if (type == Mark.DATA_RACY)
        {
            racy(cpu, e.b(), e.c());
        }
        else if (type == Mark.SLAB_FREE || type == Mark.SLAB_ALLOC)
        {
            // The allocator hands an object over whole: its previous life (including the free
            // path's poisoning) is ordered before the new owner by the allocator's own locking.
            forget(shadow.translate(cpu, e.b()), (int)e.c());
        }
        else if (type == Mark.PAGE_FREE || type == Mark.PAGE_ALLOC)
        {
            final long key = shadow.physKey(cpu, e.b());
            for (long p = 0; p < 1L << Math.min(e.c(), 10); p++)
            {
                dropPage((key >>> 12) + p);
            }
        }
    }

    private void held(final int slot, final int delta)
    {
        if (slot >= held.length)
        {
            held = java.util.Arrays.copyOf(held, Math.max(slot + 1, held.length * 2));
        }
        held[slot] = Math.max(0, held[slot] + delta);
    }

    private int heldBy(final int slot)
    {
        return slot < held.length ? held[slot] : 0;
    }

    private long lockKey(final int cpu, final long lock)
    {
        final long key = shadow.translate(cpu, lock);
        return key >= 0 ? key : lock & ((1L << 56) - 1);
    }

    private void racy(final int cpu, final long vaddr, final long size)
    {
        final long key = shadow.translate(cpu, vaddr);
        if (key < 0 || size <= 0)
        {
            return;
        }
        for (long w = key >>> 3; w <= (key + size - 1) >>> 3; w++)
        {
            racyWords.put(w, 1);
        }
    }

    private void rmw(final int cpu, final Event e)
    {
        // The emulator records an RMW only when its LOCK prefix held (a patched-away prefix gives a load and a store).
        final long word = shadow.physKey(cpu, e.paddr()) >>> 3;
        if (!atomicWords.containsKey(word))
        {
            atomicWords.put(word, 1);
        }
        clocks.acquireRelease(slotOf[cpu], TAG_ATOMIC | word, e.index());
    }

    private void plain(final int cpu, final Event e, final boolean write)
    {
        if (e.vaddr() >= 0 && e.vaddr() < Layout.USER_TOP)
        {
            return; // user memory: user space's races are a user-space tool's (TSAN's), as for KCSAN
        }
        final long key = shadow.physKey(cpu, e.paddr());
        final long word = key >>> 3;
        boolean marked = false;
        if (onceAddr[cpu] != -1)
        {
            marked = onceAddr[cpu] == e.vaddr();
            onceAddr[cpu] = -1;
        }
        if (marked || (atomicWords.size() > 0 && atomicWords.containsKey(word)) || (racyWords.size() > 0 && racyWords.containsKey(word)))
        {
            // A marked access of a word: x86 loads are acquires and stores releases, and the
            // software marked this one as meant to communicate (READ_ONCE, atomic_read, spin_unlock).
            if (write)
            {
                clocks.release(slotOf[cpu], TAG_ATOMIC | word, e.index());
            }
            else
            {
                clocks.acquire(slotOf[cpu], TAG_ATOMIC | word);
            }
            return;
        }
        final int off = (int)(key & 7);
        final int size = Math.min(e.size(), 8 - off);
        final long mask = ((1L << size) - 1) << off;
        final long[] page = page(key >>> 12);
        final int w = (int)(word & (WORDS - 1));
        final int slot = slotOf[cpu];
        final long me = e.index() << 24 | (long)slot << 8 | mask;
        final long lastWrite = page[w];
        if (lastWrite != 0 && conflicts(lastWrite, slot, mask))
        {
            report(lastWrite >>> 24, e);
        }
        if (write)
        {
            for (int r = 1; r <= 2; r++)
            {
                final long read = page[r * WORDS + w];
                if (read != 0 && conflicts(read, slot, mask))
                {
                    report(read >>> 24, e);
                }
            }
            page[w] = me;
            page[WORDS + w] = 0;
            page[2 * WORDS + w] = 0;
        }
        else
        {
            final long r1 = page[WORDS + w];
            if (r1 == 0 || slotOfAccess(r1) == slot || ordered(r1, slot))
            {
                page[WORDS + w] = me;
            }
            else
            {
                final long r2 = page[2 * WORDS + w];
                if (r2 == 0 || slotOfAccess(r2) == slot || ordered(r2, slot) || (r2 >>> 24) < (r1 >>> 24))
                {
                    page[2 * WORDS + w] = me;
                }
                else
                {
                    page[WORDS + w] = me;
                }
            }
        }
    }

    private static int slotOfAccess(final long access)
    {
        return (int)(access >>> 8 & 0xffff);
    }

    private boolean ordered(final long access, final int slot)
    {
        return clocks.happensBefore(slotOfAccess(access), access >>> 24, slot);
    }

    private boolean conflicts(final long access, final int slot, final long mask)
    {
        return (access & mask & 0xff) != 0 && !ordered(access, slot);
    }

    private long[] page(final long ppage)
    {
        if (ppage == lastPpage)
        {
            return lastPage;
        }
        lastPpage = ppage;
        lastPage = lookupPage(ppage);
        return lastPage;
    }

    private long[] lookupPage(final long ppage)
    {
        final long i = pageIndex.get(ppage);
        if (i >= 0)
        {
            return pages.get((int)i);
        }
        final long[] p = new long[3 * WORDS];
        pageIndex.put(ppage, pages.size());
        pages.add(p);
        return p;
    }

    private void dropPage(final long ppage)
    {
        final long i = pageIndex.get(ppage);
        if (i >= 0)
        {
            java.util.Arrays.fill(pages.get((int)i), 0);
        }
    }

    private void forget(final long key, final int size)
    {
        if (key < 0)
        {
            return;
        }
        for (long k = key & ~7L; k < key + size; k += 8)
        {
            if (racyWords.size() > 0)
            {
                racyWords.remove(k >>> 3); // a freed variable's declaration dies with it
            }
            final long i = pageIndex.get(k >>> 12);
            if (i >= 0)
            {
                final long[] p = pages.get((int)i);
                final int w = (int)((k >>> 3) & (WORDS - 1));
                p[w] = 0;
                p[WORDS + w] = 0;
                p[2 * WORDS + w] = 0;
            }
        }
    }

    private void report(final long earlier, final Event later)
    {
        final long i = raceAtPc.get(later.pc());
        if (i >= 0)
        {
            races.get((int)i).more++;
        }
        else if (races.size() < 4 * MAX_REPORTS)
        {
            raceAtPc.put(later.pc(), races.size());
            races.add(new Race(earlier, later.index(), heldBy(slotOf[later.cpu()])));
        }
    }

    /** Whether the pass found races to explain (needs {@link #explain}). */
    public boolean found()
    {
        return !races.isEmpty();
    }

    @Override
    public void afterPass(final palimpsest.analyzers.AnalysisContext context)
    {
        if (found())
        {
            explain(context.looker());
        }
    }

    /** Both accesses of every race. */
    @Override
    public java.util.Collection<Long> probes(final palimpsest.analyzers.AnalysisContext context)
    {
        final List<Long> events = new ArrayList<>();
        for (final Race r : races)
        {
            events.add(r.earlier);
            events.add(r.later);
        }
        return events;
    }

    @Override
    public String checked()
    {
        return clocks.threadCount() + " threads, " + pageIndex.size() + " pages of kernel memory shadowed";
    }

    /** Second pass: both accesses of each race with their stacks, then one report per pair of functions. */
    public void explain(final Path trace)
    {
        explain(Probe.of(trace, symbols));
    }

    /** {@link #explain(Path)} with the probes from a looker. */
    public void explain(final Probe.Looker looker)
    {
        final List<Long> events = new ArrayList<>();
        for (final Race r : races)
        {
            events.add(r.earlier);
            events.add(r.later);
        }
        final List<Probe.Sight> sights = looker.look(events);
        final Map<String, Integer> counts = new HashMap<>();
        final List<Object[]> firsts = new ArrayList<>();
        for (int i = 0; i < races.size(); i++)
        {
            final Probe.Sight a = sights.get(2 * i);
            final Probe.Sight b = sights.get(2 * i + 1);
            final String pair = fn(a.event.pc()) + " / " + fn(b.event.pc());
            if (!counts.containsKey(pair))
            {
                counts.put(pair, 0);
                firsts.add(new Object[] {pair, a, b, races.get(i)});
            }
            else
            {
                counts.put(pair, counts.get(pair) + 1 + (int)races.get(i).more);
            }
        }
        for (final Object[] f : firsts)
        {
            if (findings.size() == MAX_REPORTS)
            {
                break;
            }
            final String pair = (String)f[0];
            final Probe.Sight a = (Probe.Sight)f[1];
            final Probe.Sight b = (Probe.Sight)f[2];
            final long more = counts.get(pair) + ((Race)f[3]).more;
            // A cause with a modest confidence: a race makes bad state possible, it may not be what broke this run.
            final Probe.Sight w = EventKind.isWrite(b.event.kind()) ? b : a;
            findings.add(new Finding(NAME, b.event.index(), title(pair, a, b, ((Race)f[3]).laterLocks), report(pair, a, b, more), Finding.Role.CAUSE,
                "data-race", fn(w.event.pc()), 60, a.event.index()));
        }
    }

    private String fn(final long pc)
    {
        final String f = symbols.function(pc);
        return f != null ? f : symbols.sym(pc);
    }

    private String title(final String pair, final Probe.Sight a, final Probe.Sight b, final int laterLocks)
    {
        // The lockset of the later access: none held is the plain "update outside its lock".
        return "KCSAN: data-race in " + pair + " (" + kind(a.event) + " by task " + a.task + " on cpu" + a.event.cpu() + ", " +
            kind(b.event) + " by task " + b.task + " on cpu" + b.event.cpu() + (laterLocks == 0 ? " holding no lock" : "") + " at " +
            Long.toHexString(b.event.vaddr()) + ")";
    }

    private static String kind(final Event e)
    {
        return EventKind.isWrite(e.kind()) ? "write" : "read";
    }

    private String report(final String pair, final Probe.Sight a, final Probe.Sight b, final long more)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("BUG: KCSAN: data-race in ").append(pair).append("\n\n");
        access(sb, a).append('\n');
        access(sb, b).append('\n');
        final Probe.Sight w = EventKind.isWrite(b.event.kind()) ? b : a;
        final int size = w.event.size();
        final long m = size >= 8 ? -1L : (1L << (8 * size)) - 1;
        sb.append("value changed: 0x").append(hex(w.event.oldValue() & m, size)).append(" -> 0x").append(hex(w.event.value() & m, size))
            .append('\n');
        sb.append("\n").append(a.owner.isEmpty() ? "" : a.owner + "\n");
        sb.append("Neither access happens before the other: no lock, atomic, IPI or task switch orders task ")
            .append(a.task).append("'s access at event ").append(a.event.index()).append(" before task ").append(b.task)
            .append("'s at event ").append(b.event.index()).append('\n');
        if (more > 0)
        {
            sb.append("(").append(more).append(" more races between these functions)\n");
        }
        return sb.toString();
    }

    private StringBuilder access(final StringBuilder sb, final Probe.Sight s)
    {
        sb.append(kind(s.event)).append(" to 0x").append(Long.toHexString(s.event.vaddr())).append(" of ").append(s.event.size())
            .append(" bytes by task ").append(s.task).append(" on cpu ").append(s.event.cpu()).append(" at event ")
            .append(s.event.index()).append(":\n");
        return symbols.stack(sb, s.event.pc(), s.stack);
    }

    private static String hex(final long v, final int size)
    {
        final String s = Long.toHexString(v);
        final int width = Math.max(1, Math.min(8, size)) * 2;
        return s.length() >= width ? s : "0".repeat(width - s.length()) + s;
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
            return "KCSAN-style data races: unordered plain accesses to the same bytes, by happens-before over locks, atomics, IPIs, switches";
        }

        @Override
        public Analyzer create(final palimpsest.analyzers.AnalysisContext c)
        {
            return new DataRaces(c.shadow, c.symbols);
        }
    }
}
