package palimpsest.analyzers.invariants;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Paging;
import palimpsest.kernel.Mark;
import palimpsest.kernel.patches.Patches;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.state.StateIndex;
import palimpsest.replayer.state.TraceState;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceReader;

/**
 * The first event at which an invariant fails, from the trace alone (nothing is re-executed):
 *
 * <ol>
 *   <li><b>Binary search over keyframes.</b> {@link StateIndex#at} gives the state at each keyframe
 *       ({@code TRACE/keyframes.kryo}, rebuilt if missing); {@link Invariant#check} on the whole
 *       state finds the first keyframe at which the invariant fails, in log2(keyframes) checks.
 *       This assumes that a broken invariant stays broken (a corrupted link is not repaired by the
 *       kernel); a violation that heals before the next keyframe can be missed, the price of not
 *       checking every write of the whole trace.</li>
 *   <li><b>Linear pass</b> from the keyframe before that one (event 0 if none): the events are
 *       rolled forward with {@link TraceState#apply}; after every write (store, rmw, dma write)
 *       the invariant's cheap {@link Invariant#touches} filter decides whether to run
 *       {@link Invariant#checkWrite} (after one whole {@link Invariant#check} of the first state,
 *       from which an invariant may learn what its filter needs, e.g. page-tables its table
 *       pages). The first violation is the answer. When no keyframe fails,
 *       the pass runs from the last keyframe to the end.</li>
 *   <li><b>Aftermath</b>: the rest of the trace is scanned for later writes to the bytes the
 *       breaking write wrote (a scribble is often repeated, or overwritten by a worse one), each
 *       with the writer's call chain.</li>
 *   <li><b>The page's history</b>: the trace up to the breaking write is scanned once more for the
 *       life of the page it wrote (node 0): every allocation and free of it, and the stores that
 *       linked it into a page table, each with its call chain (a write through a stale reference
 *       shows as a free, an allocation for another use, then the write).</li>
 * </ol>
 */
public final class InvariantBisect
{
    /** How many frames of a writer's call chain are kept. */
    public static final int MAX_FRAMES = 12;
    /** How many later writes to the same bytes are listed at most. */
    public static final int MAX_LATER = 32;

    /** One write, with the writer's call chain at that moment (innermost first). */
    public static final class Write
    {
        public final Event event;
        public final List<Long> chain;

        Write(final Event event, final List<Long> chain)
        {
            this.event = event;
            this.chain = chain;
        }
    }

    /** One moment of the written page's life: allocated, freed, or linked into a page table (as a table or a leaf). */
    public static final class PageEvent
    {
        public final String what;
        public final Event event;
        public final List<Long> chain;

        PageEvent(final String what, final Event event, final List<Long> chain)
        {
            this.what = what;
            this.event = event;
            this.chain = chain;
        }
    }

    /** How many moments of the page's history are kept (the latest ones). */
    public static final int MAX_HISTORY = 8;

    /** What the bisect found. */
    public static final class Result
    {
        /** The write that first breaks the invariant (null if it never fails). */
        public final Event event;
        public final String violation;
        /** The writer's call chain (empty if none found). */
        public final List<Long> chain;
        /** Later writes to the bytes the breaking write wrote, up to the end of the trace. */
        public final List<Write> later;
        /** Keyframes in the trace (-1: not used, linear only), and how many states the binary search checked. */
        public final int keyframes;
        public final int keyframeChecks;
        /** Where the linear pass started, and how many events it rolled forward. */
        public final long linearFrom;
        public final long eventsScanned;
        /** Writes the linear pass checked. */
        public final long checks;
        /** Total events in the trace (readable ones). */
        public final long traceEvents;
        /** The machine the trace was recorded on, loaded but not run (for symbols). */
        public final Machine machine;
        /** What happened to the keyframes ("rebuilt: ..."), or null. */
        public final String keyframeNote;
        /** The written page's life up to the write, oldest first (empty if it never failed). */
        public final List<PageEvent> history = new ArrayList<>();

        Result(final Event event, final String violation, final List<Long> chain, final List<Write> later, final int keyframes,
            final int keyframeChecks, final long linearFrom, final long eventsScanned, final long checks, final long traceEvents,
            final Machine machine, final String keyframeNote)
        {
            this.event = event;
            this.violation = violation;
            this.chain = chain;
            this.later = later;
            this.keyframes = keyframes;
            this.keyframeChecks = keyframeChecks;
            this.linearFrom = linearFrom;
            this.eventsScanned = eventsScanned;
            this.checks = checks;
            this.traceEvents = traceEvents;
            this.machine = machine;
            this.keyframeNote = keyframeNote;
        }
    }

    private InvariantBisect()
    {
    }

    /**
     * @throws IllegalArgumentException (one line) for a trace whose scenario this pal lacks
     * @throws palimpsest.trace.TraceException for an unreadable trace
     */
    public static Result run(final Path trace, final ScenarioCatalog catalog, final Invariant invariant)
    {
        return run(trace, catalog, invariant, false);
    }

