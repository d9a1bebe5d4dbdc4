package palimpsest.trace;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.Inflater;
import java.util.zip.InflaterInputStream;
import java.util.zip.ZipException;

import com.github.luben.zstd.ZstdIOException;
import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Packs a trace directory into one compact portable file, and back. A Chronicle queue is a sparse,
 * preallocated, memory-mapped file plus metadata; a pack holds only the excerpts' bytes.
 *
 * <p>Pack file layout:
 * <pre>
 *  0          8        10       12
 *  +----------+--------+--------+-------------------------------------------------------------+
 *  | "PALPACK1"| version| 0      | compressed stream (version 2: zstd frame with its checksum,  |
 *  | 8 bytes  | u16 BE | u16    | version 1: zlib/deflate) of:                                |
 *  |          | 2 or 1 |        |   n x ( u32 length | length bytes of one excerpt )           |
 *  |          |        |        |   u32 0xFFFFFFFF | u64 n | u64 total excerpt bytes          |
 *  +----------+--------+--------+-------------------------------------------------------------+
 * </pre>
 * Integers are big-endian inside the compressed stream (java.io.DataOutput). The stream's checksum
 * (zstd's XXH64 content checksum, zlib's Adler-32) and the trailer's counts catch a cut-short or
 * corrupted pack; the excerpts themselves still carry the trace's own chunk digests. {@code pack}
 * writes zstd unless asked for Deflate; {@code unpack} reads both.
 */
public final class TracePacker
{
    static
    {
        System.setProperty("chronicle.analytics.disable", "true");
        Queues.init();
    }

    /** "PALPACK1" as it appears in the file. */
    static final byte[] PACK_MAGIC = {'P', 'A', 'L', 'P', 'A', 'C', 'K', '1'};
    static final int PACK_VERSION = 2;

    /** How the excerpts are compressed; the pack's version field says which. */
    public enum Codec
    {
        /** java.util.zip Deflate at its default level (pack version 1). */
        DEFLATE(1),
        /** zstd level 3 with a content checksum (pack version 2, the default). */
        ZSTD(2);

        final int version;

        Codec(final int version)
        {
            this.version = version;
        }
    }

    private static final int ZSTD_LEVEL = 3;
    private static final int END_MARK = 0xFFFFFFFF;
    private static final int MAX_EXCERPT = 1 << 30;

    private TracePacker()
    {
    }

    /** Removes what a failed unpack wrote into its (previously empty) directory. */
    private static void deleteContents(final Path dir)
    {
        try (java.util.stream.Stream<Path> s = Files.list(dir))
        {
            s.forEach(p ->
            {
                try
                {
                    Files.deleteIfExists(p);
                }
                catch (final IOException ignore)
                {
                    // Best effort.
                }
            });
        }
        catch (final IOException | RuntimeException ignore)
        {
            // Best effort.
        }
    }

    /** Statistics of a pack or unpack. */
    public static final class Result
    {
        private final long excerpts;
        private final long excerptBytes;
        private final long fileBytes;

        Result(final long excerpts, final long excerptBytes, final long fileBytes)
        {
            this.excerpts = excerpts;
            this.excerptBytes = excerptBytes;
            this.fileBytes = fileBytes;
        }

        public long excerpts()
        {
            return excerpts;
        }

        public long excerptBytes()
        {
            return excerptBytes;
        }

        public long fileBytes()
        {
            return fileBytes;
        }

        @Override
        public String toString()
        {
            return excerpts + " excerpts, " + excerptBytes + " bytes, pack file " + fileBytes + " bytes";
        }
    }

    /**
     * Writes every readable excerpt of the trace in traceDir to file (replaced if it exists). A
     * truncated or damaged trace is packed as it is.
     *
     * @throws TraceException if traceDir is not a trace or the file cannot be written.
     */
    public static Result pack(final Path traceDir, final Path file)
    {
        return pack(traceDir, file, Codec.ZSTD);
    }

    /** {@link #pack(Path, Path)} with the given compression. */
    public static Result pack(final Path traceDir, final Path file, final Codec codec)
    {
        final Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        long excerpts = 0;
        long total = 0;
        try (QueueView view = QueueView.open(traceDir))
        {
            final ExcerptTailer tailer = view.queue.createTailer();
            tailer.singleThreadedCheckDisabled(true);
            try (OutputStream raw = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16))
            {
                raw.write(PACK_MAGIC);
                raw.write(codec.version >>> 8);
                raw.write(codec.version);
                raw.write(0);
                raw.write(0);
                final Deflater deflater = codec == Codec.DEFLATE ? new Deflater(Deflater.DEFAULT_COMPRESSION) : null;
                try
                {
                    final OutputStream compressed;
                    if (deflater != null)
                    {
                        compressed = new DeflaterOutputStream(raw, deflater, 1 << 16);
                    }
                    else
                    {
                        final ZstdOutputStream z = new ZstdOutputStream(raw, ZSTD_LEVEL);
                        z.setChecksum(true);
                        compressed = z;
                    }
                    final DataOutputStream out = new DataOutputStream(new BufferedOutputStream(compressed, 1 << 16));
                    byte[] b = new byte[1 << 16];
                    while (true)
                    {
                        final int len;
                        try (DocumentContext dc = tailer.readingDocument())
                        {
                            if (!dc.isPresent())
                            {
                                break;
                            }
                            final Bytes<?> bytes = dc.wire().bytes();
                            final long n = bytes.readRemaining();
                            if (n > MAX_EXCERPT)
                            {
                                throw new TraceException("cannot pack " + traceDir + ": excerpt of " + n + " bytes");
                            }
                            len = (int)n;
                            if (b.length < len)
                            {
                                b = new byte[Math.max(len, b.length * 2)];
                            }
                            bytes.read(b, 0, len);
                        }
                        if (excerpts == 0 && !TraceHeader.hasMagic(b, 0, len))
                        {
                            throw new TraceException("not a Palimpsest trace: " + traceDir +
                                " (first excerpt is not a trace header)");
                        }
                        out.writeInt(len);
                        out.write(b, 0, len);
                        excerpts++;
                        total += len;
                    }
                    if (excerpts == 0)
                    {
                        throw new TraceException("not a Palimpsest trace: the Chronicle queue in " + traceDir +
                            " holds no excerpt");
                    }
                    out.writeInt(END_MARK);
                    out.writeLong(excerpts);
                    out.writeLong(total);
                    out.close();
                }
                finally
                {
                    if (deflater != null)
                    {
                        deflater.end();
                    }
                }
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            return new Result(excerpts, total, Files.size(file));
        }
        catch (final IOException ex)
        {
            throw new TraceException("cannot write pack " + file + ": " + Queues.oneLine(ex), ex);
        }
        catch (final TraceException ex)
        {
            throw ex;
        }
        catch (final RuntimeException | InternalError ex)
        {
            throw new TraceException("cannot pack " + traceDir + ": " + Queues.oneLine(ex), ex);
        }
        finally
        {
            try
            {
                Files.deleteIfExists(tmp);
            }
            catch (final IOException ignore)
            {
                // Best effort.
            }
        }
    }

