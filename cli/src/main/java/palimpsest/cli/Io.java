package palimpsest.cli;

import java.io.PrintStream;
import java.util.Map;

/** Where a command writes, and how it talks to the terminal. One per invocation of {@link Main#run}. */
final class Io
{
    enum Progress
    {
        /** Update one line in place with \r (stderr is a terminal). */
        TTY,
        /** A full line every few seconds (stderr is a file or a pipe). */
        LINES,
        OFF
    }

    final PrintStream out;
    final PrintStream err;
    final Map<String, String> env;
    final Progress progress;
    /** Interval between progress lines in LINES mode. */
    final long progressIntervalMs;
    final boolean debug;

    Io(final PrintStream out, final PrintStream err, final Map<String, String> env, final boolean terminal)
    {
        this.out = out;
        this.err = err;
        this.env = env;
        final String p = env.getOrDefault("PAL_PROGRESS", "");
        switch (p)
        {
            case "tty": progress = Progress.TTY; break;
            case "lines": progress = Progress.LINES; break;
            case "off": progress = Progress.OFF; break;
            default: progress = terminal && !"dumb".equals(env.get("TERM")) ? Progress.TTY : Progress.LINES;
        }
        long interval = 5000;
        try
        {
            interval = Long.parseLong(env.getOrDefault("PAL_PROGRESS_MS", "5000"));
        }
        catch (final NumberFormatException ignored)
        {
            // keep the default
        }
        this.progressIntervalMs = Math.max(10, interval);
        this.debug = "1".equals(env.get("PAL_DEBUG"));
    }
}
