package palimpsest.cli;

import java.util.ArrayList;
import java.util.List;

import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C (SIGINT) and SIGTERM while a verb wants to finish cleanly (pal record closes its trace with
 * an "interrupted" end record): the first signal runs the verb's action and lets it wind down; a
 * second one exits at once with 130 (temporary directories are still removed by
 * {@link palimpsest.trace.TempDirs}' shutdown hook). Verbs that install nothing get the JVM's
 * default: exit, with the shutdown hooks run.
 */
final class Interrupts implements AutoCloseable
{
    /** Exit status after an interrupt, as shells report SIGINT. */
    static final int EXIT_INTERRUPTED = 130;

    private static final String[] SIGNALS = {"INT", "TERM"};

    private final List<Signal> installed = new ArrayList<>();
    private final List<SignalHandler> previous = new ArrayList<>();
    private volatile boolean signalled;

    private Interrupts()
    {
    }

    /** Runs action (on a signal thread) at the first SIGINT or SIGTERM until {@link #close}. */
    static Interrupts on(final Runnable action)
    {
        final Interrupts in = new Interrupts();
        for (final String name : SIGNALS)
        {
            try
            {
                final Signal s = new Signal(name);
                final SignalHandler old = Signal.handle(s, sig ->
                {
                    if (in.signalled)
                    {
                        System.exit(EXIT_INTERRUPTED);
                    }
                    in.signalled = true;
                    action.run();
                });
                in.installed.add(s);
                in.previous.add(old);
            }
            catch (final IllegalArgumentException | UnsupportedOperationException e)
            {
                // The JVM keeps this signal (-Xrs, or not on this OS): default handling.
            }
        }
        return in;
    }

    boolean signalled()
    {
        return signalled;
    }

    @Override
    public void close()
    {
        for (int i = 0; i < installed.size(); i++)
        {
            try
            {
                Signal.handle(installed.get(i), previous.get(i));
            }
            catch (final IllegalArgumentException ignore)
            {
                // Nothing to restore.
            }
        }
    }
}
