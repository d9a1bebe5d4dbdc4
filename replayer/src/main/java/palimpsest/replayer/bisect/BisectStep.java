package palimpsest.replayer.bisect;

import palimpsest.emulator.Verdict;
import palimpsest.kernel.patches.Patch;

/**
 * One classified candidate of a patch bisect: candidate k is the good version plus the first k
 * candidate patches, named (like a commit) by its last patch.
 */
public final class BisectStep
{
    public final int candidate;
    public final Patch lastPatch;
    /** "v2.6.25+3", or the bad version's name for the recorded run. */
    public final String label;
    public final Verdict.Kind kind;
    public final String message;
    public final long nanos;
    /** True for the recorded bad run (not a replay). */
    public final boolean recorded;

    BisectStep(final int candidate, final Patch lastPatch, final String label, final Verdict.Kind kind, final String message,
        final long nanos, final boolean recorded)
    {
        this.candidate = candidate;
        this.lastPatch = lastPatch;
        this.label = label;
        this.kind = kind;
        this.message = message;
        this.nanos = nanos;
        this.recorded = recorded;
    }

    /** The git bisect verb for this verdict: good, bad or skip. */
    public String term()
    {
        return kind.name().toLowerCase();
    }
}
