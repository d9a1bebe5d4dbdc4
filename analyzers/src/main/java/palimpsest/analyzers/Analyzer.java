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

    /** Every event kind: the default of {@link #kinds}. */
    int ALL_KINDS = (1 << palimpsest.trace.EventKind.COUNT) - 1;

    /**
     * The event kinds {@link #onEvent} wants, as a mask of {@code 1 << EventKind.X}: the pass calls it
     * only for these (an analyzer that ignores most kinds costs nothing on them).
     */
    default int kinds()
    {
        return ALL_KINDS;
    }

    void onEvent(Event e);

    /** The trace ended (after the last event). */
    default void onEnd()
    {
    }

    /**
     * The events {@link #afterPass} will probe ({@code context.looker()}), given the pass and the
     * who-wrote index: every stage's are taken in one shared pass before any second stage runs. A
     * probe not announced here still works, at the cost of a pass of its own.
     */
    default java.util.Collection<Long> probes(final AnalysisContext context)
    {
        return List.of();
    }

    /** Second stage, after the pass and {@link #onEnd}; the context gives the who-wrote index and the probes. */
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
