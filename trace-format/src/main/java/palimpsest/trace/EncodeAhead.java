package palimpsest.trace;

import java.util.concurrent.ArrayBlockingQueue;

/**
 * Moves a {@link TraceWriter}'s encoding, digesting and appending off the emulated CPUs' thread onto
 * the machine's second core. The recording thread copies each event's primitive fields into a
 * preallocated batch (9 longs per event, payload bytes into the batch's byte array) and hands full
 * batches through a bounded queue to the encoder thread, which feeds them to the writer's own
 * encoder in order, and hands the batch back:
 * <pre>
 *  recording thread                                     encoder thread (pal-encode-ahead)
 *  access/event/net: copy the fields into the current   take a FULL batch
 *    batch; batch full -> full queue, take a FREE one     replay its events into the chunk encoder
 *    (blocks only when all {@link #QUEUED} are queued)    (chunks appended as in the direct writer)
 *  drain() (flush, chunks(), digest(), close): hand       FLUSH flag: append the chunk so far
 *    the batch, take back all {@link #BATCHES}           -> free queue
 * </pre>
 * The events, their order and the flush points are the same as without it, so the chunks, digests
 * and excerpts are byte-identical. Nothing is allocated per event or per batch (the queues' locks may
 * allocate a wait node when one side blocks). A kill -9 loses what was not yet appended: the batch
 * being filled, at most {@link #QUEUED} queued batches and the encoder's current chunk, i.e. at most
 * (QUEUED + 1) x {@link #EVENTS} + {@link TraceFormat#CHUNK_MAX_EVENTS} events more than the direct
 * writer, which loses only its current chunk.
 */
final class EncodeAhead
{
    /** Events per batch. */
    static final int EVENTS = 4096;
    /** Batches that may wait for the encoder at once. */
    static final int QUEUED = 3;
    /** Batches in all: the one being filled, the queued ones, the one being encoded. */
    static final int BATCHES = QUEUED + 2;
    /** Most events a kill -9 can lose beyond the direct writer's current chunk. */
    static final long MAX_LOST = (long)(QUEUED + 1) * EVENTS;

    private static final int WORDS = 9;
    private static final long ACCESS = 0;
    private static final long EVENT = 1;
    private static final long NET = 2;

    /** A batch of raw events. */
    static final class Batch
    {
        final long[] words = new long[EVENTS * WORDS];
        byte[] payload = new byte[1 << 16];
        int payloadLength;
        int count;
        boolean flush;
        boolean stop;

        void clear()
        {
            count = 0;
            payloadLength = 0;
            flush = false;
            stop = false;
        }
    }

    /** What the encoder thread feeds: the writer's direct path. */
    interface Target extends EventSink
    {
        /** Appends the events encoded so far as a chunk, if there are any. */
        void chunkBoundary();
    }

    private final Target target;
    private final ArrayBlockingQueue<Batch> free = new ArrayBlockingQueue<>(BATCHES);
    private final ArrayBlockingQueue<Batch> full = new ArrayBlockingQueue<>(BATCHES);
    private final Thread thread;
    private final Batch[] drained = new Batch[BATCHES - 1];
    private Batch current;
    private long produced;
    /** Batches handed to the encoder, and how many times the recording thread then found no free batch and waited. */
    private long handoffs;
    private long stalls;
    private volatile Throwable failure;
    private volatile boolean discard;
    private boolean stopped;

    EncodeAhead(final Target target)
    {
        this.target = target;
        for (int i = 0; i < BATCHES - 1; i++)
        {
            free.add(new Batch());
        }
        current = new Batch();
        thread = new Thread(this::run, "pal-encode-ahead");
        thread.setDaemon(true);
        thread.start();
    }

    /** Events handed to this so far (encoded or not). */
    long produced()
    {
        return produced;
    }

