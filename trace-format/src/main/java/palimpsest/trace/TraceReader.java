package palimpsest.trace;

import java.nio.file.Path;
import java.util.Arrays;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Reads a trace: its header, then its events one at a time into a reusable {@link Event}
 * (allocation-free once warmed up).
 *
 * <p>Every chunk's digest is checked against the chain before any of its events is handed out. At the
 * end {@link #status()} tells whether the trace was {@link TraceStatus#COMPLETE complete},
 * {@link TraceStatus#TRUNCATED truncated} (no end record: every whole chunk was read) or
 * {@link TraceStatus#DAMAGED damaged} (reading stopped before the first bad chunk), and
 * {@link #statusMessage()} says so in one line. Reading never throws for a bad trace body: only
 * {@link #open} throws, with a one-line {@link TraceException}, for something that is not a
 * readable trace at all.
 *
 * <p>A queue left by a writer killed mid-append (an excerpt header still marked as being written,
 * or the zeroed space Chronicle preallocates) reads as "no more excerpts": the trace is truncated
 * after its last whole chunk.
 */
public final class TraceReader implements AutoCloseable, EventCursor
{
    static
    {
        System.setProperty("chronicle.analytics.disable", "true");
        Queues.init();
    }

    private static final int DECODE = 0;
    private static final int SKIP_WITHOUT_INPUTS = 1;
    private static final int SKIP_ALL = 2;

    private static final int LOADED = 0;
    private static final int SKIPPED = 1;
    private static final int STOP = 2;

    private final Path dir;
    private final QueueView view;
    private final SingleChronicleQueue queue;
    private final ExcerptTailer tailer;
    private final TraceHeader header;
    private final long headerIndex;
    private final ChunkDecoder decoder = new ChunkDecoder();
    private final Event scratch = new Event();
    private byte[] buf = new byte[TraceFormat.CHUNK_HEADER_LENGTH + TraceFormat.CHUNK_TARGET_BYTES +
        ChunkEncoder.MARGIN];

    // Position in the chain.
    private long nextSequence;
    private long nextFirstIndex;
    private long digest = TraceFormat.DIGEST_SEED;
    private int inputsLeft;
    private long chunksDecoded;

    private TraceStatus status = TraceStatus.READING;
    private String statusMessage = "reading";
    private EndRecord end;

    // Chunk table for seek, built lazily from chunk headers.
    private ExcerptTailer scanTailer;
    private boolean scanDone;
    private int tableSize;
    private long[] tableFirst = new long[0];
    private int[] tableCount = new int[0];
    private long[] tableExcerpt = new long[0];
    private long[] tableDigest = new long[0];

    private TraceReader(final Path dir, final QueueView view, final ExcerptTailer tailer,
        final TraceHeader header, final long headerIndex)
    {
        this.dir = dir;
        this.view = view;
        this.queue = view.queue;
        this.tailer = tailer;
        this.header = header;
        this.headerIndex = headerIndex;
    }

    /**
     * Opens a trace directory and reads its header.
     *
     * @throws TraceException (one-line message) if the path is missing, not a directory, holds no
     *         Chronicle queue, is not a Palimpsest trace, or was written by a newer format version.
     */
    public static TraceReader open(final Path dir)
    {
        QueueView queue = null;
        try
        {
            queue = QueueView.open(dir);
            final QueueView.Cut cut = queue.cut();
            if (cut != null && cut.excerptsBefore == 0)
            {
                throw new TraceException("not a readable trace: " + dir + " has no whole header (" + cut.describe() + ")");
            }
            final ExcerptTailer tailer = queue.queue.createTailer();
            tailer.singleThreadedCheckDisabled(true);
            byte[] b;
            int len;
            long index;
            try (DocumentContext dc = tailer.readingDocument())
            {
                if (!dc.isPresent())
                {
                    throw new TraceException("not a Palimpsest trace: the Chronicle queue in " + dir +
                        " holds no excerpt (no header)");
                }
                final Bytes<?> bytes = dc.wire().bytes();
                len = (int)Math.min(bytes.readRemaining(), 1 << 24);
                b = new byte[len];
                bytes.read(b, 0, len);
                index = dc.index();
            }
            if (!TraceHeader.hasMagic(b, 0, len))
            {
                throw new TraceException("not a Palimpsest trace: " + dir +
                    " is a Chronicle queue whose first excerpt is not a trace header");
            }
            final TraceHeader header;
            try
            {
                header = TraceHeader.decode(b, 0, len);
            }
            catch (final TraceException ex)
            {
                final String m = ex.getMessage();
                if (m.startsWith("trace recorded by format "))
                {
                    throw new TraceException(m + "; trace " + dir, ex);
                }
                throw new TraceException(dir + (m.startsWith("was ") ? " " : ": ") + m, ex);
            }
            return new TraceReader(dir, queue, tailer, header, index);
        }
        catch (final TraceException ex)
        {
            closeQuietly(queue);
            throw ex;
        }
        catch (final RuntimeException | InternalError ex)
        {
            closeQuietly(queue);
            throw new TraceException("cannot read trace " + dir + ": not a readable Chronicle queue (" +
                Queues.oneLine(ex) + ")", ex);
        }
    }

    private static void closeQuietly(final QueueView q)
    {
        if (q != null)
        {
            try
            {
                q.close();
            }
            catch (final RuntimeException ignore)
            {
                // Already failing.
            }
        }
    }

    public TraceHeader header()
    {
        return header;
    }

    public Path dir()
    {
        return dir;
    }

    /** {@link TraceStatus#READING} until the end of what can be read was reached. */
    public TraceStatus status()
    {
        return status;
    }

    /** One line for the user, for example "trace incomplete: no end record (...); read 123 events in 2 whole chunks". */
    public String statusMessage()
    {
        return statusMessage;
    }

    /** The end record, once read (null before, and for a truncated trace). */
    public EndRecord end()
    {
        return end;
    }

    /** Index of the first event after the chunks whose digest has been checked so far. */
    public long eventsVerified()
    {
        return nextFirstIndex;
    }

    /** Whole chunks checked so far. */
    public long chunksVerified()
    {
        return nextSequence;
    }

    /** Chunks loaded for decoding so far (those skipped by {@link #nextInput} or {@link #verify} are not). */
    public long chunksDecoded()
    {
        return chunksDecoded;
    }

    /** Running digest over the chunks checked so far. */
    public long digest()
    {
        return digest;
    }

    /**
     * Reads the next event into e.
     *
     * @return false at the end of what can be read; then see {@link #status()}.
     */
    public boolean next(final Event e)
    {
        while (true)
        {
            if (decoder.remaining() > 0)
            {
                if (!decode(e))
                {
                    return false;
                }
                if (e.isInput())
                {
                    inputsLeft--;
                }
                return true;
            }
            if (advance(DECODE) == STOP)
            {
                return false;
            }
        }
    }

    /**
     * Reads the next {@link EventKind#INPUT} event into e, skipping every other event; chunks holding no
     * input are skipped without being decoded (their digests are still checked).
     */
    public boolean nextInput(final Event e)
    {
        while (true)
        {
            if (decoder.remaining() > 0 && inputsLeft > 0)
            {
                if (!decode(e))
                {
                    return false;
                }
                if (e.isInput())
                {
                    inputsLeft--;
                    return true;
                }
                continue;
            }
            decoder.clear();
            if (advance(SKIP_WITHOUT_INPUTS) == STOP)
            {
                return false;
            }
        }
    }

    /**
     * Checks the rest of the trace (chunk digests and the end record) without decoding events.
     *
     * @return the final status.
     */
    public TraceStatus verify()
    {
        decoder.clear();
        while (advance(SKIP_ALL) != STOP)
        {
            decoder.clear();
        }
        return status;
    }

    /**
     * Positions the reader so that the next {@link #next} returns event eventIndex: finds its chunk in a
     * table of chunk headers (built on first use), checks that chunk and decodes up to the event.
     *
     * @return false if there is no such event in the readable part of the trace (or its chunk is
     *         damaged, see {@link #status()}).
     */
    public boolean seek(final long eventIndex)
    {
        if (eventIndex < 0)
        {
            throw new IllegalArgumentException("negative event index " + eventIndex);
        }
        int k = findChunk(eventIndex);
        while (k < 0 && !scanDone)
        {
            scanMore(1024);
            k = findChunk(eventIndex);
        }
        if (k < 0)
        {
            return false;
        }
        try
        {
            if (!tailer.moveToIndex(tableExcerpt[k]))
            {
                damaged("chunk " + k + " could not be found again in the queue");
                return false;
            }
        }
        catch (final RuntimeException | InternalError ex)
        {
            damaged("chunk " + k + " could not be reached: " + Queues.oneLine(ex));
            return false;
        }
        status = TraceStatus.READING;
        statusMessage = "reading";
        end = null;
        nextSequence = k;
        nextFirstIndex = tableFirst[k];
        digest = k == 0 ? TraceFormat.DIGEST_SEED : tableDigest[k - 1];
        decoder.wrap(buf, 0, 0, 0, nextFirstIndex);
        if (advance(DECODE) != LOADED)
        {
            return false;
        }
        while (decoder.nextIndex() < eventIndex)
        {
            if (!decode(scratch))
            {
                return false;
            }
            if (scratch.isInput())
            {
                inputsLeft--;
            }
        }
        return true;
    }

    /**
     * The number of whole chunks whose headers can be read (scans every chunk header on first use,
     * not the payloads). With {@link #chunkFirstIndex}, {@link #chunkEvents} and {@link #chunkDigest}
     * this lets a tool compare two traces chunk by chunk without decoding them: digests are chained,
     * so equal digests at chunk k mean equal payloads in chunks 0..k.
     *
     * <p>The digests here are those stored in the chunk headers; they are checked against the
     * payloads when the chunks are read.
     */
    public int chunkCount()
    {
        while (!scanDone)
        {
            scanMore(1024);
        }
        return tableSize;
    }

    /** Index of the first event of chunk k (0 <= k < {@link #chunkCount()}). */
    public long chunkFirstIndex(final int k)
    {
        checkChunk(k);
        return tableFirst[k];
    }

    /** Number of events in chunk k. */
    public int chunkEvents(final int k)
    {
        checkChunk(k);
        return tableCount[k];
    }

    /** The chained digest stored with chunk k (covers the payloads of chunks 0..k). */
    public long chunkDigest(final int k)
    {
        checkChunk(k);
        return tableDigest[k];
    }

    private void checkChunk(final int k)
    {
        if (k < 0 || k >= chunkCount())
        {
            throw new IndexOutOfBoundsException("chunk " + k + " of " + tableSize);
        }
    }

    private int findChunk(final long eventIndex)
    {
        int lo = 0;
        int hi = tableSize - 1;
        while (lo <= hi)
        {
            final int mid = (lo + hi) >>> 1;
            if (tableFirst[mid] <= eventIndex)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        final int k = hi;
        return k >= 0 && eventIndex < tableFirst[k] + tableCount[k] ? k : -1;
    }

    /** Reads up to n more chunk headers (not payloads) into the seek table. */
    private void scanMore(final int n)
    {
        try
        {
            if (scanTailer == null)
            {
                scanTailer = queue.createTailer();
                scanTailer.singleThreadedCheckDisabled(true);
                if (!scanTailer.moveToIndex(headerIndex))
                {
                    scanDone = true;
                    return;
                }
                try (DocumentContext dc = scanTailer.readingDocument())
                {
                    if (!dc.isPresent())
                    {
                        scanDone = true;
                        return;
                    }
                }
            }
            for (int i = 0; i < n; i++)
            {
                try (DocumentContext dc = scanTailer.readingDocument())
                {
                    if (!dc.isPresent())
                    {
                        scanDone = true;
                        return;
                    }
                    final Bytes<?> bytes = dc.wire().bytes();
                    final long start = bytes.readPosition();
                    final long len = bytes.readRemaining();
                    if (len < TraceFormat.CHUNK_HEADER_LENGTH ||
                        bytes.readByte(start) != TraceFormat.RECORD_CHUNK ||
                        bytes.readLong(start + TraceFormat.CH_SEQUENCE) != tableSize)
                    {
                        scanDone = true;
                        return;
                    }
                    final long first = bytes.readLong(start + TraceFormat.CH_FIRST_INDEX);
                    final int count = bytes.readInt(start + TraceFormat.CH_COUNT);
                    if (count <= 0 || (tableSize > 0 && first != tableFirst[tableSize - 1] + tableCount[tableSize - 1]))
                    {
                        scanDone = true;
                        return;
                    }
                    if (tableSize == tableFirst.length)
                    {
                        final int cap = Math.max(64, tableSize * 2);
                        tableFirst = Arrays.copyOf(tableFirst, cap);
                        tableCount = Arrays.copyOf(tableCount, cap);
                        tableExcerpt = Arrays.copyOf(tableExcerpt, cap);
                        tableDigest = Arrays.copyOf(tableDigest, cap);
                    }
                    tableFirst[tableSize] = first;
                    tableCount[tableSize] = count;
                    tableExcerpt[tableSize] = dc.index();
                    tableDigest[tableSize] = bytes.readLong(start + TraceFormat.CH_DIGEST);
                    tableSize++;
                }
            }
        }
        catch (final RuntimeException | InternalError ex)
        {
            scanDone = true;
        }
    }

    private boolean decode(final Event e)
    {
        final long index = decoder.nextIndex();
        try
        {
            decoder.next(e);
            return true;
        }
        catch (final RuntimeException ex)
        {
            decoder.clear();
            final long chunk = nextSequence - 1;
            damaged("chunk " + chunk + " does not decode at event " + index + " (" + Queues.oneLine(ex) +
                "); read " + index + " events");
            return false;
        }
    }

    /** Reads the next excerpt: loads (or skips) a chunk, or reaches the end. */
    private int advance(final int mode)
    {
        if (status != TraceStatus.READING)
        {
            return STOP;
        }
        int len = -1;
        try
        {
            for (int attempt = 0; attempt < 2 && len < 0; attempt++)
            {
                len = readExcerpt();
                if (len < 0)
                {
                    // Nothing readable here. If the queue knows of excerpts after this point, the one here is
                    // stuck (header still marked as being written, or zeroed) with data after it: damage, not
                    // a recording that stopped. Look twice, in case a live writer just committed.
                    final QueueView.Cut cut = view.cut();
                    if (cut != null)
                    {
                        // Data stops where the file does (a private copy zeroed after the cut): never ask
                        // Chronicle's index, which still names excerpts past it.
                        if (cut.truncated())
                        {
                            truncated(cut.describe());
                        }
                        else
                        {
                            damaged("trace damaged: the excerpt " + after() + " cannot be read: " + cut.describe() +
                                "; read " + nextFirstIndex + " events in " + nextSequence + " whole chunks before it");
                        }
                        return STOP;
                    }
                    final long here = tailer.index();
                    final long last = queue.lastIndex();
                    if (last < here || here < 0)
                    {
                        truncated("no end record (recording did not finish)");
                        return STOP;
                    }
                    if (attempt == 1)
                    {
                        damaged("trace damaged: the excerpt " + after() +
                            " cannot be read (its header is unfinished) but the queue holds excerpts after it; read " +
                            nextFirstIndex + " events in " + nextSequence + " whole chunks before it");
                        return STOP;
                    }
                }
            }
        }
        catch (final RuntimeException | InternalError ex)
        {
            // InternalError: the JVM's report of a fault reading the mapped file (an excerpt length
            // pointing past the end of the file, for example).
            damaged("the excerpt " + after() + " cannot be read (" + Queues.oneLine(ex) +
                "); read " + nextFirstIndex + " events in " + nextSequence + " whole chunks before it");
            return STOP;
        }
        if (len > 0 && buf[0] == TraceFormat.RECORD_CHUNK)
        {
            return chunk(len, mode);
        }
        if (len > 0 && buf[0] == TraceFormat.RECORD_END)
        {
            endRecord(len);
            return STOP;
        }
        damaged("the excerpt " + after() + " is neither a chunk nor an end record; read " +
            nextFirstIndex + " events in " + nextSequence + " whole chunks before it");
        return STOP;
    }

    private String after()
    {
        return nextSequence == 0 ? "after the header" : "after chunk " + (nextSequence - 1);
    }

    /** Copies the next excerpt into buf; -1 if there is none to read. */
    private int readExcerpt()
    {
        try (DocumentContext dc = tailer.readingDocument())
        {
            if (!dc.isPresent())
            {
                return -1;
            }
            final Bytes<?> bytes = dc.wire().bytes();
            final long n = bytes.readRemaining();
            if (n > Integer.MAX_VALUE - 16)
            {
                throw new IllegalStateException("excerpt of " + n + " bytes");
            }
            final int len = (int)n;
            if (buf.length < len)
            {
                buf = new byte[Math.max(len, buf.length * 2)];
            }
            bytes.read(buf, 0, len);
            return len;
        }
    }

    private int chunk(final int len, final int mode)
    {
        if (len < TraceFormat.CHUNK_HEADER_LENGTH)
        {
            return chunkDamaged("is cut short");
        }
        final int count = Bits.getInt(buf, TraceFormat.CH_COUNT);
        final long sequence = Bits.getLong(buf, TraceFormat.CH_SEQUENCE);
        final long first = Bits.getLong(buf, TraceFormat.CH_FIRST_INDEX);
        final int inputs = Bits.getInt(buf, TraceFormat.CH_INPUTS);
        final int payloadLength = Bits.getInt(buf, TraceFormat.CH_PAYLOAD_LENGTH);
        final long stored = Bits.getLong(buf, TraceFormat.CH_DIGEST);
        if (payloadLength != len - TraceFormat.CHUNK_HEADER_LENGTH)
        {
            return chunkDamaged("has a bad payload length");
        }
        if (sequence != nextSequence || first != nextFirstIndex)
        {
            return chunkDamaged("is out of sequence (says chunk " + sequence + ", events from " + first + ")");
        }
        if (count <= 0 || inputs < 0 || inputs > count || count > payloadLength)
        {
            return chunkDamaged("has bad event counts");
        }
        final long d = TraceFormat.chunkDigest(buf, payloadLength, digest);
        if (d != stored)
        {
            return chunkDamaged("fails its digest check");
        }
        digest = d;
        nextSequence++;
        nextFirstIndex += count;
        if (mode == SKIP_ALL || (mode == SKIP_WITHOUT_INPUTS && inputs == 0))
        {
            decoder.wrap(buf, TraceFormat.CHUNK_HEADER_LENGTH, payloadLength, 0, nextFirstIndex);
            inputsLeft = 0;
            return SKIPPED;
        }
        decoder.wrap(buf, TraceFormat.CHUNK_HEADER_LENGTH, payloadLength, count, first);
        inputsLeft = inputs;
        chunksDecoded++;
        return LOADED;
    }

    private int chunkDamaged(final String what)
    {
        damaged("trace damaged: chunk " + nextSequence + " (events from " + nextFirstIndex + ") " + what + "; read " + nextFirstIndex + " events in " + nextSequence +
            " whole chunks before it");
        return STOP;
    }

    private void endRecord(final int len)
    {
        if (!EndRecord.digestMatches(buf, len))
        {
            damaged("trace damaged: end record digest mismatch (its bytes changed after it was written); read " +
                nextFirstIndex + " events in " + nextSequence + " whole chunks");
            return;
        }
        final EndRecord r = EndRecord.decode(buf, len);
        if (r == null)
        {
            damaged("trace damaged: the end record is malformed; read " + nextFirstIndex + " events in " +
                nextSequence + " whole chunks");
            return;
        }
        if (r.totalEvents() != nextFirstIndex || r.totalChunks() != nextSequence || r.finalDigest() != digest)
        {
            damaged("trace damaged: the end record (" + r.totalEvents() + " events, " + r.totalChunks() +
                " chunks) does not match the chunks read (" + nextFirstIndex + " events, " + nextSequence + " chunks)" +
                (r.finalDigest() != digest ? " or their digest" : ""));
            return;
        }
        end = r;
        status = TraceStatus.COMPLETE;
        statusMessage = "trace complete: " + nextFirstIndex + " events in " + nextSequence + " chunks, ended " +
            (r.outcomeMessage().isEmpty() ? "with outcome code " + r.outcomeCode() : r.outcomeMessage());
    }

    private void truncated(final String why)
    {
        status = TraceStatus.TRUNCATED;
        statusMessage = "trace truncated at chunk " + nextSequence + ": " + why + "; read " + nextFirstIndex +
            " events in " + nextSequence + " whole chunks";
        decoder.clear();
        inputsLeft = 0;
    }

    private void damaged(final String message)
    {
        status = TraceStatus.DAMAGED;
        statusMessage = message.startsWith("trace damaged") ? message : "trace damaged: " + message;
        decoder.clear();
        inputsLeft = 0;
    }

    @Override
    public void close()
    {
        closeQuietly(view);
    }
}
