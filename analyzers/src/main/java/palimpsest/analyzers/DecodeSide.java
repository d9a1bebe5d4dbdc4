package palimpsest.analyzers;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.whowrote.IndexInPass;
import palimpsest.trace.DecodeAhead;
import palimpsest.trace.Event;

/**
 * The part of {@link Analysis}'s pass that runs on the decode thread ({@link DecodeAhead.Tap}):
 * the who-wrote index builder and a group of analyzers with a shadow of their own (registers,
 * tasks and translations, no memory: {@link Analysis#DECODE_SIDE}), fed the same events in the same
 * order, so each analyzer sees exactly the state it would see alone. The analysis thread is the pass's bottleneck and the
 * decode thread had room: this is how the pass uses both cores without a hand-off per event.
 *
 * <p>Threads: made on the decode thread (the tap factory), given its analyzers by the analysis
 * thread ({@link #install}) before its first event is taken in (the first {@link #accept} waits
 * for it: the latch is the happens-before edge); what it did is visible to the analysis thread
 * once {@link DecodeAhead#next} returned null (the last batch's hand-off). An analyzer's failure is
 * kept and rethrown on the analysis thread ({@link #rethrow}), not turned into a damaged trace.
 */
final class DecodeSide implements DecodeAhead.Tap
{
    private static final long POLL_MS = 20;

    private final IndexInPass index;
    private final CountDownLatch installed = new CountDownLatch(1);
    private volatile boolean ready;
    private Group group;
    private RuntimeException failed;
    private Error fatal;

    /** The analyzers of one side and the shadow they read. */
    static final class Group
    {
        final Analyzer[][] byKind;
        final Analyzer[] all;
        final MachineShadow shadow;

        Group(final Analyzer[][] byKind, final Analyzer[] all, final MachineShadow shadow)
        {
            this.byKind = byKind;
            this.all = all;
            this.shadow = shadow;
        }
    }

    DecodeSide(final IndexInPass index)
    {
        this.index = index;
    }

    IndexInPass index()
    {
        return index;
    }

    /** Gives the decode side its analyzers (null: none, only the index); call once, before reading events. */
    void install(final Group g)
    {
        if (installed.getCount() == 0)
        {
            return;
        }
        group = g;
        installed.countDown();
    }

    @Override
    public void accept(final Event e)
    {
        if (!ready)
        {
            awaitInstall();
        }
        if (index != null)
        {
            index.accept(e);
        }
        final Group g = group;
        if (g == null)
        {
            return;
        }
        try
        {
            final int kind = e.kind();
            for (final Analyzer a : kind >= 0 && kind < g.byKind.length ? g.byKind[kind] : g.all)
            {
                a.onEvent(e);
            }
            g.shadow.apply(e);
        }
        catch (final RuntimeException ex)
        {
            failed = ex;
            group = null;
        }
        catch (final Error ex)
        {
            fatal = ex;
            group = null;
        }
    }

    private void awaitInstall()
    {
        boolean interrupted = false;
        while (true)
        {
            try
            {
                if (installed.await(POLL_MS, TimeUnit.MILLISECONDS))
                {
                    break;
                }
            }
            catch (final InterruptedException ex)
            {
                interrupted = true;
            }
        }
        ready = true;
        if (interrupted)
        {
            Thread.currentThread().interrupt();
        }
    }

    /** After the pass, on the analysis thread: an analyzer's failure on the decode side, as it would have been thrown alone. */
    void rethrow()
    {
        if (fatal != null)
        {
            throw fatal;
        }
        if (failed != null)
        {
            throw failed;
        }
    }
}