    /**
     * As {@link #run(Path, ScenarioCatalog, Invariant)}; with linearOnly no keyframe search: every
     * write of the whole trace is filtered and checked from event 0 (to show that an invariant
     * holds throughout, not only at keyframes and after the last one).
     */
    public static Result run(final Path trace, final ScenarioCatalog catalog, final Invariant invariant, final boolean linearOnly)
    {
        final StateIndex index = StateIndex.open(trace, catalog);
        final Patches build = KernelState.patchesOf(index.header());
        final List<Long> keyframes = linearOnly ? List.of() : index.keyframePositions();

        // 1. Binary search: lo = last keyframe known to hold (-1: event 0), hi = first known to fail.
        int lo = -1;
        int hi = keyframes.size();
        int keyframeChecks = 0;
        while (hi - lo > 1)
        {
            final int mid = (lo + hi) >>> 1;
            final TraceState st = index.at(keyframes.get(mid));
            keyframeChecks++;
            if (invariant.check(new KernelState(st.memory(0), build)) != null)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }
        final long from = lo < 0 ? 0 : keyframes.get(lo);

        // 2. Linear pass from there.
        final TraceState st = index.at(from);
        final KernelState state = new KernelState(st.memory(0), build);
        final boolean applies = invariant.applies(state);
        if (applies)
        {
            // A whole check of the first state: it holds there (or the search would have started
            // earlier), and invariants may learn from it what their touches filter needs.
            invariant.check(state);
        }
        final Event e = new Event();
        Event found = null;
        String violation = null;
        List<Long> chain = List.of();
        final List<Write> later = new ArrayList<>();
        long scanned = 0;
        long checks = 0;
        long total = from;
        try (TraceReader reader = TraceReader.open(trace))
        {
            if (from > 0 && !reader.seek(from))
            {
                throw new IllegalArgumentException("cannot seek to keyframe position " + from + " of " + trace);
            }
            while (reader.next(e))
            {
                st.apply(e);
                total++;
                if (found == null)
                {
                    scanned++;
                }
                final int kind = e.kind();
                if (!applies || !EventKind.isWrite(kind) || !onNode0(st, e))
                {
                    continue;
                }
                if (found == null)
                {
                    if (!invariant.touches(state, e.paddr(), e.size()))
                    {
                        continue;
                    }
                    checks++;
                    final String v = invariant.checkWrite(state, e.paddr(), e.size());
                    if (v != null)
                    {
                        found = new Event().copyFrom(e);
                        violation = v;
                        chain = chainOf(st, e);
                    }
                }
                else if (later.size() < MAX_LATER && e.paddr() < found.paddr() + found.size() &&
                    found.paddr() < e.paddr() + e.size())
                {
                    later.add(new Write(new Event().copyFrom(e), chainOf(st, e)));
                }
            }
        }
        final Result result = new Result(found, violation, chain, later, linearOnly ? -1 : keyframes.size(), keyframeChecks, from,
            scanned, checks, total, st.machine(), index.note());
        if (found != null)
        {
            history(trace, index, found, result.history);
        }
        return result;
    }

    /** The allocations, frees and page-table links of the page found wrote, from event 0 up to it. */
    private static void history(final Path trace, final StateIndex index, final Event found, final List<PageEvent> out)
    {
        final long page = found.paddr() & ~0xfffL;
        final TraceState st = index.at(0);
        final Event e = new Event();
        try (TraceReader reader = TraceReader.open(trace))
        {
            while (reader.next(e) && e.index() < found.index())
            {
                st.apply(e);
                final int kind = e.kind();
                if (EventKind.isDevice(e.cpu()) || st.nodeOf(e.cpu()) != 0)
                {
                    continue;
                }
                String what = null;
                if (kind == EventKind.MARK && (e.a() == Mark.PAGE_ALLOC || e.a() == Mark.PAGE_FREE))
                {
                    final long pages = 1L << Math.min(e.c(), 10);
                    if (page >= e.b() && page < e.b() + (pages << 12))
                    {
                        what = (e.a() == Mark.PAGE_ALLOC ? "allocated" : "freed") + (pages > 1 ? " (order " + e.c() + " block)" : "");
                    }
                }
                else if ((kind == EventKind.STORE || kind == EventKind.RMW) && e.size() == 8 && (e.value() & Paging.P) != 0 &&
                    (e.value() & Paging.ADDR_MASK) == page && (e.oldValue() & Paging.ADDR_MASK) != page && isTableWrite(st, e))
                {
                    what = "linked into a page table (entry at " + Long.toHexString(e.paddr()) + " = " + Long.toHexString(e.value()) + ")";
                }
                if (what != null)
                {
                    if (out.size() == MAX_HISTORY)
                    {
                        out.remove(0);
                    }
                    out.add(new PageEvent(what, new Event().copyFrom(e), chainOf(st, e)));
                }
            }
        }
    }

    /**
     * Whether a store of a table-shaped value (present, the page's frame) is a kernel one: the
     * kernel writes page-table entries through the direct map; a user store of such a value is data.
     */
    private static boolean isTableWrite(final TraceState st, final Event e)
    {
        return palimpsest.kernel.Layout.isDirectMap(e.vaddr());
    }

    private static boolean onNode0(final TraceState st, final Event e)
    {
        final int cpu = e.cpu();
        if (EventKind.isDevice(cpu))
        {
            return e.kind() == EventKind.DMA_WRITE;
        }
        return st.nodeOf(cpu) == 0;
    }

    private static List<Long> chainOf(final TraceState st, final Event e)
    {
        return EventKind.isDevice(e.cpu()) ? List.of() : st.backtrace(e.cpu(), MAX_FRAMES);
    }
}
