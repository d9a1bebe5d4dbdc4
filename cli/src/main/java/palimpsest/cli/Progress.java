package palimpsest.cli;

import palimpsest.recorder.Recording;

/**
 * A progress line on stderr, from a daemon thread polling what it reports: in place on a terminal,
 * a full line every few seconds otherwise (PAL_PROGRESS). {@code pal record}'s line follows the
 * recording; {@code pal hunt} gives its own.
 */
final class Progress
{
    private static final long TTY_INTERVAL_MS = 200;

    private final Io io;
    private final ConsolePrinter console;
    /** The line for a given elapsed time in nanoseconds. */
    private final java.util.function.LongFunction<String> line;
    private Thread thread;
    private volatile boolean stop;
    private final long start = System.nanoTime();

    Progress(final Io io, final ConsolePrinter console, final String name, final Recording recording)
    {
        this(io, console, elapsed -> recordingLine(name, recording, elapsed));
    }

    /** A progress line of another kind; console is the printer whose lock the line shares with console output. */
    Progress(final Io io, final ConsolePrinter console, final java.util.function.LongFunction<String> line)
    {
        this.io = io;
        this.console = console;
        this.line = line;
    }

    void start()
    {
        if (io.progress == Io.Progress.OFF)
        {
            return;
        }
        thread = new Thread(this::loop, "pal-progress");
        thread.setDaemon(true);
        thread.start();
    }

    private void loop()
    {
        final boolean tty = io.progress == Io.Progress.TTY;
        final long interval = tty ? TTY_INTERVAL_MS : io.progressIntervalMs;
        while (!stop)
        {
            try
            {
                Thread.sleep(interval);
            }
            catch (final InterruptedException e)
            {
                return;
            }
            if (stop)
            {
                return;
            }
            final String text = line.apply(System.nanoTime() - start);
            synchronized (console.lock)
            {
                if (tty)
                {
                    io.err.print("\r\033[K" + text);
                    console.progressShown = true;
                }
                else
                {
                    io.err.println(text);
                }
                io.err.flush();
            }
        }
    }

    private static String recordingLine(final String name, final Recording recording, final long elapsed)
    {
        final long events = recording.events();
        return "recording " + name + ": " + Fmt.count(events) + " events, virtual time " +
            Fmt.count(recording.virtualTime()) + ", " + Fmt.si(events * 1e9 / Math.max(1, elapsed)) + " events/s, " +
            Fmt.seconds(elapsed);
    }

    void stop()
    {
        stop = true;
        if (thread != null)
        {
            thread.interrupt();
            try
            {
                thread.join(1000);
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
            }
            synchronized (console.lock)
            {
                if (console.progressShown)
                {
                    io.err.print("\r\033[K");
                    io.err.flush();
                    console.progressShown = false;
                }
            }
        }
    }
}
