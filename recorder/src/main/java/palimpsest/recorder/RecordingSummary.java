package palimpsest.recorder;

import java.nio.file.Path;

import palimpsest.emulator.Outcome;
import palimpsest.emulator.Verdict;
import palimpsest.trace.TraceHeader;

/**
 * What a recording produced.
 *
 * @param events events written
 * @param chunks chunk excerpts written
 * @param bytes encoded bytes of the chunks (payload plus chunk headers; not the sparse, preallocated
 *     queue files)
 * @param elapsedNanos wall-clock time of the run (not in the trace)
 * @param instructions instructions retired, summed over all CPUs
 * @param virtualTime the machine's virtual time at the end
 */
public record RecordingSummary(
    TraceHeader header,
    Path trace,
    long events,
    long chunks,
    long bytes,
    long elapsedNanos,
    long instructions,
    long virtualTime,
    Outcome outcome,
    Verdict verdict)
{
    public double bytesPerEvent()
    {
        return events == 0 ? 0 : (double)bytes / events;
    }

    public double eventsPerSecond()
    {
        return elapsedNanos <= 0 ? 0 : events * 1e9 / elapsedNanos;
    }

    public double instructionsPerSecond()
    {
        return elapsedNanos <= 0 ? 0 : instructions * 1e9 / elapsedNanos;
    }
}
