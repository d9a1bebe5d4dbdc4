package palimpsest.replayer;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Verdict;
import palimpsest.trace.EndRecord;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceStatus;

/** What a replay found: how many events agreed, the first divergence if any, and how the run ended. */
public final class ReplayResult
{
    public final TraceHeader header;
    public final long verified;
    public final long afterDivergence;
    public final Divergence divergence;
    /** Why the run stopped following the recorded inputs (null if it never did). */
    public final String inputDeparture;
    public final Outcome outcome;
    /** The scenario's verdict on the replayed run (null when a plain replay stopped at a divergence). */
    public final Verdict verdict;
    public final long nanos;
    public final TraceStatus recordingStatus;
    public final String recordingStatusMessage;
    /** The replayed machine, for symbols. */
    public final Machine machine;
    /** The recording's end record (null unless the recording is complete). */
    public final EndRecord recordedEnd;

    ReplayResult(final TraceHeader header, final long verified, final long afterDivergence, final Divergence divergence,
        final String inputDeparture, final Outcome outcome, final Verdict verdict, final long nanos,
        final TraceStatus recordingStatus, final String recordingStatusMessage, final Machine machine,
        final EndRecord recordedEnd)
    {
        this.recordedEnd = recordedEnd;
        this.header = header;
        this.verified = verified;
        this.afterDivergence = afterDivergence;
        this.divergence = divergence;
        this.inputDeparture = inputDeparture;
        this.outcome = outcome;
        this.verdict = verdict;
        this.nanos = nanos;
        this.recordingStatus = recordingStatus;
        this.recordingStatusMessage = recordingStatusMessage;
        this.machine = machine;
    }

    public boolean verifiedAll()
    {
        return divergence == null;
    }

    /**
     * Null when the recording's end record names the outcome the replay ended with (or there is no end
     * record to compare with); otherwise both, in one line. Every event may agree and the run still end
     * otherwise (an outcome decided after the last event, or an end record whose outcome changed).
     */
    public String outcomeMismatch()
    {
        if (recordedEnd == null || outcome == null)
        {
            return null;
        }
        if (recordedEnd.outcomeCode() == outcome.wireCode() && recordedEnd.outcomeMessage().equals(outcome.toString()))
        {
            return null;
        }
        return "the recording ended \"" + recordedEnd.outcomeMessage() + "\" (outcome " +
            Outcome.describeWire(recordedEnd.outcomeCode()) + ") but the replay ended \"" + outcome + "\" (outcome " +
            Outcome.describeWire(outcome.wireCode()) + ")";
    }

    public double eventsPerSecond()
    {
        return nanos == 0 ? 0 : verified * 1e9 / nanos;
    }
}
