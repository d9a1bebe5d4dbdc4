package palimpsest.replayer;

import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.trace.Event;
import palimpsest.trace.EventSink;
import palimpsest.trace.DecodeAhead;
import palimpsest.trace.EndRecord;
import palimpsest.trace.TraceStatus;

/**
 * The event sink of a replayed machine: compares every regenerated event with the next recorded
 * one. Allocation-free while they agree (one reusable event, the recorded ones handed out by the
 * {@link DecodeAhead} batches, and a ring of recent ones). At the first mismatch it keeps both,
 * closes the recording (which stops its decode thread: nothing more is compared) and either stops
 * the machine (plain replay) or lets it run on uncompared (what-if replay, to learn how the other
 * kernel's run ends).
 *
 * <p>The recording is decoded ahead on a second thread while this one re-executes, so replay costs
 * about the re-execution alone rather than re-execution plus decoding.
 */
public final class Verifier implements EventSink
{
    static final int CONTEXT = 8;

    private final DecodeAhead recording;
    private final boolean stopAtDivergence;
    private final Event actual = new Event();
    private final Event[] ring = new Event[CONTEXT];
    private Machine machine;
    private long verified;
    private long afterDivergence;
    private boolean recordedEnded;
    private Divergence divergence;
    private EventSink tap = EventSink.NULL;

    public Verifier(final DecodeAhead recording, final boolean stopAtDivergence)
    {
        this.recording = recording;
        this.stopAtDivergence = stopAtDivergence;
        for (int i = 0; i < CONTEXT; i++)
        {
            ring[i] = new Event();
        }
    }

    void attach(final Machine machine)
    {
        this.machine = machine;
    }

    void tap(final EventSink tap)
    {
        this.tap = tap;
    }

    public long verified()
    {
        return verified;
    }

    /** Events the replay produced after its divergence (what-if replay). */
    public long afterDivergence()
    {
        return afterDivergence;
    }

    public Divergence divergence()
    {
        return divergence;
    }

    /** Whether the recording holds events the replay never produced. */
    public boolean recordingHasMore()
    {
        if (divergence != null || recordedEnded)
        {
            return false;
        }
        return recording.next() != null;
    }

    /** Call after the run: reports a recording longer than the replay as a divergence. */
    void finish(final String replayEnd)
    {
        final Event expected = divergence == null && !recordedEnded ? recording.next() : null;
        if (expected != null)
        {
            divergence = new Divergence(expected.index(), new Event().copyFrom(expected), null, context(),
                "the replay ended (" + replayEnd + ") but the recording goes on");
            recording.close();
        }
    }

    private void compare()
    {
        if (divergence != null)
        {
            afterDivergence++;
            return;
        }
        final Event expected = recordedEnded ? null : recording.next();
        if (expected == null && interruptedHere())
        {
            // The recording was stopped by the user just before this event: so does its replay.
            recordedEnded = true;
            machine.stop(Outcome.interrupted());
        }
        if (expected == null)
        {
            recordedEnded = true;
            actual.index(verified);
            diverge(null, "the recording ends here (" + recording.statusMessage() + ") but the replay goes on");
            return;
        }
        actual.index(expected.index());
        if (!expected.sameAs(actual))
        {
            diverge(new Event().copyFrom(expected), "recorded and replayed events differ");
            return;
        }
        ring[(int)(verified % CONTEXT)].copyFrom(expected);
        verified++;
    }

    /** Whether the recording ends, whole, with the outcome of an interrupted recording. */
    private boolean interruptedHere()
    {
        final EndRecord end = recording.status() == TraceStatus.COMPLETE ? recording.end() : null;
        return end != null && machine != null && end.outcomeCode() == Outcome.interrupted().wireCode() &&
            end.outcomeMessage().equals(Outcome.interrupted().toString());
    }

    private List<Event> context()
    {
        final List<Event> list = new ArrayList<>();
        final long from = Math.max(0, verified - CONTEXT);
        for (long i = from; i < verified; i++)
        {
            list.add(new Event().copyFrom(ring[(int)(i % CONTEXT)]));
        }
        return list;
    }

    private void diverge(final Event recorded, final String reason)
    {
        divergence = new Divergence(actual.index(), recorded, new Event().copyFrom(actual), context(), reason);
        // Nothing more is compared: stop decoding (the recording's status stays what it was here).
        recording.close();
        if (stopAtDivergence && machine != null)
        {
            machine.stop(new Outcome(Outcome.Kind.INTERNAL_ERROR, 0, "replay diverged at event " + divergence.index, null));
        }
    }

    @Override
    public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr, final long paddr,
        final int size, final long value, final long oldValue)
    {
        actual.setAccess(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
        compare();
        tap.access(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
    }

    @Override
    public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b, final long c)
    {
        actual.setEvent(kind, cpu, icount, pc, a, b, c);
        compare();
        tap.event(kind, cpu, icount, pc, a, b, c);
    }

    @Override
    public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
        final byte[] payload, final int offset, final int length)
    {
        actual.setNet(kind, device, vtime, peerNode, frameId, payload, offset, length);
        compare();
        tap.net(kind, device, vtime, peerNode, frameId, payload, offset, length);
    }
}
