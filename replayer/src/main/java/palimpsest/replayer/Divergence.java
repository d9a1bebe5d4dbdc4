package palimpsest.replayer;

import java.util.List;

import palimpsest.trace.Event;

/**
 * The first place a replayed run departs from its recording: event number, what was recorded and
 * what the replay produced (either may be null when one run ended first), and the recorded
 * events just before it.
 */
public final class Divergence
{
    public final long index;
    public final Event recorded;
    public final Event replayed;
    public final List<Event> before;
    public final String reason;

    public Divergence(final long index, final Event recorded, final Event replayed, final List<Event> before, final String reason)
    {
        this.index = index;
        this.recorded = recorded;
        this.replayed = replayed;
        this.before = before;
        this.reason = reason;
    }
}
