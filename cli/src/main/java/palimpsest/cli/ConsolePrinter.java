package palimpsest.cli;

/**
 * Streams the emulated consoles to stdout a line at a time (prefixed with the node when there are
 * several), erasing the in-place progress line first when there is one.
 */
final class ConsolePrinter
{
    private final Io io;
    private final StringBuilder[] lines;
    private final boolean prefix;
    private final String[] labels;
    /** Guards stdout/stderr interleaving with {@link Progress}. */
    final Object lock = new Object();
    /** Whether a \r progress line is on the terminal now (guarded by lock). */
    boolean progressShown;

    ConsolePrinter(final Io io, final int nodes)
    {
        this(io, nodes, null);
    }

    /** labels: the scenario's names of the nodes ([P0], [M1]...), or null for [nodeN]. */
    ConsolePrinter(final Io io, final int nodes, final String[] labels)
    {
        this.labels = labels;
        this.io = io;
        this.lines = new StringBuilder[nodes];
        for (int i = 0; i < nodes; i++)
        {
            lines[i] = new StringBuilder();
        }
        this.prefix = nodes > 1;
    }

    /** Called on emulated CPUs' threads, one at a time. */
    void write(final int node, final char ch)
    {
        final StringBuilder b = lines[node];
        if (ch == '\n')
        {
            emit(node, b);
        }
        else if (ch != '\r')
        {
            b.append(ch);
            if (b.length() >= 4096)
            {
                emit(node, b);
            }
        }
    }

    private void emit(final int node, final StringBuilder b)
    {
        final String text = (prefix ? (labels != null && node < labels.length ? "[" + labels[node] + "] " : "[node" + node + "] ") : "") + b;
        b.setLength(0);
        synchronized (lock)
        {
            if (progressShown)
            {
                io.err.print("\r\033[K");
                io.err.flush();
                progressShown = false;
            }
            io.out.println(text);
            io.out.flush();
        }
    }

    /** Prints what is left of unfinished lines. */
    void finish()
    {
        for (int i = 0; i < lines.length; i++)
        {
            if (lines[i].length() > 0)
            {
                emit(i, lines[i]);
            }
        }
    }
}
