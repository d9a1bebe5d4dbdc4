package palimpsest.analyzers;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.LongConsumer;

import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.owner.Owners;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.trace.EndRecord;
import palimpsest.trace.TraceHeader;

/**
 * What an analyzer of one pass may use: the trace, its header, symbols, the shared shadow and
 * owners, the who-wrote index (built during the pass when it was not on disk), and the probes of
 * the second stages ({@link #looker}: one shared pass answers what every stage announced).
 */
public final class AnalysisContext
{
    public final Path trace;
    public final TraceHeader header;
    public final Symbols symbols;
    public final MachineShadow shadow;
    public final Owners owners;
    private final LongConsumer progress;
    private WhoWroteIndex index;
    private final Map<Long, Probe.Sight> sights = new HashMap<>();
    private int probePasses;
    private EndRecord end;
    /** The context this one is a twin of (its second stages' index, probes and end are the primary's), or null. */
    private final AnalysisContext primary;

    public AnalysisContext(final Path trace, final TraceHeader header, final Symbols symbols, final MachineShadow shadow,
        final Owners owners, final LongConsumer progress)
    {
        this.trace = trace;
        this.header = header;
        this.symbols = symbols;
        this.shadow = shadow;
        this.owners = owners;
        this.progress = progress;
        this.primary = null;
    }

    /**
     * A twin of primary over another shadow, owners and symbols (Analysis's decode-side analyzers, fed
     * the same events on another thread); the end, the who-wrote index and the probes are the primary's.
     */
    AnalysisContext(final AnalysisContext primary, final Symbols symbols, final MachineShadow shadow, final Owners owners)
    {
        this.trace = primary.trace;
        this.header = primary.header;
        this.symbols = symbols;
        this.shadow = shadow;
        this.owners = owners;
        this.progress = primary.progress;
        this.primary = primary;
    }

    /** How the run ended (the trace's end record), once the pass has read it: null before and for a truncated trace. */
    public EndRecord end()
    {
        if (primary != null)
        {
            return primary.end();
        }
        return end;
    }

    void end(final EndRecord record)
    {
        this.end = record;
    }

    /** The who-wrote index of the trace: the one the pass built, else opened (or built in a pass of its own) on first use. */
    public WhoWroteIndex whoWrote()
    {
        if (primary != null)
        {
            return primary.whoWrote();
        }
        if (index == null)
        {
            index = WhoWroteIndex.openOrBuild(trace, progress);
        }
        return index;
    }

    /** The index the pass built (null: none, whoWrote() opens or builds it). */
    void index(final WhoWroteIndex built)
    {
        index = built;
    }

    /**
     * Probes for the second stages: sights already taken (by {@link #prefetch}) come from memory;
     * any other is taken by a pass of its own, so an analyzer that announced too little is only slower.
     */
    public Probe.Looker looker()
    {
        if (primary != null)
        {
            return primary.looker();
        }
        return this::look;
    }

    private List<Probe.Sight> look(final List<Long> events)
    {
        prefetch(events);
        final List<Probe.Sight> out = new ArrayList<>(events.size());
        for (final long e : events)
        {
            out.add(sights.get(e));
        }
        return out;
    }

    /** Takes the sights of these events that are not taken yet, in one pass up to the last of them. */
    void prefetch(final Collection<Long> events)
    {
        final TreeSet<Long> missing = new TreeSet<>();
        for (final long e : events)
        {
            if (!sights.containsKey(e))
            {
                missing.add(e);
            }
        }
        if (missing.isEmpty())
        {
            return;
        }
        final List<Long> wanted = new ArrayList<>(missing);
        final List<Probe.Sight> got = Probe.look(trace, symbols, wanted, progress);
        probePasses++;
        for (int i = 0; i < wanted.size(); i++)
        {
            sights.put(wanted.get(i), got.get(i));
        }
    }

    /** How many probe passes the second stages cost (for tests and bench: one at most when every stage announces its probes). */
    public int probePasses()
    {
        return probePasses;
    }
}
