package palimpsest.cli;

import palimpsest.recorder.Recording;

/** The progress line of {@code pal record} on stderr, from a daemon thread polling the recording. */
final class Progress
{
    private static final long TTY_INTERVAL_MS = 200;

    private final Io io;
    private final ConsolePrinter console;
    private final String name;
    private final Recording recording;
    private Thread thread;
    private volatile boolean stop;
    private final long start = System.nanoTime();

    Progress(final Io io, final ConsolePrinter console, final String name, final Recording recording)
    {
        this.io = io;
        this.console = console;
        this.name = name;
        this.recording = recording;
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
            final String line = line();
            synchronized (console.lock)
            {
                if (tty)
                {
                    io.err.print("\r\033[K" + line);
                    console.progressShown = true;
                }
                else
                {
                    io.err.println(line);
                }
                io.err.flush();
            }
        }
    }

    private String line()
    {
        final long events = recording.events();
        final long elapsed = System.nanoTime() - start;
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
