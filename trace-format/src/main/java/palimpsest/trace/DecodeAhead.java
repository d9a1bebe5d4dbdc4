package palimpsest.trace;

import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Reads a trace on a second thread: a decode thread runs a {@link TraceReader} and fills batches of
 * {@link Event} flyweights ahead of the consumer, so that decoding (about half the cost of streaming
 * a trace) overlaps with whatever the consumer does with the events (re-execution and comparison in
 * replay, indexing in who-wrote). Same events, same order, same end status as {@link TraceReader}.
 *
 * <h2>Threads</h2>
 * <ul>
 *   <li><b>Decode thread</b> (daemon, {@code pal-decode-ahead}): opens its own {@link TraceReader}
 *       (on that thread, so Chronicle's tailer is only ever touched by it), decodes, and closes it.</li>
 *   <li><b>Consumer</b>: one thread (or several one at a time, with a happens-before edge at each
 *       handoff) calling {@link #open}, {@link #next}, the accessors and {@link #close}.</li>
 * </ul>
 * The only shared state is the two bounded queues below (which give the happens-before edges for
 * the batch contents) and a volatile stop flag.
 *
 * <h2>Batch lifecycle</h2>
 * <pre>
 *              +------------- free queue (batches the consumer is done with) ------------+
 *              v                                                                          |
 *   decode thread: take a free batch, reader.next() into its events until it is full     |
 *              or the trace ends, mark the last one                                       |
 *              |                                                                          |
 *              +------------> full queue (decoded, in trace order) ---> consumer: next()--+
 *                                                                       hands out events
 *                                                                       one by one; when a
 *                                                                       batch is used up it
 *                                                                       goes back to free
 * </pre>
 * There are {@code batches} batches of {@code batchEvents} preallocated events each, created once;
 * the decoder writes into them in place, so steady-state reading allocates nothing per event (only
 * the queues' lock bookkeeping, per batch).
 *
 * <p>The {@link Event} returned by {@link #next} is a reference into the current batch: it is valid
 * until the following call to {@link #next} (or {@link #close}); copy what must outlive that.
 *
 * <h2>End and errors</h2>
 * When {@link #next} returns null the end of what can be read was reached and {@link #status()},
 * {@link #statusMessage()}, {@link #end()}, {@link #eventsVerified()} and {@link #digest()} are those
 * of the underlying reader at that point: a truncated or damaged trace yields every event of its
 * whole, checked chunks and then says so, exactly as {@link TraceReader#next} does. {@link #open}
 * throws the reader's one-line {@link TraceException} for something that is not a readable trace. A
 * failure on the decode thread that {@code TraceReader} does not turn into a status (a bug, an
 * {@code Error}) is rethrown by {@link #next} on the consumer thread once the events before it are
 * consumed.
 *
 * <p>{@link #close()} may be called at any time (a replay that diverges stops reading early): it
 * stops the decode thread, waits for it to close its reader and exit, and is idempotent.
 */
public final class DecodeAhead implements AutoCloseable
{
    /** Events per batch by default: large enough that the per-batch handoff cost vanishes. */
    public static final int DEFAULT_BATCH_EVENTS = 4096;
    /** Batches in flight by default: how far the decoder may run ahead (batches x batch events). */
    public static final int DEFAULT_BATCHES = 6;

    private static final long POLL_MS = 20;

    /**
     * Sees every event on the decode thread, right after it is decoded and before the consumer gets
     * it: work that only reads the events (an index build in {@code pal analyze}) done on the core
     * that decodes rather than on the consumer's.
     */
    public interface Tap
    {
        void accept(Event e);
    }

    /** Decode threads for {@link #openParallel} by default: one per core, at most 4. */
    public static final int PARALLEL = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    /** What the decode thread reads: every event, or only {@link EventKind#INPUT} events. */
    public enum Mode
    {
        /** {@link TraceReader#next}. */
        ALL,
        /**
         * {@link TraceReader#nextInput}: chunks without inputs are checked but not decoded. A batch is
         * handed over once it holds an input of a later chunk than its first, so the consumer never
         * waits for more than about one chunk's decoding.
         */
        INPUTS
    }

    private static final class Batch
    {
        Event[] events;
        int count;
        boolean last;

        Batch(final int size)
        {
            events = new Event[size];
            for (int i = 0; i < size; i++)
            {
                events[i] = new Event();
            }
        }

        /** Makes room for n events (a parallel worker's batch holds one whole chunk: up to the chunk's size). */
        Event[] ensure(final int n)
        {
            if (events.length < n)
            {
                final int old = events.length;
                events = java.util.Arrays.copyOf(events, Math.max(n, Math.min(TraceFormat.CHUNK_MAX_EVENTS, old * 2)));
                for (int i = old; i < events.length; i++)
                {
                    events[i] = new Event();
                }
            }
            return events;
        }
    }

    /** Offered to the free queue by {@link #close} to wake a decode thread waiting for a free batch. */
    private static final Batch STOP = new Batch(0);

    /** One decode thread with its reader's results and its two queues. */
    private final class Worker
    {
        final int phase;
        final ArrayBlockingQueue<Batch> free;
        final ArrayBlockingQueue<Batch> full;
        final Thread thread;

        // Written by the decode thread before the queue handoff that publishes them (open latch, last batch).
        TraceHeader header;
        Tap tap;
        Throwable openError;
        Throwable decodeError;
        TraceStatus endStatus;
        String endMessage;
        EndRecord endRecord;
        long endVerified;
        long endDigest;

        Worker(final int phase, final int batchEvents, final int batches)
        {
            this.phase = phase;
            this.free = new ArrayBlockingQueue<>(batches + 1); // + 1: room for STOP
            this.full = new ArrayBlockingQueue<>(batches);
            for (int i = 0; i < batches; i++)
            {
                free.add(new Batch(batchEvents));
            }
            this.thread = new Thread(() -> decodeLoop(this), workers(phase));
            this.thread.setDaemon(true);
        }
    }

    private final Path dir;
    private final Mode mode;
    private final Worker[] workers;
    private final CountDownLatch opened;
    private volatile boolean stopping;
    private final long from;
    private TraceHeader header;
    /** Makes the tap from the header (on the decode thread, before the first event), or null. */
    private final java.util.function.Function<TraceHeader, Tap> tapOf;
    private Tap tap;

    // Consumer side.
    private Batch current;
    /** Which worker the current batch came from; batches are taken from the workers in turn (chunk order). */
    private int turn;
    private int position;
    private boolean ended;
    private boolean closed;
    private TraceStatus status = TraceStatus.READING;
    private String statusMessage = "reading";
    private EndRecord end;
    private long eventsVerified;
    private long digest = TraceFormat.DIGEST_SEED;

    private static String workers(final int phase)
    {
        return phase == 0 ? "pal-decode-ahead" : "pal-decode-ahead-" + phase;
    }

    private DecodeAhead(final Path dir, final Mode mode, final int batchEvents, final int batches, final long from,
        final int threads, final java.util.function.Function<TraceHeader, Tap> tapOf)
    {
        if (batchEvents < 1 || batches < 2 || threads < 1)
        {
            throw new IllegalArgumentException("need batchEvents >= 1, batches >= 2 and threads >= 1, got " + batchEvents +
                ", " + batches + ", " + threads);
        }
        if (threads > 1 && (mode != Mode.ALL || from != 0 || tapOf != null))
        {
            throw new IllegalArgumentException("parallel decoding reads every event from the start");
        }
        this.dir = dir;
        this.mode = mode;
        this.from = from;
        this.tapOf = tapOf;
        this.opened = new CountDownLatch(threads);
        this.workers = new Worker[threads];
        for (int i = 0; i < threads; i++)
        {
            workers[i] = new Worker(i, batchEvents, batches);
        }
    }

    /** Opens a trace for reading every event ahead, with the default batch sizes. */
    public static DecodeAhead open(final Path dir)
    {
        return open(dir, Mode.ALL, DEFAULT_BATCH_EVENTS, DEFAULT_BATCHES);
    }

    /**
     * Starts the decode thread, which opens the trace, and waits until the header is read.
     *
     * @throws TraceException (one-line message, as from {@link TraceReader#open}) if dir is not a readable trace.
     */
    public static DecodeAhead open(final Path dir, final Mode mode, final int batchEvents, final int batches)
    {
        return open(dir, mode, batchEvents, batches, 0);
    }

    /**
     * As {@link #open(Path, Mode, int, int)}, starting at event from ({@link TraceReader#seek}): the first
     * event handed out is event from (or, in {@link Mode#INPUTS}, the first input at or after it). A from
     * past the readable events gives no events.
     */
    public static DecodeAhead open(final Path dir, final Mode mode, final int batchEvents, final int batches, final long from)
    {
        if (from < 0)
        {
            throw new IllegalArgumentException("negative start event " + from);
        }
        return start(new DecodeAhead(dir, mode, batchEvents, batches, from, 1, null));
    }

    /**
     * Every event, as {@link #open(Path)}, with a {@link Tap} made by tapOf from the header (null: none)
     * that sees each event on the decode thread first. {@link #tap()} is the tap made; what it did is
     * visible to the consumer once {@link #next} has returned null.
     */
    public static DecodeAhead open(final Path dir, final java.util.function.Function<TraceHeader, Tap> tapOf)
    {
        return start(new DecodeAhead(dir, Mode.ALL, DEFAULT_BATCH_EVENTS, DEFAULT_BATCHES, 0, 1, tapOf));
    }

    /**
     * Every event, decoded by threads decode threads at once: chunks decode on their own (the codec's
     * state starts afresh in each), so thread k decodes chunks k, k + threads, ... (each checks every
     * chunk's digest, so each knows how the trace ends) and the consumer takes whole chunks from them
     * in turn: the same events in the same order, the same end status. For consumers lighter than
     * decoding (index builds): with one busy consumer on a 2-core machine a second decoder only competes.
     */
    public static DecodeAhead openParallel(final Path dir, final int threads)
    {
        return start(new DecodeAhead(dir, Mode.ALL, DEFAULT_BATCH_EVENTS, threads > 1 ? 3 : DEFAULT_BATCHES, 0, threads, null));
    }

    private static DecodeAhead start(final DecodeAhead d)
    {
        for (final Worker w : d.workers)
        {
            w.thread.start();
        }
        boolean interrupted = false;
        while (true)
        {
            try
            {
                d.opened.await();
                break;
            }
            catch (final InterruptedException ex)
            {
                interrupted = true;
            }
        }
        if (interrupted)
        {
            Thread.currentThread().interrupt();
        }
        for (final Worker w : d.workers)
        {
            if (w.openError != null)
            {
                d.close();
                throw rethrown(w.openError);
            }
        }
        d.header = d.workers[0].header;
        d.tap = d.workers[0].tap;
        return d;
    }

    public TraceHeader header()
    {
        return header;
    }

    /** The tap made at open (see {@link #open(Path, java.util.function.Function)}), or null. */
    public Tap tap()
    {
        return tap;
    }

    public Path dir()
    {
        return dir;
    }

    public Mode mode()
    {
        return mode;
    }

    /** {@link TraceStatus#READING} until {@link #next} returned null, then the reader's final status. */
    public TraceStatus status()
    {
        return status;
    }

    /** One line, as {@link TraceReader#statusMessage()}; "reading" before the end. */
    public String statusMessage()
    {
        return statusMessage;
    }

    /** The end record once the end was reached (null before, and for a truncated or damaged trace). */
    public EndRecord end()
    {
        return end;
    }

    /** {@link TraceReader#eventsVerified()} at the end (0 before the end was reached). */
    public long eventsVerified()
    {
        return eventsVerified;
    }

    /** {@link TraceReader#digest()} at the end (the seed before the end was reached). */
    public long digest()
    {
        return digest;
    }

    /**
     * The next event, or null at the end of what can be read (then see {@link #status()}). The event
     * belongs to the current batch and is valid until the next call to this method or {@link #close}.
     */
    public Event next()
    {
        final Batch b = current;
        if (b != null && position < b.count)
        {
            return b.events[position++];
        }
        return nextBatch();
    }

    private Event nextBatch()
    {
        while (true)
        {
            if (ended || closed)
            {
                return null;
            }
            final Batch b = current;
            if (b != null)
            {
                if (b.last)
                {
                    reachEnd(workers[turn]);
                    return null;
                }
                current = null;
                workers[turn].free.add(b);
                turn = turn + 1 == workers.length ? 0 : turn + 1;
            }
            final Batch n = takeFull(workers[turn].full);
            current = n;
            position = 0;
            if (n.count > 0)
            {
                position = 1;
                return n.events[0];
            }
        }
    }

    private static Batch takeFull(final ArrayBlockingQueue<Batch> full)
    {
        boolean interrupted = false;
        try
        {
            while (true)
            {
                try
                {
                    return full.take();
                }
                catch (final InterruptedException ex)
                {
                    interrupted = true;
                }
            }
        }
        finally
        {
            if (interrupted)
            {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void reachEnd(final Worker w)
    {
        ended = true;
        status = w.endStatus;
        statusMessage = w.endMessage;
        end = w.endRecord;
        eventsVerified = w.endVerified;
        digest = w.endDigest;
        if (w.decodeError != null)
        {
            throw rethrown(w.decodeError);
        }
    }

    private static RuntimeException rethrown(final Throwable t)
    {
        if (t instanceof TraceException te)
        {
            // Same type and one-line message as the reader's own; the cause shows where it came from.
            return new TraceException(te.getMessage(), te);
        }
        if (t instanceof Error err)
        {
            throw err;
        }
        if (t instanceof RuntimeException re)
        {
            return re;
        }
        return new IllegalStateException("decode thread failed: " + t, t);
    }

    // ---- decode thread ------------------------------------------------------------------------

    private void decodeLoop(final Worker w)
    {
        TraceReader reader = null;
        try
        {
            reader = TraceReader.open(dir);
            w.header = reader.header();
            w.tap = tapOf == null ? null : tapOf.apply(w.header);
            if (workers.length > 1)
            {
                reader.stride(workers.length, w.phase);
            }
        }
        catch (final Throwable t)
        {
            w.openError = t;
            opened.countDown();
            if (reader != null)
            {
                reader.close();
            }
            return;
        }
        opened.countDown();
        try
        {
            final boolean all = mode == Mode.ALL;
            final boolean chunkPerBatch = workers.length > 1;
            boolean seek = from > 0;
            boolean nothing = false;
            while (!stopping)
            {
                final Batch b = takeFree(w.free);
                if (b == null)
                {
                    return;
                }
                int n = 0;
                boolean more = true;
                try
                {
                    if (seek)
                    {
                        seek = false;
                        nothing = !reader.seek(from);
                    }
                    if (nothing)
                    {
                        more = false;
                    }
                    else if (chunkPerBatch)
                    {
                        // One whole chunk of this worker's per batch, so that the consumer can take the
                        // workers' batches in turn and see the chunks in order.
                        if (more = reader.next(b.ensure(1)[0]))
                        {
                            n = 1;
                            int left = reader.leftInChunk();
                            final Event[] events = b.ensure(1 + left);
                            while (left-- > 0 && (more = reader.next(events[n])))
                            {
                                n++;
                            }
                        }
                    }
                    else if (all)
                    {
                        final Event[] events = b.events;
                        final int cap = events.length;
                        final Tap tap = w.tap;
                        while (n < cap && (more = reader.next(events[n])))
                        {
                            if (tap != null)
                            {
                                tap.accept(events[n]);
                            }
                            n++;
                        }
                    }
                    else
                    {
                        // Inputs are sparse (a few per chunk, none in many): hand the batch over as soon as an
                        // input from a later chunk arrived, rather than decoding far ahead for a full batch
                        // while the consumer waits for its next answer.
                        final Event[] events = b.events;
                        final int cap = events.length;
                        long firstChunk = -1;
                        while (n < cap && (more = reader.nextInput(events[n])))
                        {
                            n++;
                            final long chunk = reader.chunksVerified();
                            if (firstChunk < 0)
                            {
                                firstChunk = chunk;
                            }
                            else if (chunk != firstChunk)
                            {
                                break;
                            }
                        }
                    }
                }
                catch (final Throwable t)
                {
                    w.decodeError = t;
                    more = false;
                }
                b.count = n;
                b.last = !more;
                if (!more)
                {
                    final Throwable err = w.decodeError;
                    w.endStatus = err != null ? TraceStatus.DAMAGED : reader.status();
                    w.endMessage = err != null ? "trace damaged: decoding failed (" + err + ")" : reader.statusMessage();
                    w.endRecord = reader.end();
                    w.endVerified = reader.eventsVerified();
                    w.endDigest = reader.digest();
                }
                w.full.add(b);
                if (!more)
                {
                    return;
                }
            }
        }
        finally
        {
            reader.close();
        }
    }

    /** A free batch, or null once stopping. */
    private Batch takeFree(final ArrayBlockingQueue<Batch> free)
    {
        while (!stopping)
        {
            try
            {
                final Batch b = free.poll(POLL_MS, TimeUnit.MILLISECONDS);
                if (b == STOP || stopping)
                {
                    return null;
                }
                if (b != null)
                {
                    b.count = 0;
                    b.last = false;
                    return b;
                }
            }
            catch (final InterruptedException ex)
            {
                return null;
            }
        }
        return null;
    }

    /** Whether the decode thread is still running (for tests: it must be gone after {@link #close}). */
    public boolean decoding()
    {
        for (final Worker w : workers)
        {
            if (w.thread.isAlive())
            {
                return true;
            }
        }
        return false;
    }

    /** Stops the decode thread (also before the end), waits for it to close its reader and exit. */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        stopping = true;
        current = null;
        for (final Worker w : workers)
        {
            w.free.offer(STOP);
        }
        boolean interrupted = false;
        for (final Worker w : workers)
        {
            while (w.thread.isAlive())
            {
                try
                {
                    w.thread.join(POLL_MS);
                }
                catch (final InterruptedException ex)
                {
                    interrupted = true;
                }
            }
        }
        if (interrupted)
        {
            Thread.currentThread().interrupt();
        }
    }
}
