package palimpsest.analyzers;

import java.util.List;

import palimpsest.trace.Event;

/**
 * A streaming pass over a trace, run by {@link Analysis}: it sees every event in order, before the
 * shared {@link palimpsest.analyzers.core.MachineShadow} applies it (so memory and registers are as
 * they were just before the event), then the end.
 */
public interface Analyzer
{
    String name();

    void onEvent(Event e);

    /** The trace ended (after the last event). */
    default void onEnd()
    {
    }

    List<Finding> findings();
}
