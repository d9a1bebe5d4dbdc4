package palimpsest.analyzers;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Ranking and one story: findings that cite a common event (a write and the crash it caused, an
 * uninitialised load and the fault on its value) are merged into one {@link Story}; stories are
 * ranked by their best finding (a cause above a symptom above a note, then confidence), a story
 * that links a cause to a symptom above one that does not. The {@link #verdict} is one line for
 * the best story: its cause (class, culprit, event) and the symptom it led to, or, when no
 * finding names a cause, the symptom with "no cause found" and what the analyzers checked. It
 * knows nothing of particular analyzers: only {@link Finding}'s ranking fields.
 */
public final class Stories
{
    /** Related findings, best first. */
    public static final class Story
    {
        public final List<Finding> findings = new ArrayList<>();

        /** The best finding. */
        public Finding lead()
        {
            return findings.get(0);
        }

        /** The best cause, or null when no finding of the story names one. */
        public Finding cause()
        {
            for (final Finding f : findings)
            {
                if (f.role == Finding.Role.CAUSE)
                {
                    return f;
                }
            }
            return null;
        }

        /** The best symptom, or null. */
        public Finding symptom()
        {
            for (final Finding f : findings)
            {
                if (f.role == Finding.Role.SYMPTOM)
                {
                    return f;
                }
            }
            return null;
        }

        public int rank()
        {
            return lead().rank() + (cause() != null && symptom() != null ? 50 : 0);
        }

        long firstEvent()
        {
            long min = Long.MAX_VALUE;
            for (final Finding f : findings)
            {
                min = Math.min(min, f.event);
            }
            return min;
        }
    }

    private Stories()
    {
    }

    /** The findings merged into stories, best story first (ties: the earlier story first). */
    public static List<Story> of(final List<Finding> findings)
    {
        final int n = findings.size();
        final int[] parent = new int[n];
        for (int i = 0; i < n; i++)
        {
            parent[i] = i;
        }
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                if (findings.get(i).related(findings.get(j)))
                {
                    parent[root(parent, i)] = root(parent, j);
                }
            }
        }
        final List<Story> stories = new ArrayList<>();
        final Story[] byRoot = new Story[n];
        for (int i = 0; i < n; i++)
        {
            final int r = root(parent, i);
            if (byRoot[r] == null)
            {
                byRoot[r] = new Story();
                stories.add(byRoot[r]);
            }
            byRoot[r].findings.add(findings.get(i));
        }
        for (final Story s : stories)
        {
            s.findings.sort(Comparator.comparingInt(Finding::rank).reversed().thenComparingLong(f -> f.event));
        }
        stories.sort(Comparator.comparingInt(Story::rank).reversed().thenComparingLong(Story::firstEvent));
        return stories;
    }

    private static int root(final int[] parent, final int i)
    {
        int r = i;
        while (parent[r] != r)
        {
            r = parent[r];
        }
        return r;
    }

    /**
     * One line: {@code verdict: CLASS: CULPRIT at event E [analyzer]; it led to: SYMPTOM (event F)},
     * or {@code verdict: SYMPTOM (event F); no cause found: nothing links it to an earlier event;
     * checked: ...}, or {@code verdict: clean}.
     */
    public static String verdict(final List<Story> stories, final List<String> checked)
    {
        if (stories.isEmpty())
        {
            return "verdict: clean (no findings)";
        }
        final Story top = stories.get(0);
        final Finding cause = top.cause();
        final StringBuilder sb = new StringBuilder("verdict: ");
        if (cause != null)
        {
            sb.append(cause.bugClass).append(": ").append(cause.culprit.isEmpty() ? "(culprit unknown)" : cause.culprit)
                .append(" at event ").append(cause.event).append(" [").append(cause.analyzer).append(']');
            final Finding symptom = top.symptom();
            if (symptom != null)
            {
                // A symptom's title may carry its own chain ("oops at X in f <- pointer loaded from
                // Y <- ..."): the verdict keeps its head; the story below has the rest.
                final int cut = symptom.title.indexOf(" <- ");
                sb.append("; it led to: ").append(cut > 0 ? symptom.title.substring(0, cut) : symptom.title)
                    .append(" (event ").append(symptom.event).append(')');
            }
            else if (!cause.title.isEmpty())
            {
                sb.append(": ").append(cause.title);
            }
            return sb.toString();
        }
        final Finding lead = top.lead();
        sb.append(lead.title).append(" (event ").append(lead.event).append(")");
        if (lead.role == Finding.Role.SYMPTOM)
        {
            sb.append("; no cause found: no finding links it to an earlier event");
            final List<String> what = new ArrayList<>();
            for (final String c : checked)
            {
                if (!c.isEmpty())
                {
                    what.add(c);
                }
            }
            if (!what.isEmpty())
            {
                sb.append("; checked: ").append(String.join("; ", what));
            }
        }
        return sb.toString();
    }
}
