package palimpsest.analyzers.invariants;

import java.nio.file.Path;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.Replay;
import palimpsest.replayer.ReplayResult;
import palimpsest.replayer.ReplayTap;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceReader;

/**
 * The first event at which an invariant fails. The trace is replayed (and verified) from its
 * recorded inputs; after every write (store, rmw, dma write) the invariant's cheap
 * {@link Invariant#touches} filter decides whether to run {@link Invariant#checkWrite} on the
 * replayed machine's memory, which already holds the write. The first violation stops the replay.
 *
 * <p>Not yet here: the binary search over keyframes that would skip the stretch before the first
 * failing keyframe (it needs state-at-event from keyframes, issue 5's TraceState); this pass is
 * the linear pass that would follow it, run from event 0.
 */
public final class InvariantBisect
{
    /** What the pass found. */
    public static final class Result
    {
        /** The write that first breaks the invariant (null if it never fails). */
        public final Event event;
        public final String violation;
        public final long eventsReplayed;
        public final long checks;
        public final Machine machine;
        public final ReplayResult replay;

        Result(final Event event, final String violation, final long eventsReplayed, final long checks,
            final Machine machine, final ReplayResult replay)
        {
            this.event = event;
            this.violation = violation;
            this.eventsReplayed = eventsReplayed;
            this.checks = checks;
            this.machine = machine;
            this.replay = replay;
        }
    }

    private InvariantBisect()
    {
    }

    public static Result run(final Path trace, final ScenarioCatalog catalog, final Invariant invariant)
    {
        final palimpsest.kernel.patches.Patches build;
        try (TraceReader r = TraceReader.open(trace))
        {
            build = KernelState.patchesOf(r.header());
        }
        final Checker checker = new Checker(invariant, build);
        final ReplayResult rr = new Replay(trace, catalog).tap(checker).run();
        return new Result(checker.found, checker.violation, checker.events, checker.checks, rr.machine, rr);
    }

    /** The tap: counts events, filters writes, checks, stops at the first violation. */
    private static final class Checker implements ReplayTap
    {
        private final Invariant invariant;
        private final palimpsest.kernel.patches.Patches build;
        private Machine machine;
        private KernelState state;
        private boolean applies;
        long events;
        long checks;
        Event found;
        String violation;

        Checker(final Invariant invariant, final palimpsest.kernel.patches.Patches build)
        {
            this.invariant = invariant;
            this.build = build;
        }

        @Override
        public void attach(final Machine m)
        {
            this.machine = m;
            this.state = new KernelState(m.memory(0), build);
            this.applies = invariant.applies(state);
        }

        @Override
        public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr, final long paddr,
            final int size, final long value, final long oldValue)
        {
            final long index = events++;
            if (found != null || !applies || !EventKind.isWrite(kind) || EventKind.isDevice(cpu) && kind != EventKind.DMA_WRITE)
            {
                return;
            }
            if (!invariant.touches(state, paddr, size))
            {
                return;
            }
            checks++;
            final String v = invariant.checkWrite(state, paddr, size);
            if (v != null)
            {
                found = new Event().setAccess(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue).index(index);
                violation = v;
                machine.stop(new Outcome(Outcome.Kind.INTERNAL_ERROR, 0, "invariant " + invariant.name() +
                    " fails at event " + index, null));
            }
        }

        @Override
        public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b, final long c)
        {
            events++;
        }

        @Override
        public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
            final byte[] payload, final int offset, final int length)
        {
            events++;
        }
    }
}