    void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr, final long paddr,
        final int size, final long value, final long oldValue)
    {
        final Batch b = current;
        final long[] w = b.words;
        final int p = b.count * WORDS;
        w[p] = ACCESS;
        w[p + 1] = (long)kind << 32 | (cpu & 0xFFFFFFFFL);
        w[p + 2] = icount;
        w[p + 3] = pc;
        w[p + 4] = vaddr;
        w[p + 5] = paddr;
        w[p + 6] = size;
        w[p + 7] = value;
        w[p + 8] = oldValue;
        added(b);
    }

    void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b,
        final long c)
    {
        final Batch x = current;
        final long[] w = x.words;
        final int p = x.count * WORDS;
        w[p] = EVENT;
        w[p + 1] = (long)kind << 32 | (cpu & 0xFFFFFFFFL);
        w[p + 2] = icount;
        w[p + 3] = pc;
        w[p + 4] = a;
        w[p + 5] = b;
        w[p + 6] = c;
        added(x);
    }

    void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
        final byte[] payload, final int offset, final int length)
    {
        if (length < 0 || offset < 0 || offset + length > payload.length)
        {
            throw new IllegalArgumentException("bad payload slice: offset " + offset + ", length " + length);
        }
        Batch x = current;
        if (x.payload.length - x.payloadLength < length && x.count > 0)
        {
            handOff(false);
            x = current;
        }
        if (x.payload.length < length)
        {
            x.payload = new byte[length]; // a payload larger than any before: giant frames only
        }
        final long[] w = x.words;
        final int p = x.count * WORDS;
        w[p] = NET;
        w[p + 1] = (long)kind << 32 | (device & 0xFFFFFFFFL);
        w[p + 2] = vtime;
        w[p + 3] = peerNode;
        w[p + 4] = frameId;
        w[p + 5] = x.payloadLength;
        w[p + 6] = length;
        System.arraycopy(payload, offset, x.payload, x.payloadLength, length);
        x.payloadLength += length;
        added(x);
    }

    private void added(final Batch b)
    {
        produced++;
        if (++b.count == EVENTS)
        {
            handOff(false);
        }
    }

    private void handOff(final boolean flush)
    {
        checkFailure();
        final Batch b = current;
        b.flush = flush;
        put(full, b);
        handoffs++;
        Batch next = free.poll();
        if (next == null)
        {
            stalls++; // back-pressure: every batch is full or being encoded
            next = take(free);
        }
        current = next;
        current.clear();
    }

    /**
     * Hands over everything so far (with a chunk boundary after it when flush) and waits until the
     * encoder has appended it: afterwards the writer's counters and digest are exact.
     */
    void drain(final boolean flush)
    {
        if (stopped)
        {
            return;
        }
        handOff(flush);
        final Batch[] all = drained;
        for (int i = 0; i < all.length; i++)
        {
            all[i] = take(free);
        }
        for (final Batch b : all)
        {
            put(free, b);
        }
        checkFailure();
    }

    /** Batches handed over so far, and how many of those handoffs waited for the encoder to free one. */
    long handoffs()
    {
        return handoffs;
    }

    long stalls()
    {
        return stalls;
    }

    /**
     * CPU time the encoder thread has used so far (encoding, digesting, appending, page faults of the
     * queue file), -1 if the JVM cannot tell. Not on the hot path: loads java.management on first use.
     */
    long cpuNanos()
    {
        final java.lang.management.ThreadMXBean t = java.lang.management.ManagementFactory.getThreadMXBean();
        return t.isThreadCpuTimeSupported() && thread.isAlive() ? t.getThreadCpuTime(thread.getId()) : -1;
    }

    /** Stops the encoder thread; with discard, what it has not encoded yet is dropped (a crash). */
    void stop(final boolean discardPending)
    {
        if (stopped)
        {
            return;
        }
        stopped = true;
        discard = discardPending;
        current.stop = true;
        put(full, current);
        try
        {
            thread.join();
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
        if (!discardPending)
        {
            checkFailure();
        }
    }

    private void checkFailure()
    {
        final Throwable t = failure;
        if (t instanceof RuntimeException)
        {
            throw (RuntimeException)t;
        }
        if (t instanceof Error)
        {
            throw (Error)t;
        }
        if (t != null)
        {
            throw new TraceException("trace encoder failed: " + t, t);
        }
    }

    private void run()
    {
        while (true)
        {
            final Batch b = take(full);
            if (failure == null && !discard)
            {
                try
                {
                    replay(b);
                    if (b.flush)
                    {
                        target.chunkBoundary();
                    }
                }
                catch (final Throwable t)
                {
                    failure = t;
                }
            }
            final boolean stop = b.stop;
            if (stop)
            {
                return;
            }
            put(free, b);
        }
    }

    private void replay(final Batch b)
    {
        final long[] w = b.words;
        final Target t = target;
        for (int i = 0, p = 0; i < b.count; i++, p += WORDS)
        {
            final int kind = (int)(w[p + 1] >> 32);
            final int cpu = (int)w[p + 1];
            final long type = w[p];
            if (type == ACCESS)
            {
                t.access(kind, cpu, w[p + 2], w[p + 3], w[p + 4], w[p + 5], (int)w[p + 6], w[p + 7], w[p + 8]);
            }
            else if (type == EVENT)
            {
                t.event(kind, cpu, w[p + 2], w[p + 3], w[p + 4], w[p + 5], w[p + 6]);
            }
            else
            {
                t.net(kind, cpu, w[p + 2], w[p + 3], w[p + 4], b.payload, (int)w[p + 5], (int)w[p + 6]);
            }
        }
    }

    private static <T> T take(final ArrayBlockingQueue<T> q)
    {
        boolean interrupted = false;
        try
        {
            while (true)
            {
                try
                {
                    return q.take();
                }
                catch (final InterruptedException e)
                {
                    interrupted = true; // the handoff must complete: the recording's events depend on it
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

    private static <T> void put(final ArrayBlockingQueue<T> q, final T x)
    {
        boolean interrupted = false;
        try
        {
            while (true)
            {
                try
                {
                    q.put(x);
                    return;
                }
                catch (final InterruptedException e)
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
}
