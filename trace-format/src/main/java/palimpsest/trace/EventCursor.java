package palimpsest.trace;

/**
 * Random access to a trace's events: seek to an event, then read forward. {@link TraceReader}
 * reads through Chronicle Queue; {@link TraceSeeker} reads the queue file directly through a chunk
 * table, which is what a query (pal state, pal who-wrote) wants: no Chronicle start, no scan of
 * every chunk header.
 */
public interface EventCursor extends AutoCloseable
{
    TraceHeader header();

    /**
     * Positions the cursor so that the next {@link #next} returns event eventIndex.
     *
     * @return false if there is no such event in the readable part of the trace.
     */
    boolean seek(long eventIndex);

    /**
     * Reads the next event into e.
     *
     * @return false at the end of what can be read.
     */
    boolean next(Event e);

    @Override
    void close();
}
