package palimpsest.cli;

import java.util.function.LongConsumer;

/**
 * Progress of a long pass over a trace (analyze, who-wrote index build) on stderr, as the
 * invocation's {@link Io} says: updated in place on a terminal, a line every PAL_PROGRESS_MS
 * otherwise, nothing with PAL_PROGRESS=off. The first report waits one interval, so short passes
 * print nothing.
 */
final class PassProgress implements LongConsumer
{
    private final Io io;
    private final String what;
    private final long intervalNanos;
    private long last = System.nanoTime();
    private boolean printed;

    PassProgress(final Io io, final String what)
    {
        this.io = io;
        this.what = what;
        this.intervalNanos = (io.progress == Io.Progress.TTY ? 200 : io.progressIntervalMs) * 1_000_000L;
    }

    @Override
    public void accept(final long events)
    {
        if (io.progress == Io.Progress.OFF)
        {
            return;
        }
        final long now = System.nanoTime();
        if (now - last >= intervalNanos)
        {
            last = now;
            if (io.progress == Io.Progress.TTY)
            {
                io.err.print("\rpal: " + what + ": " + Fmt.count(events) + " events");
                printed = true;
            }
            else
            {
                io.err.println("pal: " + what + ": " + Fmt.count(events) + " events");
            }
        }
    }

    /** Ends an in-place line. */
    void done()
    {
        if (printed)
        {
            io.err.println();
        }
    }
}