    /**
     * Re-creates the trace packed in file as a Chronicle queue in dir (which must not exist or be
     * empty), excerpt for excerpt.
     *
     * @throws TraceException if file is not a valid pack or dir cannot be used.
     */
    public static Result unpack(final Path file, final Path dir)
    {
        if (!Files.isRegularFile(file))
        {
            throw new TraceException("no such pack file: " + file);
        }
        final long fileBytes;
        try
        {
            fileBytes = Files.size(file);
        }
        catch (final IOException ex)
        {
            throw new TraceException("cannot read pack " + file + ": " + Queues.oneLine(ex), ex);
        }
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16))
        {
            final byte[] head = raw.readNBytes(12);
            if (head.length < 12 || !Arrays.equals(head, 0, 8, PACK_MAGIC, 0, 8))
            {
                throw new TraceException("not a Palimpsest pack file: " + file);
            }
            final int version = ((head[8] & 0xFF) << 8) | (head[9] & 0xFF);
            if (version > PACK_VERSION || version < 1)
            {
                throw new TraceException("pack format version " + version + " is newer than this tool's " +
                    PACK_VERSION);
            }
            Queues.prepareEmptyDir(dir);
            boolean done = false;
            final Inflater inflater = version == Codec.DEFLATE.version ? new Inflater() : null;
            try (SingleChronicleQueue queue = Queues.createWritable(dir))
            {
                final ExcerptAppender appender = queue.createAppender();
                appender.singleThreadedCheckDisabled(true);
                final InputStream decompressed = inflater != null ? new InflaterInputStream(raw, inflater, 1 << 16) :
                    new ZstdInputStream(raw);
                final DataInputStream in = new DataInputStream(new BufferedInputStream(decompressed, 1 << 16));
                byte[] b = new byte[1 << 16];
                long excerpts = 0;
                long total = 0;
                while (true)
                {
                    final int len = in.readInt();
                    if (len == END_MARK)
                    {
                        break;
                    }
                    if (len < 0 || len > MAX_EXCERPT)
                    {
                        throw new TraceException("pack file " + file + " is corrupt (excerpt length " + len + ")");
                    }
                    if (b.length < len)
                    {
                        b = new byte[Math.max(len, b.length * 2)];
                    }
                    in.readFully(b, 0, len);
                    if (excerpts == 0 && !TraceHeader.hasMagic(b, 0, len))
                    {
                        throw new TraceException("pack file " + file + " does not hold a Palimpsest trace");
                    }
                    try (DocumentContext dc = appender.writingDocument())
                    {
                        dc.wire().bytes().write(b, 0, len);
                    }
                    excerpts++;
                    total += len;
                }
                final long n = in.readLong();
                final long t = in.readLong();
                if (n != excerpts || t != total)
                {
                    throw new TraceException("pack file " + file + " is corrupt (says " + n + " excerpts, holds " +
                        excerpts + ")");
                }
                // Reach the end of the compressed stream so that its checksum is verified.
                if (in.read() != -1 || inflater != null && !inflater.finished())
                {
                    throw new TraceException("pack file " + file + " is corrupt (data after the end mark)");
                }
                done = true;
                return new Result(excerpts, total, fileBytes);
            }
            finally
            {
                if (inflater != null)
                {
                    inflater.end();
                }
                if (!done)
                {
                    deleteContents(dir);
                }
            }
        }
        catch (final EOFException ex)
        {
            throw new TraceException("pack file " + file + " is cut short", ex);
        }
        catch (final ZstdIOException ex)
        {
            // zstd-jni reports a frame that ends early as "Truncated source".
            final boolean cut = String.valueOf(ex.getMessage()).startsWith("Truncated");
            throw new TraceException("pack file " + file + (cut ? " is cut short" : " is corrupt (" + ex.getMessage() + ")"),
                ex);
        }
        catch (final ZipException ex)
        {
            throw new TraceException("pack file " + file + " is corrupt (" + ex.getMessage() + ")", ex);
        }
        catch (final IOException ex)
        {
            throw new TraceException("cannot read pack " + file + ": " + Queues.oneLine(ex), ex);
        }
        catch (final TraceException ex)
        {
            throw ex;
        }
        catch (final RuntimeException ex)
        {
            throw new TraceException("cannot unpack " + file + ": " + Queues.oneLine(ex), ex);
        }
    }
}
