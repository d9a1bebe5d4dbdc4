package palimpsest.cli;

import palimpsest.hunt.Campaign;

/** The progress bar of {@code pal hunt} on stderr: in place on a terminal, a line every 5 s otherwise (PAL_PROGRESS). */
final class HuntProgress
{
    private static final long TTY_INTERVAL_MS = 200;
    private static final int BAR = 24;

    private final Io io;
    private final String name;
    private final Campaign campaign;
    private final long start = System.nanoTime();
    private Thread thread;
    private volatile boolean stop;
    private boolean shown;

    HuntProgress(final Io io, final String name, final Campaign campaign)
    {
        this.io = io;
        this.name = name;
        this.campaign = campaign;
    }

    void start()
    {
        if (io.progress == Io.Progress.OFF)
        {
            return;
        }
        thread = new Thread(this::loop, "pal-hunt-progress");
        thread.setDaemon(true);
        thread.start();
    }

    private void loop()
    {
        final boolean tty = io.progress == Io.Progress.TTY;
        final long interval = tty ? TTY_INTERVAL_MS : io.progressIntervalMs;
        final long startDone = campaign.done();
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
            final String line = line(startDone);
            synchronized (this)
            {
                if (tty)
                {
                    io.err.print("\r\033[K" + line);
                    shown = true;
                }
                else
                {
                    io.err.println(line);
                }
                io.err.flush();
            }
        }
    }

    private String line(final long startDone)
    {
        final long total = Math.max(1, campaign.total());
        final long done = campaign.done();
        final int filled = (int)(BAR * done / total);
        final long elapsed = System.nanoTime() - start;
        return "hunt " + name + " [" + "#".repeat(filled) + ".".repeat(BAR - filled) + "] " + done + "/" + campaign.total() +
            " seeds, " + campaign.failures() + " failed, " + Fmt.fixed((done - startDone) * 1e9 / Math.max(1, elapsed), 2) +
            " runs/s, " + Fmt.seconds(elapsed);
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
            synchronized (this)
            {
                if (shown)
                {
                    io.err.print("\r\033[K");
                    io.err.flush();
                }
            }
        }
    }
}
