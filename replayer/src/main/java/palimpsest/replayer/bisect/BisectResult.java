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
    /** A first-fix bisect (terms broken/fixed): the bad version is the older one. */
    public final boolean firstFix;
    /** The seeds of the recorded schedules every candidate was judged over. */
    public final List<Long> seeds;
    /** The recorded bad end: the trace itself for one seed, a directory of {@code seed-N} traces for several. */
    public final Path badTrace;
    /** Events of the recorded bad end, over every seed. */
    public final long badTraceEvents;
    public final List<Patch> candidates;
    /** The recorded bad end first, then the replayed good end, then every replayed candidate in the order tried. */
    public final List<BisectStep> steps;
    /** One patch: the first bad (first fixing) one. Several: every candidate between the bounds was skipped. */
    public final List<Patch> suspects;
    /** Replays, one per candidate and seed, the good end's check included. */
    public final int replays;
    public final long nanos;

    BisectResult(final String scenario, final String goodVersion, final String badVersion, final boolean firstFix,
        final List<Long> seeds, final Path badTrace, final long badTraceEvents, final List<Patch> candidates,
        final List<BisectStep> steps, final List<Patch> suspects, final int replays, final long nanos)
    {
        this.scenario = scenario;
        this.goodVersion = goodVersion;
        this.badVersion = badVersion;
        this.firstFix = firstFix;
        this.seeds = List.copyOf(seeds);
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

    /** The first bad patch (first-bad bisect) or the first fixing one (first-fix bisect). */
    public Patch firstBad()
    {
        return found() ? suspects.get(0) : null;
    }

    /** The git term of the newer end: "bad", or "fixed" for a first-fix bisect. */
    public String newTerm()
    {
        return firstFix ? "fixed" : "bad";
    }

    /** The git term of the older end: "good", or "broken" for a first-fix bisect. */
    public String oldTerm()
    {
        return firstFix ? "broken" : "good";
    }

    /**
     * The account of the steps in the shape of {@code git bisect log}: a comment with the verdict and
     * the candidate's last patch (with several seeds, each seed's verdict), then the command that
     * would have recorded it.
     */
    public String log()
    {
        final String older = firstFix ? badVersion : goodVersion;
        final String newer = firstFix ? goodVersion : badVersion;
        final StringBuilder sb = new StringBuilder();
        sb.append("# scenario ").append(scenario).append(": ").append(candidates.size()).append(" patches between ")
            .append(older).append(" and ").append(newer);
        if (firstFix)
        {
            sb.append(", first fix (terms: broken ").append(older).append(", fixed ").append(newer).append(')');
        }
        if (seeds.size() > 1)
        {
            sb.append(", each judged over ").append(seeds.size()).append(" schedules (seeds ").append(seeds.get(0))
                .append("..").append(seeds.get(seeds.size() - 1)).append("; bad if any is bad)");
        }
        sb.append('\n');
        for (final BisectStep s : steps)
        {
            sb.append("# ").append(s.term()).append(": [").append(s.name()).append("] ")
                .append(s.lastPatch != null ? s.lastPatch.description() : "the " + (s.recorded ? "bad" : "good") + " version");
            if (s.recorded)
            {
                sb.append("  (").append(badVersion).append(", recorded)");
            }
            else if (s.lastPatch == null)
            {
                sb.append("  (").append(goodVersion).append(", the good end checked)");
            }
            sb.append('\n');
            sb.append("#   ").append(s.message).append('\n');
            if (s.perSeed.size() > 1)
            {
                for (final BisectStep.SeedVerdict v : s.perSeed)
                {
                    sb.append("#   seed ").append(v.seed).append(": ").append(v.verdict).append('\n');
                }
            }
            if (s.recorded)
            {
                sb.append("git bisect start ").append(firstFix ? "--term-old=broken --term-new=fixed " : "")
                    .append('\'').append(newer).append("' '").append(older).append("'\n");
            }
            else
            {
                sb.append("git bisect ").append(s.term()).append(' ').append(s.name()).append('\n');
            }
        }
        if (found())
        {
            final Patch p = firstBad();
            sb.append("# first ").append(newTerm()).append(" commit: [").append(p.name()).append("] ").append(p.description())
                .append('\n');
        }
        else
        {
            sb.append("# only skipped commits left to test\n");
            sb.append("# possible first ").append(newTerm()).append(" commit:");
            for (final Patch p : suspects)
            {
                sb.append(" [").append(p.name()).append(']');
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
