package palimpsest.cli;

import java.nio.file.Path;

import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceStatus;

/**
 * Damage is never clean: a verb that answered from a truncated or damaged trace says, after its
 * answer, which events the answer covers, and exits {@link #EXIT_INCOMPLETE} whatever it found, so a
 * script never reads "0 findings" or "nobody wrote it" from half a trace as a clean result.
 */
final class Whole
{
    /** Exit status of a verb whose trace is truncated or damaged (after printing what it could). */
    static final int EXIT_INCOMPLETE = 2;

    private Whole()
    {
    }

    /** How far a trace can be read. */
    static final class Extent
    {
        final Path trace;
        final TraceStatus status;
        final String message;
        final long events;

        Extent(final Path trace, final TraceStatus status, final String message, final long events)
        {
            this.trace = trace;
            this.status = status;
            this.message = message;
            this.events = events;
        }

        boolean complete()
        {
            return status == TraceStatus.COMPLETE;
        }
    }

    /** Checks every chunk digest and the end record of a trace (no event is decoded). */
    static Extent of(final Path trace)
    {
        try (TraceReader r = DumpCommand.open(trace))
        {
            r.verify();
            return new Extent(trace, r.status(), r.statusMessage(), r.eventsVerified());
        }
    }

    /**
     * The extent an index recorded when it was built (the trace is unchanged since: the index
     * carries its fingerprint), or, when null, {@link #of(Path)}.
     */
    static Extent of(final Path trace, final palimpsest.replayer.state.TraceExtent known)
    {
        return known == null ? of(trace) : new Extent(trace, known.status, known.message, known.events);
    }

    /** The reader's extent once it reached its end. */
    static Extent of(final Path trace, final TraceReader r)
    {
        if (r.status() == TraceStatus.READING)
        {
            r.verify();
        }
        return new Extent(trace, r.status(), r.statusMessage(), r.eventsVerified());
    }

    /**
     * rc when every extent is complete; otherwise prints, after the answer, the line saying what it
     * covers (stdout) and the trace's status (stderr, one "pal: " line each), and returns
     * {@link #EXIT_INCOMPLETE}.
     */
    static int exit(final Io io, final int rc, final Extent... extents)
    {
        int result = rc;
        for (final Extent x : extents)
        {
            if (x.complete())
            {
                continue;
            }
            io.out.println("-- this answer covers " + (x.events == 0 ? "no event" : "only events 0.." + (x.events - 1)) +
                " of " + x.trace + ", which is " +
                (x.status == TraceStatus.TRUNCATED ? "truncated" : "damaged"));
            io.out.flush();
            io.err.println("pal: " + x.trace + ": " + x.message);
            result = EXIT_INCOMPLETE;
        }
        return result;
    }
}
