package palimpsest.analyzers;

import java.nio.file.Path;
import java.util.function.LongConsumer;

import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.owner.Owners;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.trace.EndRecord;
import palimpsest.trace.TraceHeader;

/** What an analyzer of one pass may use: the trace, its header, symbols, the shared shadow and owners, the who-wrote index. */
public final class AnalysisContext
{
    public final Path trace;
    public final TraceHeader header;
    public final Symbols symbols;
    public final MachineShadow shadow;
    public final Owners owners;
    private final LongConsumer progress;
    private WhoWroteIndex index;
    private EndRecord end;

    public AnalysisContext(final Path trace, final TraceHeader header, final Symbols symbols, final MachineShadow shadow,
        final Owners owners, final LongConsumer progress)
    {
        this.trace = trace;
        this.header = header;
        this.symbols = symbols;
        this.shadow = shadow;
        this.owners = owners;
        this.progress = progress;
    }

    /** How the run ended (the trace's end record), once the pass has read it: null before and for a truncated trace. */
    public EndRecord end()
    {
        return end;
    }

    void end(final EndRecord record)
    {
        this.end = record;
    }

    /** The who-wrote index of the trace, built on first use (second stages only: it reads the whole trace). */
    public WhoWroteIndex whoWrote()
    {
        if (index == null)
        {
            index = WhoWroteIndex.openOrBuild(trace, progress);
        }
        return index;
    }
}
