package palimpsest.replayer;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Verdict;
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

    ReplayResult(final TraceHeader header, final long verified, final long afterDivergence, final Divergence divergence,
        final String inputDeparture, final Outcome outcome, final Verdict verdict, final long nanos,
        final TraceStatus recordingStatus, final String recordingStatusMessage, final Machine machine)
    {
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

    public double eventsPerSecond()
    {
        return nanos == 0 ? 0 : verified * 1e9 / nanos;
    }
}
