package palimpsest.analyzers;

import java.util.Arrays;

/**
 * One thing an analyzer reports: which analyzer, the event it is about, a one-line title and the
 * full report, plus what the ranking needs to tell a cause from its symptoms and to merge related
 * findings into one story ({@link Stories}):
 * <ul>
 *   <li>{@link #role}: a {@link Role#CAUSE} names the code that made the bad state (the stray write,
 *       the allocation that left bytes uninitialised, the PTE change that skipped a flush); a
 *       {@link Role#SYMPTOM} is where the run tripped over it (an oops, a bad access, the end of the
 *       run); a {@link Role#NOTE} is evidence that is neither;</li>
 *   <li>{@link #bugClass}: the class of cause, as the verdict line names it ({@code uninit-value},
 *       {@code stale-tlb}, {@code slab-use-after-free}, {@code oops}...);</li>
 *   <li>{@link #culprit}: the function that caused the bad state, as printed (may be empty);</li>
 *   <li>{@link #confidence}: 0..100, how sure the analyzer is that this is the cause (for causes) or
 *       that it is real (for symptoms);</li>
 *   <li>{@link #links}: the other events the finding rests on (the culprit write, the load that
 *       carried a value, the allocation, the fault). Findings sharing an event are one story.</li>
 * </ul>
 * Findings made with the four-argument constructor are notes with confidence 50 and no links.
 */
public final class Finding
{
    /** What a finding is to the story. */
    public enum Role
    {
        /** Names the code that made the bad state. */
        CAUSE,
        /** Where the run tripped over a bad state (a crash, a bad access, the end of the run). */
        SYMPTOM,
        /** Evidence that is neither. */
        NOTE
    }

    private static final long[] NO_LINKS = new long[0];

    public final String analyzer;
    public final long event;
    public final String title;
    public final String report;
    public final Role role;
    public final String bugClass;
    public final String culprit;
    public final int confidence;
    private final long[] links;

    public Finding(final String analyzer, final long event, final String title, final String report)
    {
        this(analyzer, event, title, report, Role.NOTE, analyzer, "", 50);
    }

    public Finding(final String analyzer, final long event, final String title, final String report, final Role role,
        final String bugClass, final String culprit, final int confidence, final long... links)
    {
        this.analyzer = analyzer;
        this.event = event;
        this.title = title;
        this.report = report;
        this.role = role;
        this.bugClass = bugClass;
        this.culprit = culprit == null ? "" : culprit;
        this.confidence = Math.max(0, Math.min(100, confidence));
        // Negative events mean "none": they must not tie two findings together.
        this.links = links == null || links.length == 0 ? NO_LINKS : java.util.Arrays.stream(links).filter(l -> l >= 0).toArray();
    }

    /** The events this finding rests on besides {@link #event} (a copy). */
    public long[] links()
    {
        return links.clone();
    }

    /** Whether this finding cites the event (as its own event or as a link). */
    public boolean cites(final long ev)
    {
        if (ev == event)
        {
            return true;
        }
        for (final long l : links)
        {
            if (l == ev)
            {
                return true;
            }
        }
        return false;
    }

    /** Whether the two findings cite a common event (then they belong to one story). */
    public boolean related(final Finding o)
    {
        if (o.cites(event))
        {
            return true;
        }
        for (final long l : links)
        {
            if (o.cites(l))
            {
                return true;
            }
        }
        return false;
    }

    /** The rank of this finding: causes above symptoms above notes, then by confidence. */
    public int rank()
    {
        return (role == Role.CAUSE ? 200 : role == Role.SYMPTOM ? 100 : 0) + confidence;
    }

    @Override
    public String toString()
    {
        return report;
    }

    /** For debugging and tests: the ranking fields. */
    public String describeRanking()
    {
        return role + " " + bugClass + " culprit=" + culprit + " confidence=" + confidence + " event=" + event
            + " links=" + Arrays.toString(links);
    }
}
