package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Path;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The emulator's executor hands the writer from thread to thread like a baton, never concurrently. */
class ThreadHandoffTest
{
    @TempDir
    Path tmp;

    @Test
    void twoThreadsAlternating() throws Exception
    {
        final int rounds = 400;
        final int perTurn = 1000; // several chunks change hands mid-chunk and across flushes
        final TraceWriter w = TraceWriter.create(tmp, TestEvents.header());
        final TestEvents.Mixed gen = new TestEvents.Mixed(5);
        final SynchronousQueue<Integer> toA = new SynchronousQueue<>();
        final SynchronousQueue<Integer> toB = new SynchronousQueue<>();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Runnable a = () -> turns(w, gen, toA, toB, rounds, perTurn, failure, true);
        final Runnable b = () -> turns(w, gen, toB, toA, rounds, perTurn, failure, false);
        final Thread ta = new Thread(a, "baton-a");
        final Thread tb = new Thread(b, "baton-b");
        ta.start();
        tb.start();
        toA.put(0);
        ta.join(60_000);
        tb.join(60_000);
        assertNull(failure.get(), () -> "writer failed on a handoff: " + failure.get());
        // Closed by a third thread (this one).
        w.close();
        assertEquals(2L * rounds * perTurn, w.events());

        try (TraceReader r = TraceReader.open(tmp))
        {
            TestEvents.expectSame(new TestEvents.Mixed(5), r, 2L * rounds * perTurn);
            assertEquals(TraceStatus.COMPLETE, r.status(), r.statusMessage());
        }
    }

    private static void turns(final TraceWriter w, final TestEvents.Mixed gen, final SynchronousQueue<Integer> mine,
        final SynchronousQueue<Integer> theirs, final int rounds, final int perTurn,
        final AtomicReference<Throwable> failure, final boolean first)
    {
        try
        {
            for (int round = 0; round < rounds; round++)
            {
                mine.take();
                try
                {
                    for (int i = 0; i < perTurn; i++)
                    {
                        gen.emit(w);
                    }
                    if (round % 50 == 7)
                    {
                        w.flush();
                    }
                }
                catch (final Throwable t)
                {
                    failure.compareAndSet(null, t);
                }
                if (first || round < rounds - 1)
                {
                    theirs.put(round);
                }
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }
}
