package palimpsest.replayer.bisect;

import java.util.List;

import palimpsest.emulator.Verdict;
import palimpsest.kernel.patches.Patch;

/**
 * One classified candidate of a patch bisect: candidate k is the older version plus the first k
 * candidate patches, named (like a commit) by its last patch; the two ends, by their version
 * ({@link #lastPatch} is then null). Judged over one or more recorded
 * schedules: {@link #perSeed} holds each seed's verdict, {@link #kind} their combination (BAD if any
 * is bad, GOOD if all are good, SKIP otherwise).
 */
public final class BisectStep
{
    /** One recorded schedule's verdict on this candidate. */
    public static final class SeedVerdict
    {
        public final long seed;
        public final Verdict verdict;

        SeedVerdict(final long seed, final Verdict verdict)
        {
            this.seed = seed;
            this.verdict = verdict;
        }

        @Override
        public String toString()
        {
            return "seed " + seed + " " + verdict;
        }
    }

    public final int candidate;
    /** The candidate's last patch; null for the ends (named by their version). */
    public final Patch lastPatch;
    /** "v2.6.25+3", or the version's name for an end. */
    public final String label;
    public final Verdict.Kind kind;
    /** The message of the verdict that decided the kind (the first bad seed, else the first). */
    public final String message;
    public final List<SeedVerdict> perSeed;
    public final long nanos;
    /** True for the recorded runs (the other candidates replay their inputs). */
    public final boolean recorded;
    /** The git bisect term for this step: "good"/"bad", or "broken"/"fixed" for a first-fix bisect. */
    private final String term;

    BisectStep(final int candidate, final Patch lastPatch, final String label, final List<SeedVerdict> perSeed,
        final long nanos, final boolean recorded, final boolean firstFix)
    {
        this.candidate = candidate;
        this.lastPatch = lastPatch;
        this.label = label;
        this.perSeed = List.copyOf(perSeed);
        this.kind = combine(perSeed);
        this.message = decisive(perSeed, kind).verdict.message;
        this.nanos = nanos;
        this.recorded = recorded;
        this.term = term(kind, firstFix);
    }

    /** BAD if any schedule is bad (a racy bug is not missed by one lucky schedule), GOOD if all are good, else SKIP. */
    static Verdict.Kind combine(final List<SeedVerdict> perSeed)
    {
        boolean allGood = true;
        for (final SeedVerdict s : perSeed)
        {
            if (s.verdict.kind == Verdict.Kind.BAD)
            {
                return Verdict.Kind.BAD;
            }
            allGood &= s.verdict.kind == Verdict.Kind.GOOD;
        }
        return allGood ? Verdict.Kind.GOOD : Verdict.Kind.SKIP;
    }

    private static SeedVerdict decisive(final List<SeedVerdict> perSeed, final Verdict.Kind kind)
    {
        for (final SeedVerdict s : perSeed)
        {
            if (s.verdict.kind == kind)
            {
                return s;
            }
        }
        return perSeed.get(0);
    }

    static String term(final Verdict.Kind kind, final boolean firstFix)
    {
        if (kind == Verdict.Kind.SKIP)
        {
            return "skip";
        }
        if (firstFix)
        {
            return kind == Verdict.Kind.GOOD ? "fixed" : "broken";
        }
        return kind.name().toLowerCase();
    }

    /** The git bisect verb for this verdict: good, bad or skip (broken, fixed or skip for a first-fix bisect). */
    public String term()
    {
        return term;
    }

    /** The name the log gives this candidate: its last patch, or the version of an end. */
    public String name()
    {
        return lastPatch != null ? lastPatch.name() : label;
    }

    /** "seed 0 bad, seed 1 good" (empty for a single seed). */
    public String seedSummary()
    {
        if (perSeed.size() < 2)
        {
            return "";
        }
        final StringBuilder sb = new StringBuilder();
        for (final SeedVerdict s : perSeed)
        {
            if (sb.length() > 0)
            {
                sb.append(", ");
            }
            sb.append("seed ").append(s.seed).append(' ').append(s.verdict.kind.name().toLowerCase());
        }
        return sb.toString();
    }
}
