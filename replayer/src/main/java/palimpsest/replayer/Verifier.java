package palimpsest.replayer;

import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.trace.Event;
import palimpsest.trace.EventSink;
import palimpsest.trace.DecodeAhead;
import palimpsest.trace.EndRecord;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceStatus;

/**
 * The event sink of a replayed machine: compares every regenerated event with the next recorded
 * one. Allocation-free while they agree (the regenerated event is compared field by field with the
 * recorded one handed out by the {@link DecodeAhead} batches, never copied). At the first mismatch it keeps both,
 * reads the few events before it again from the trace for context,
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
    /** The recorded event {@link #peekRecorded} took from the recording ahead of its comparison, or null. */
    private Event pending;
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
        return peekRecorded() != null;
    }

    /** Call after the run: reports a recording longer than the replay as a divergence. */
    void finish(final String replayEnd)
    {
        final Event expected = divergence == null && !recordedEnded ? takeRecorded() : null;
        if (expected != null)
        {
            divergence = new Divergence(expected.index(), new Event().copyFrom(expected), null, context(),
                "the replay ended (" + replayEnd + ") but the recording goes on");
            recording.close();
        }
    }

    /**
     * The next recorded event, not consumed: the one the next regenerated event is compared with
     * (null after a divergence or at the end of the recording). {@link ReplayInput} answers a
     * question from it when it is the INPUT the replay is about to record, so inputs need no stream
     * of their own. Valid until the next event reaches this sink.
     */
    Event peekRecorded()
    {
        if (divergence != null || recordedEnded)
        {
            return null;
        }
        if (pending == null)
        {
            pending = recording.next();
        }
        return pending;
    }

    /** Index of the next recorded event to compare (the events before it all verified). */
    long position()
    {
        return verified;
    }

    private Event takeRecorded()
    {
        final Event p = pending;
        if (p != null)
        {
            pending = null;
            return p;
        }
        return recording.next();
    }

    /**
     * The next recorded event to compare with; null after a divergence (the event is counted) or when
     * the recording has no more (then the caller fills {@link #actual} and calls {@link #recordingEnded}).
     */
    private Event expected()
    {
        if (divergence != null)
        {
            afterDivergence++;
            return null;
        }
        return recordedEnded ? null : takeRecorded();
    }

    /** The replay produced an event (in {@link #actual}) past the end of the recording. */
    private void recordingEnded()
    {
        if (!recordedEnded && interruptedHere())
        {
            // The recording was stopped by the user just before this event: so does its replay.
            recordedEnded = true;
            machine.stop(Outcome.interrupted());
        }
        recordedEnded = true;
        actual.index(verified);
        diverge(null, "the recording ends here (" + recording.statusMessage() + ") but the replay goes on");
    }

    private void mismatch(final Event expected)
    {
        actual.index(expected.index());
        diverge(new Event().copyFrom(expected), "recorded and replayed events differ");
    }

    /** Whether the recording ends, whole, with the outcome of an interrupted recording. */
    private boolean interruptedHere()
    {
        final EndRecord end = recording.status() == TraceStatus.COMPLETE ? recording.end() : null;
        return end != null && machine != null && end.outcomeCode() == Outcome.interrupted().wireCode() &&
            end.outcomeMessage().equals(Outcome.interrupted().toString());
    }

    /**
     * The last {@link #CONTEXT} verified events, read again from the trace (only at a divergence: keeping
     * a copy of every event as it passes cost the replay thread a copy per event).
     */
    private List<Event> context()
    {
        final List<Event> list = new ArrayList<>();
        final long from = Math.max(0, verified - CONTEXT);
        if (verified == 0 || recording.dir() == null)
        {
            return list;
        }
        try (TraceReader r = TraceReader.open(recording.dir()))
        {
            if (r.seek(from))
            {
                for (long i = from; i < verified; i++)
                {
                    final Event e = new Event();
                    if (!r.next(e))
                    {
                        break;
                    }
                    list.add(e);
                }
            }
        }
        catch (final RuntimeException ex)
        {
            // The events verified a moment ago: the context is a courtesy, never worth failing the report for.
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
        final Event expected = expected();
        if (expected != null)
        {
            if (expected.sameAccess(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue))
            {
                verified++;
            }
            else
            {
                actual.setAccess(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
                mismatch(expected);
            }
        }
        else if (divergence == null)
        {
            actual.setAccess(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
            recordingEnded();
        }
        tap.access(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
    }

    @Override
    public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b, final long c)
    {
        final Event expected = expected();
        if (expected != null)
        {
            if (expected.sameEvent(kind, cpu, icount, pc, a, b, c))
            {
                verified++;
            }
            else
            {
                actual.setEvent(kind, cpu, icount, pc, a, b, c);
                mismatch(expected);
            }
        }
        else if (divergence == null)
        {
            actual.setEvent(kind, cpu, icount, pc, a, b, c);
            recordingEnded();
        }
        tap.event(kind, cpu, icount, pc, a, b, c);
    }

    @Override
    public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
        final byte[] payload, final int offset, final int length)
    {
        final Event expected = expected();
        actual.setNet(kind, device, vtime, peerNode, frameId, payload, offset, length);
        if (expected != null)
        {
            actual.index(expected.index());
            if (expected.sameAs(actual))
            {
                verified++;
            }
            else
            {
                mismatch(expected);
            }
        }
        tap.net(kind, device, vtime, peerNode, frameId, payload, offset, length);
    }
}
