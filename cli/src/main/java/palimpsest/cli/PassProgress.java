package palimpsest.cli;

import java.util.function.LongConsumer;

/**
 * Progress of a long pass over a trace (analyze, who-wrote index build) on stderr: when stderr is a
 * terminal or PAL_PROGRESS is 1/tty/lines, a line every PAL_PROGRESS_MS (default 5000) ms; never
 * with PAL_PROGRESS=off.
 */
final class PassProgress implements LongConsumer
{
    private final Io io;
    private final String what;
    private final boolean on;
    private final long intervalNanos;
    private long last = System.nanoTime();

    PassProgress(final Io io, final String what)
    {
        this.io = io;
        this.what = what;
        final String mode = System.getenv("PAL_PROGRESS");
        this.on = mode == null ? System.console() != null : !"off".equals(mode) && !"0".equals(mode);
        long ms = 5000;
        try
        {
            ms = Long.parseLong(System.getenv().getOrDefault("PAL_PROGRESS_MS", "5000"));
        }
        catch (final NumberFormatException ignore)
        {
            // default
        }
        this.intervalNanos = ms * 1_000_000L;
    }

    @Override
    public void accept(final long events)
    {
        if (!on)
        {
            return;
        }
        final long now = System.nanoTime();
        if (now - last >= intervalNanos)
        {
            last = now;
            io.err.println("pal: " + what + ": " + Fmt.count(events) + " events");
        }
    }
}
