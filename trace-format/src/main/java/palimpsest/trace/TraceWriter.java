package palimpsest.trace;

import java.nio.file.Path;

import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Records events into a new trace directory (a Chronicle queue): the header excerpt, then one excerpt
 * per chunk of about {@link TraceFormat#CHUNK_TARGET_BYTES} encoded events, then the end excerpt.
 *
 * <p>Chunk excerpt layout (little-endian):
 * <pre>
 *  0    1     2      4        8              16             24       28        32            40
 *  +----+-----+------+--------+--------------+--------------+--------+---------+-------------+------------
 *  |'C' |flags|rsvd  | events | chunk seq    | first event  | input  | payload | digest      | payload:
 *  | u8 |u8=0 |u16=0 | u32    | u64 (0,1,..) | index u64    | events | length  | u64         | encoded
 *  |    |     |      |        |              |              | u32    | u32     |             | events
 *  +----+-----+------+--------+--------------+--------------+--------+---------+-------------+------------
 *  digest = XXH64(payload, seed = XXH64(header bytes 0..31, seed = digest of the previous chunk, or
 *           DIGEST_SEED for chunk 0))
 * </pre>
 * The prediction state of the encoding is reset at each chunk start: every chunk decodes on its own.
 *
 * <p>{@link #access}, {@link #event} and {@link #net} allocate nothing. Not thread-safe, but may be
 * called by different threads one at a time, provided each handoff has a happens-before edge (the
 * Chronicle appender's same-thread check is disabled for that).
 */
public final class TraceWriter implements EventSink, AutoCloseable
{
    static
    {
        System.setProperty("chronicle.analytics.disable", "true");
        Queues.init();
    }

    private final Path dir;
    private final SingleChronicleQueue queue;
    private final ExcerptAppender appender;
    private final ChunkEncoder encoder = new ChunkEncoder();
    private long flushedEvents;
    private long chunks;
    private long flushedPayloadBytes;
    private long digest = TraceFormat.DIGEST_SEED;
    private boolean closed;
    /** Non-null: events are encoded on the encoder thread ({@link #createEncodingAhead}). */
    private EncodeAhead ahead;
    /** The direct path: what the encoder thread feeds. */
    private final EncodeAhead.Target direct = new EncodeAhead.Target()
    {
        @Override
        public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
            final long paddr, final int size, final long value, final long oldValue)
        {
            encodeAccess(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
        }

        @Override
        public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b,
            final long c)
        {
            encodeEvent(kind, cpu, icount, pc, a, b, c);
        }

        @Override
        public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
            final byte[] payload, final int offset, final int length)
        {
            encodeNet(kind, device, vtime, peerNode, frameId, payload, offset, length);
        }

        @Override
        public void chunkBoundary()
        {
            if (encoder.count() > 0)
            {
                flushChunk();
            }
        }
    };

    private TraceWriter(final Path dir, final SingleChronicleQueue queue, final ExcerptAppender appender)
    {
        this.dir = dir;
        this.queue = queue;
        this.appender = appender;
    }

    /**
     * Creates a trace in dir, which must not exist or be empty, and writes its header.
     *
     * @throws TraceException if the directory cannot be used.
     */
    public static TraceWriter create(final Path dir, final TraceHeader header)
    {
        Queues.prepareEmptyDir(dir);
        final byte[] h = header.encode();
        final SingleChronicleQueue queue;
        try
        {
            queue = Queues.createWritable(dir);
        }
        catch (final RuntimeException ex)
        {
            throw new TraceException("cannot create trace in " + dir + ": " + Queues.oneLine(ex), ex);
        }
        final ExcerptAppender appender = queue.createAppender();
        appender.singleThreadedCheckDisabled(true);
        final TraceWriter w = new TraceWriter(dir, queue, appender);
        w.append(h, 0, h.length);
        return w;
    }

    /**
     * {@link #create}, with the encoding, digesting and appending done on a thread of their own
     * ({@link EncodeAhead}): the caller only copies each event into a preallocated batch. Same chunks,
     * digests and excerpts as {@link #create}; {@link #chunks()}, {@link #digest()},
     * {@link #payloadBytes()} and {@link #flush()} wait for the encoder to catch up. A kill -9 loses
     * at most {@link #MAX_LOST_ENCODING_AHEAD} events more than a direct writer (which loses its
     * current chunk).
     */
    public static TraceWriter createEncodingAhead(final Path dir, final TraceHeader header)
    {
        final TraceWriter w = create(dir, header);
        w.ahead = new EncodeAhead(w.direct);
        return w;
    }

    /** Events not yet appended that a kill -9 may lose, beyond the current chunk, when encoding ahead. */
    public static final long MAX_LOST_ENCODING_AHEAD = EncodeAhead.MAX_LOST;

    private void append(final byte[] b, final int off, final int len)
    {
        try (DocumentContext dc = appender.writingDocument())
        {
            dc.wire().bytes().write(b, off, len);
        }
    }

    @Override
    public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
        final long paddr, final int size, final long value, final long oldValue)
    {
        final EncodeAhead a = ahead;
        if (a != null)
        {
            a.access(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
        }
        else
        {
            encodeAccess(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
        }
    }

    @Override
    public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b,
        final long c)
    {
        final EncodeAhead x = ahead;
        if (x != null)
        {
            x.event(kind, cpu, icount, pc, a, b, c);
        }
        else
        {
            encodeEvent(kind, cpu, icount, pc, a, b, c);
        }
    }

    @Override
    public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
        final byte[] payload, final int offset, final int length)
    {
        final EncodeAhead x = ahead;
        if (x != null)
        {
            x.net(kind, device, vtime, peerNode, frameId, payload, offset, length);
        }
        else
        {
            encodeNet(kind, device, vtime, peerNode, frameId, payload, offset, length);
        }
    }

    private void encodeAccess(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
        final long paddr, final int size, final long value, final long oldValue)
    {
        encoder.access(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
        if (encoder.isFull())
        {
            flushChunk();
        }
    }

    private void encodeEvent(final int kind, final int cpu, final long icount, final long pc, final long a,
        final long b, final long c)
    {
        encoder.event(kind, cpu, icount, pc, a, b, c);
        if (encoder.isFull())
        {
            flushChunk();
        }
    }

    private void encodeNet(final int kind, final int device, final long vtime, final long peerNode,
        final long frameId, final byte[] payload, final int offset, final int length)
    {
        if (!encoder.fits(length) && encoder.count() > 0)
        {
            flushChunk();
        }
        encoder.net(kind, device, vtime, peerNode, frameId, payload, offset, length);
        if (encoder.isFull())
        {
            flushChunk();
        }
    }

    /** Appends the events buffered so far as a chunk (a short one), so readers can see them. */
    public void flush()
    {
        checkOpen();
        if (ahead != null)
        {
            ahead.drain(true);
            return;
        }
        if (encoder.count() > 0)
        {
            flushChunk();
        }
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("trace writer closed: " + dir);
        }
    }

    private void flushChunk()
    {
        checkOpen();
        final byte[] b = encoder.buffer();
        final int len = encoder.payloadLength();
        final int count = encoder.count();
        b[TraceFormat.CH_TYPE] = TraceFormat.RECORD_CHUNK;
        b[TraceFormat.CH_FLAGS] = 0;
        Bits.putShort(b, TraceFormat.CH_RESERVED, 0);
        Bits.putInt(b, TraceFormat.CH_COUNT, count);
        Bits.putLong(b, TraceFormat.CH_SEQUENCE, chunks);
        Bits.putLong(b, TraceFormat.CH_FIRST_INDEX, flushedEvents);
        Bits.putInt(b, TraceFormat.CH_INPUTS, encoder.inputs());
        Bits.putInt(b, TraceFormat.CH_PAYLOAD_LENGTH, len);
        digest = TraceFormat.chunkDigest(b, len, digest);
        Bits.putLong(b, TraceFormat.CH_DIGEST, digest);
        append(b, 0, TraceFormat.CHUNK_HEADER_LENGTH + len);
        flushedEvents += count;
        flushedPayloadBytes += len;
        chunks++;
        encoder.reset();
    }

    /** Events written so far (including those still buffered in the current chunk). */
    public long events()
    {
        final EncodeAhead a = ahead;
        return a != null ? a.produced() : flushedEvents + encoder.count();
    }

    /** Chunks appended so far (encoding ahead: once every event so far is encoded). */
    public long chunks()
    {
        drain();
        return chunks;
    }

    /** Encoded event bytes so far (chunk payloads, including the current chunk; no headers). */
    public long payloadBytes()
    {
        drain();
        return flushedPayloadBytes + encoder.payloadLength();
    }

    /** Running digest over the chunks appended so far (the buffered chunk is not in it yet). */
    public long digest()
    {
        drain();
        return digest;
    }

    /** Encoding ahead: waits until every event so far is encoded (no chunk boundary). */
    private void drain()
    {
        if (ahead != null && !closed)
        {
            ahead.drain(false);
        }
    }

    /**
     * Encoding ahead: waits until every event so far is encoded, then returns the CPU time the encoder
     * thread has used ({@code pal bench}: is the encoder the bottleneck?); -1 when encoding directly, or
     * if the JVM cannot tell.
     */
    public long encoderCpuNanos()
    {
        drain();
        return ahead != null && !closed ? ahead.cpuNanos() : -1;
    }

    /**
     * Encoding ahead: batches handed to the encoder so far, and how many times the recording thread
     * then had to wait for a free one (the encoder was behind: back-pressure). 0 when encoding directly.
     */
    public long batchesHandedOff()
    {
        return ahead != null ? ahead.handoffs() : 0;
    }

    public long batchStalls()
    {
        return ahead != null ? ahead.stalls() : 0;
    }

    public Path dir()
    {
        return dir;
    }

    /** Finishes the trace with outcome 0 and an empty message. */
    @Override
    public void close()
    {
        close(0, "");
    }

    /** Appends the last chunk and the end record, then closes the queue. Does nothing if already closed. */
    public void close(final int outcomeCode, final String outcomeMessage)
    {
        if (closed)
        {
            return;
        }
        try
        {
            if (ahead != null)
            {
                ahead.drain(true);
                ahead.stop(false);
                ahead = null;
            }
            flush();
            final byte[] end = new EndRecord(outcomeCode, outcomeMessage, flushedEvents, chunks, digest).encode();
            append(end, 0, end.length);
        }
        finally
        {
            if (ahead != null)
            {
                ahead.stop(true); // the encoder failed: stop its thread
                ahead = null;
            }
            closed = true;
            appender.close();
            queue.close();
        }
    }

    /** Closes the queue without writing the buffered events or an end record: what a crash leaves. */
    void abandon()
    {
        if (!closed)
        {
            if (ahead != null)
            {
                ahead.stop(true);
                ahead = null;
            }
            closed = true;
            appender.close();
            queue.close();
        }
    }

    /** For crash tests: the queue this writer appends to. */
    SingleChronicleQueue queue()
    {
        return queue;
    }
}
