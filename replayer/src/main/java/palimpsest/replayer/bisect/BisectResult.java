package palimpsest.replayer.bisect;

import java.nio.file.Path;
import java.util.List;

import palimpsest.kernel.patches.Patch;

/** What a patch bisect found, and how: its steps, replays and wall time. */
public final class BisectResult
{
    public final String scenario;
    public final String goodVersion;
    public final String badVersion;
    public final Path badTrace;
    public final long badTraceEvents;
    public final List<Patch> candidates;
    /** The recorded bad run first, then every replayed candidate in the order tried. */
    public final List<BisectStep> steps;
    /** One patch: the first bad one. Several: every candidate between the bounds was skipped. */
    public final List<Patch> suspects;
    public final int replays;
    public final long nanos;

    BisectResult(final String scenario, final String goodVersion, final String badVersion, final Path badTrace,
        final long badTraceEvents, final List<Patch> candidates, final List<BisectStep> steps, final List<Patch> suspects,
        final int replays, final long nanos)
    {
        this.scenario = scenario;
        this.goodVersion = goodVersion;
        this.badVersion = badVersion;
        this.badTrace = badTrace;
        this.badTraceEvents = badTraceEvents;
        this.candidates = List.copyOf(candidates);
        this.steps = List.copyOf(steps);
        this.suspects = List.copyOf(suspects);
        this.replays = replays;
        this.nanos = nanos;
    }

    public boolean found()
    {
        return suspects.size() == 1;
    }

    public Patch firstBad()
    {
        return found() ? suspects.get(0) : null;
    }

    /**
     * The account of the steps in the shape of {@code git bisect log}: a comment with the verdict and
     * the candidate's last patch, then the command that would have recorded it.
     */
    public String log()
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("# scenario ").append(scenario).append(": ").append(candidates.size()).append(" patches between ")
            .append(goodVersion).append(" and ").append(badVersion).append('\n');
        sb.append("# good: [").append(goodVersion).append("] the good version (as given)\n");
        for (final BisectStep s : steps)
        {
            sb.append("# ").append(s.term()).append(": [").append(s.lastPatch.name()).append("] ")
                .append(s.lastPatch.description());
            if (s.recorded)
            {
                sb.append("  (").append(badVersion).append(", recorded)");
            }
            sb.append('\n');
            sb.append("#   ").append(s.message).append('\n');
            if (s.recorded)
            {
                sb.append("git bisect start '").append(badVersion).append("' '").append(goodVersion).append("'\n");
            }
            else
            {
                sb.append("git bisect ").append(s.term()).append(' ').append(s.lastPatch.name()).append('\n');
            }
        }
        if (found())
        {
            final Patch p = firstBad();
            sb.append("# first bad commit: [").append(p.name()).append("] ").append(p.description()).append('\n');
        }
        else
        {
            sb.append("# only skipped commits left to test\n");
            sb.append("# possible first bad commit:");
            for (final Patch p : suspects)
            {
                sb.append(" [").append(p.name()).append(']');
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
