package palimpsest.trace;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Random access to a trace's events without Chronicle Queue, for queries. Starting Chronicle and
 * walking its tailer over every chunk header to find one cost a query more than the answer did
 * (0.5-1 s of CPU on a 122 M-event trace); a trace is one cycle file of excerpts, each a 4-byte
 * length word and the bytes we wrote, so a chunk can be read with one positioned read.
 *
 * <p>The chunk table {@code TRACE/chunks.idx} holds each chunk's first event, event count, file
 * offset, length and stored digest (32 bytes a chunk, memory-mapped, binary-searched): built on
 * first use by walking the excerpt headers with plain reads (as {@link QueueView} does), rebuilt
 * when the queue file's name, size or modification time changed, kept in memory only when the
 * directory cannot be written. Each chunk read is checked as {@link TraceReader#seek} checks it
 * (sequence, first event, count, payload length, digest chained from the previous chunk's stored
 * digest). The seeker only accelerates: anything it does not expect (several cycle files, a chunk
 * that fails its check, a payload that does not decode) hands the rest of the reading to a
 * {@link TraceReader} positioned at the same event, so every answer and every damage report is
 * the reader's.
 *
 * <p>Layout of the table (little-endian): magic u64, version u32, rows u32, fingerprint u64 (the
 * queue file and the header digest), header offset u64, header length u32, reserved u32; then one
 * row per chunk: first event u64, payload offset u64, excerpt length u32, events u32, digest u64.
 */
public final class TraceSeeker implements EventCursor
{
    public static final String TABLE = "chunks.idx";
    private static final long MAGIC = 0x314b4843_4c415050L;
    private static final int VERSION = 1;
    private static final int HEAD = 40;
    private static final int ROW = 32;
    private static final int NOT_COMPLETE = 0x80000000;
    private static final int META_DATA = 0x40000000;
    private static final int LENGTH_MASK = 0x3FFFFFFF;

    private final Path dir;
    private final FileChannel file;
    private final TraceHeader header;
    private final ByteBuffer table;
    private final int rows;
    private final ChunkDecoder decoder = new ChunkDecoder();
    private final Event scratch = new Event();
    private byte[] buf = new byte[TraceFormat.CHUNK_HEADER_LENGTH + TraceFormat.CHUNK_TARGET_BYTES + ChunkEncoder.MARGIN];
    private int chunk = -1;
    private TraceReader fallback;
    /** The hand-over failed (the trace cannot be opened any more): nothing more to read. */
    private boolean dead;

    private TraceSeeker(final Path dir, final FileChannel file, final TraceHeader header, final ByteBuffer table)
    {
        this.dir = dir;
        this.file = file;
        this.header = header;
        this.table = table;
        this.rows = table.getInt(12);
    }

    /** A seeker over the trace in dir, else (not one cycle file, unreadable) a {@link TraceReader}. */
    public static EventCursor cursor(final Path dir)
    {
        final TraceSeeker s = open(dir);
        return s != null ? s : TraceReader.open(dir);
    }

    /**
     * The trace's header read straight from its queue file (no Chronicle), or, when that cannot be
     * done, as {@link TraceReader#open} reads it (and fails, with its one-line message).
     */
    public static TraceHeader header(final Path dir)
    {
        final TraceSeeker s = open(dir);
        if (s != null)
        {
            s.close();
            return s.header;
        }
        try (TraceReader r = TraceReader.open(dir))
        {
            return r.header();
        }
    }

    /** Null when the trace is not a single well-formed cycle file (then read it with a {@link TraceReader}). */
    public static TraceSeeker open(final Path dir)
    {
        try
        {
            Queues.checkQueueDir(dir); // what is not a trace is refused by the reader, with its message
        }
        catch (final RuntimeException e)
        {
            return null;
        }
        final Path cycle = onlyCycle(dir);
        if (cycle == null)
        {
            return null;
        }
        FileChannel ch = null;
        try
        {
            ch = FileChannel.open(cycle, StandardOpenOption.READ);
            final long fingerprint = fingerprint(cycle);
            ByteBuffer table = load(dir.resolve(TABLE), fingerprint);
            if (table == null)
            {
                table = build(ch, fingerprint);
                if (table == null)
                {
                    ch.close();
                    return null;
                }
                save(dir, table);
            }
            final byte[] h = new byte[table.getInt(32)];
            if (!readFully(ch, ByteBuffer.wrap(h), table.getLong(24)) || !TraceHeader.hasMagic(h, 0, h.length))
            {
                ch.close();
                return null;
            }
            return new TraceSeeker(dir, ch, TraceHeader.decode(h, 0, h.length), table);
        }
        catch (final IOException | RuntimeException e)
        {
            // TraceException (an old format, a damaged header) included: the reader says it properly.
            try
            {
                if (ch != null)
                {
                    ch.close();
                }
            }
            catch (final IOException ignored)
            {
                // already failing
            }
            return null;
        }
    }

    private static Path onlyCycle(final Path dir)
    {
        final List<Path> cycles = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.cq4"))
        {
            for (final Path p : ds)
            {
                cycles.add(p);
            }
        }
        catch (final IOException | RuntimeException e)
        {
            return null;
        }
        return cycles.size() == 1 && Files.isRegularFile(cycles.get(0)) ? cycles.get(0) : null;
    }

    /** The queue file's name, size and modification time, as the indexes beside a trace tie themselves to it. */
    private static long fingerprint(final Path cycle) throws IOException
    {
        final byte[] b = (cycle.getFileName() + ":" + Files.size(cycle) + ":" +
            Files.getLastModifiedTime(cycle).to(TimeUnit.NANOSECONDS)).getBytes(StandardCharsets.UTF_8);
        return Hash64.hash(b, 0, b.length, MAGIC);
    }

    private static ByteBuffer load(final Path file, final long fingerprint)
    {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ))
        {
            final long size = ch.size();
            if (size < HEAD || size > Integer.MAX_VALUE)
            {
                return null;
            }
            final MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            m.order(ByteOrder.LITTLE_ENDIAN);
            final int rows = m.getInt(12);
            if (m.getLong(0) != MAGIC || m.getInt(8) != VERSION || m.getLong(16) != fingerprint || rows < 0 ||
                (long)HEAD + (long)rows * ROW != size)
            {
                return null;
            }
            return m;
        }
        catch (final IOException | RuntimeException e)
        {
            return null;
        }
    }

    private static void save(final Path dir, final ByteBuffer table)
    {
        final Path tmp = dir.resolve(TABLE + ".tmp");
        try
        {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE))
            {
                final ByteBuffer b = table.duplicate();
                b.position(0);
                while (b.hasRemaining())
                {
                    out.write(b);
                }
            }
            Files.move(tmp, dir.resolve(TABLE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException | RuntimeException e)
        {
            // A read-only trace: the table lives in memory for this run.
            try
            {
                Files.deleteIfExists(tmp);
            }
            catch (final IOException ignored)
            {
                // best effort
            }
        }
    }

    /**
     * Walks the excerpt headers (as {@link QueueView#scan}): the first data excerpt is the trace
     * header, then chunks in sequence; stops at the first thing that is not a whole chunk.
     */
    private static ByteBuffer build(final FileChannel ch, final long fingerprint) throws IOException
    {
        final long size = ch.size();
        final ByteBuffer word = ByteBuffer.allocate(4 + TraceFormat.CHUNK_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer rows = ByteBuffer.allocate(HEAD + 1024 * ROW).order(ByteOrder.LITTLE_ENDIAN);
        rows.position(HEAD);
        long headerAt = -1;
        int headerLength = 0;
        int n = 0;
        long nextFirst = 0;
        long pos = 0;
        while (pos + 4 <= size)
        {
            word.clear().limit(4);
            if (!readFully(ch, word, pos))
            {
                break;
            }
            final int h = word.getInt(0);
            if (h == 0 || (h & NOT_COMPLETE) != 0)
            {
                break;
            }
            final int len = h & LENGTH_MASK;
            if (pos + 4 + len > size)
            {
                break;
            }
            if ((h & META_DATA) == 0)
            {
                if (headerAt < 0)
                {
                    headerAt = pos + 4;
                    headerLength = len;
                }
                else
                {
                    if (len < TraceFormat.CHUNK_HEADER_LENGTH)
                    {
                        break;
                    }
                    word.clear();
                    if (!readFully(ch, word, pos + 4) || word.get(0) != TraceFormat.RECORD_CHUNK)
                    {
                        break; // the end record, or something a reader reports
                    }
                    final int count = word.getInt(TraceFormat.CH_COUNT);
                    if (word.getLong(TraceFormat.CH_SEQUENCE) != n || word.getLong(TraceFormat.CH_FIRST_INDEX) != nextFirst ||
                        count <= 0)
                    {
                        break;
                    }
                    if (rows.remaining() < ROW)
                    {
                        final ByteBuffer bigger = ByteBuffer.allocate(rows.capacity() * 2).order(ByteOrder.LITTLE_ENDIAN);
                        rows.flip();
                        bigger.put(rows);
                        rows = bigger;
                    }
                    rows.putLong(nextFirst).putLong(pos + 4).putInt(len).putInt(count).putLong(word.getLong(TraceFormat.CH_DIGEST));
                    n++;
                    nextFirst += count;
                }
            }
            pos = (pos + 4 + len + 3) & ~3L;
        }
        if (headerAt < 0)
        {
            return null;
        }
        final ByteBuffer out = ByteBuffer.allocate(HEAD + n * ROW).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(MAGIC).putInt(VERSION).putInt(n).putLong(fingerprint).putLong(headerAt).putInt(headerLength).putInt(0);
        rows.flip().position(HEAD);
        out.put(rows);
        out.flip();
        return out;
    }

    private static boolean readFully(final FileChannel ch, final ByteBuffer b, final long at) throws IOException
    {
        long p = at;
        while (b.hasRemaining())
        {
            final int k = ch.read(b, p);
            if (k < 0)
            {
                return false;
            }
            p += k;
        }
        return true;
    }

    @Override
    public TraceHeader header()
    {
        return header;
    }

    /** Chunks in the table (those the table was built over). */
    public int chunks()
    {
        return rows;
    }

    /** Index of the first event after the table's chunks. */
    public long events()
    {
        return rows == 0 ? 0 : first(rows - 1) + count(rows - 1);
    }

    /** Index of the first event of chunk k (0 <= k < {@link #chunks()}). */
    public long chunkFirstIndex(final int k)
    {
        if (k < 0 || k >= rows)
        {
            throw new IndexOutOfBoundsException("chunk " + k + " of " + rows);
        }
        return first(k);
    }

    private long first(final int k)
    {
        return table.getLong(HEAD + k * ROW);
    }

    private int count(final int k)
    {
        return table.getInt(HEAD + k * ROW + 20);
    }

    @Override
    public boolean seek(final long eventIndex)
    {
        if (eventIndex < 0)
        {
            throw new IllegalArgumentException("negative event index " + eventIndex);
        }
        if (fallback != null || dead)
        {
            return !dead && fallback.seek(eventIndex);
        }
        int lo = 0;
        int hi = rows - 1;
        while (lo <= hi)
        {
            final int mid = (lo + hi) >>> 1;
            if (first(mid) <= eventIndex)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        if (hi < 0 || eventIndex >= first(hi) + count(hi))
        {
            // Beyond the table: the reader knows whether that is the end or damage.
            return handOver(eventIndex);
        }
        if (chunk != hi || decoder.nextIndex() > eventIndex)
        {
            if (!load(hi))
            {
                return handOver(eventIndex);
            }
        }
        while (decoder.nextIndex() < eventIndex)
        {
            if (!decode(scratch))
            {
                return handOver(eventIndex);
            }
        }
        return true;
    }

    @Override
    public boolean next(final Event e)
    {
        if (fallback != null || dead)
        {
            return !dead && fallback.next(e);
        }
        while (decoder.remaining() == 0)
        {
            final long at = chunk < 0 ? 0 : first(chunk) + count(chunk);
            if (chunk + 1 >= rows || !load(chunk + 1))
            {
                return handOver(at) && fallback.next(e);
            }
        }
        final long at = decoder.nextIndex();
        if (!decode(e))
        {
            return handOver(at) && fallback.next(e);
        }
        return true;
    }

    private boolean decode(final Event e)
    {
        try
        {
            decoder.next(e);
            return true;
        }
        catch (final RuntimeException ex)
        {
            decoder.clear();
            return false;
        }
    }

    /** Reads chunk k and checks it as the reader would; false when it is not the chunk the table says. */
    private boolean load(final int k)
    {
        final int row = HEAD + k * ROW;
        final long offset = table.getLong(row + 8);
        final int len = table.getInt(row + 16);
        final int count = table.getInt(row + 20);
        final long first = table.getLong(row);
        if (len < TraceFormat.CHUNK_HEADER_LENGTH || len > (64 << 20))
        {
            return false;
        }
        if (buf.length < len)
        {
            buf = new byte[len];
        }
        try
        {
            if (!readFully(file, ByteBuffer.wrap(buf, 0, len), offset))
            {
                return false;
            }
        }
        catch (final IOException e)
        {
            return false;
        }
        final int payload = Bits.getInt(buf, TraceFormat.CH_PAYLOAD_LENGTH);
        final long previous = k == 0 ? TraceFormat.DIGEST_SEED : table.getLong(row - ROW + 24);
        if (buf[0] != TraceFormat.RECORD_CHUNK || Bits.getLong(buf, TraceFormat.CH_SEQUENCE) != k ||
            Bits.getLong(buf, TraceFormat.CH_FIRST_INDEX) != first || Bits.getInt(buf, TraceFormat.CH_COUNT) != count ||
            payload != len - TraceFormat.CHUNK_HEADER_LENGTH || Bits.getLong(buf, TraceFormat.CH_DIGEST) != table.getLong(row + 24) ||
            TraceFormat.chunkDigest(buf, payload, previous) != table.getLong(row + 24))
        {
            return false;
        }
        decoder.wrap(buf, TraceFormat.CHUNK_HEADER_LENGTH, payload, count, first);
        chunk = k;
        return true;
    }

    /** The rest is read by a {@link TraceReader} from event at: the seeker met something it does not expect. */
    private boolean handOver(final long at)
    {
        decoder.clear();
        chunk = -1;
        try
        {
            fallback = TraceReader.open(dir);
        }
        catch (final TraceException e)
        {
            dead = true;
            return false;
        }
        return fallback.seek(at);
    }

    @Override
    public void close()
    {
        try
        {
            file.close();
        }
        catch (final IOException ignored)
        {
            // read-only
        }
        if (fallback != null)
        {
            fallback.close();
        }
    }
}
