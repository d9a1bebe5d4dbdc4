package palimpsest.analyzers;

import java.util.List;

import palimpsest.trace.Event;

/**
 * A streaming pass over a trace, run by {@link Analysis}: it sees every event in order, before the
 * shared {@link palimpsest.analyzers.core.MachineShadow} and
 * {@link palimpsest.analyzers.owner.Owners} apply it (so memory, registers and owners are as they
 * were just before the event), then the end, then (optionally) a second stage with the whole
 * trace behind it ({@link #afterPass}: the who-wrote index, probes at chosen events).
 * Made by an {@link AnalyzerFactory}.
 */
public interface Analyzer
{
    String name();

    void onEvent(Event e);

    /** The trace ended (after the last event). */
    default void onEnd()
    {
    }

    /** Second stage, after the pass and {@link #onEnd}; the context gives the who-wrote index. */
    default void afterPass(final AnalysisContext context)
    {
    }

    /**
     * One line saying what this analyzer checked (for the verdict when nothing links the end of a
     * run to a cause: "no cause found; checked: ..."), e.g. {@code "1234 slab objects shadowed"}.
     */
    default String checked()
    {
        return "";
    }

    List<Finding> findings();
}
