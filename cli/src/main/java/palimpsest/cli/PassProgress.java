package palimpsest.cli;

import java.nio.file.Path;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

import palimpsest.trace.TraceReader;

/**
 * Progress of a long pass over a trace (analyze, who-wrote index build) on stderr, as the
 * invocation's {@link Io} says: updated in place on a terminal, a line every PAL_PROGRESS_MS
 * otherwise, nothing with PAL_PROGRESS=off. The first report waits one interval, so short passes
 * print nothing. With the trace's length known (asked once, at the first report: a scan of the
 * chunk headers, no decoding), each report is a bar with the share done and an ETA. A count that
 * goes back is a new pass over the same trace (analyze's probes): its bar and ETA start again.
 */
final class PassProgress implements LongConsumer
{
    private static final int BAR = 24;

    private final Io io;
    private final String what;
    private final long intervalNanos;
    private long start = System.nanoTime();
    private final LongSupplier total;
    private long last = System.nanoTime();
    private long events = -1;
    private long previous;
    private int restarts;
    private boolean printed;

    PassProgress(final Io io, final String what)
    {
        this(io, what, () -> -1);
    }

    /** With the length of the pass asked of total at the first report (-1: unknown). */
    PassProgress(final Io io, final String what, final LongSupplier total)
    {
        this.io = io;
        this.what = what;
        this.total = total;
        this.intervalNanos = (io.progress == Io.Progress.TTY ? 200 : io.progressIntervalMs) * 1_000_000L;
    }

    /** A pass over every event of a trace: the length is the trace's event count. */
    static PassProgress overTrace(final Io io, final String what, final Path trace)
    {
        return new PassProgress(io, what, () -> eventsIn(trace));
    }

    /** Events in the trace's whole chunks, from the chunk headers; -1 when they cannot be read. */
    static long eventsIn(final Path trace)
    {
        try (TraceReader r = TraceReader.open(trace))
        {
            final int n = r.chunkCount();
            return n == 0 ? 0 : r.chunkFirstIndex(n - 1) + r.chunkEvents(n - 1);
        }
        catch (final RuntimeException e)
        {
            return -1;
        }
    }

    @Override
    public void accept(final long done)
    {
        if (io.progress == Io.Progress.OFF)
        {
            return;
        }
        final long now = System.nanoTime();
        if (done < previous)
        {
            // A second pass over the trace (analyze's probes for its reports): a bar and ETA of its own.
            restarts++;
            start = now;
        }
        previous = done;
        if (now - last >= intervalNanos)
        {
            last = now;
            if (events == -1)
            {
                events = Math.max(-2, total.getAsLong());
            }
            final String line = "pal: " + what + (restarts > 0 ? " (pass " + (restarts + 1) + ")" : "") + ": " + line(done, events, now - start);
            if (io.progress == Io.Progress.TTY)
            {
                io.err.print("\r" + line);
                printed = true;
            }
            else
            {
                io.err.println(line);
            }
        }
    }

    /** "[#####.....] 41% 1,234,567 of 3,000,000 events, ETA 12 s", or the count alone when the length is unknown. */
    static String line(final long done, final long total, final long elapsedNanos)
    {
        if (total <= 0 || done > total)
        {
            return Fmt.count(done) + " events";
        }
        final double f = (double)done / total;
        final int filled = (int)(f * BAR);
        final String bar = "[" + "#".repeat(filled) + ".".repeat(BAR - filled) + "] ";
        final String eta = done == 0 ? "" : ", ETA " + Fmt.seconds((long)(elapsedNanos * (1 - f) / f));
        return bar + (int)(f * 100) + "% " + Fmt.count(done) + " of " + Fmt.count(total) + " events" + eta;
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
