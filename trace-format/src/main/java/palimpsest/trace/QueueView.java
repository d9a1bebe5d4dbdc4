package palimpsest.trace;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;

/**
 * A trace's Chronicle queue opened read-only so that nothing is ever read through a memory map beyond
 * the end of a file. Chronicle maps its files; a file cut shorter than its excerpts (a truncated copy,
 * a full disk, {@code truncate -s}) makes a mapped read fault, which the JVM reports later, in
 * whatever code runs next, as an {@code InternalError}: that cannot be caught reliably at the read.
 *
 * <p>So before Chronicle sees the queue, every cycle file's excerpt headers are walked with plain file
 * reads (4 bytes per excerpt). If an excerpt runs past the end of its file, Chronicle is given a
 * private copy instead (a {@link TempDirs} directory, removed on {@link #close}): the bytes before
 * that excerpt, then zeros, which Chronicle reads as "no more excerpts". {@link #cut()} tells the
 * reader where its data stops and why.
 */
final class QueueView implements AutoCloseable
{
    /** Chronicle header word: bit 31 "not complete", bit 30 "metadata", the rest the length. */
    private static final int NOT_COMPLETE = 0x80000000;
    private static final int META_DATA = 0x40000000;
    private static final int LENGTH_MASK = 0x3FFFFFFF;
    /** Longer than any excerpt we write (a chunk is ~32 KiB, an index array 256 KiB): a damaged length. */
    static final int PLAUSIBLE_EXCERPT = 4 << 20;
    /** Chronicle's table store file is this long when written; a shorter one is given zeros after its end. */
    private static final long TABLE_STORE_LENGTH = 128 << 10;

    /** Where a cycle file stops holding whole excerpts. */
    static final class Cut
    {
        final String file;
        final long fileSize;
        final long position;
        final long claimed;
        /** Data excerpts (header, chunks, end) wholly inside the file before the cut. */
        final long excerptsBefore;
        /**
         * Not past the end of the file: an excerpt marked unfinished (Chronicle stops reading there)
         * with written excerpts after it, which a killed writer never leaves.
         */
        final boolean stuck;

        Cut(final String file, final long fileSize, final long position, final long claimed, final long excerptsBefore,
            final boolean stuck)
        {
            this.file = file;
            this.fileSize = fileSize;
            this.position = position;
            this.claimed = claimed;
            this.excerptsBefore = excerptsBefore;
            this.stuck = stuck;
        }

        /** A plausible excerpt the file ends inside: the file was cut short. Otherwise the length word is damaged. */
        boolean truncated()
        {
            return !stuck && claimed <= PLAUSIBLE_EXCERPT;
        }

        String describe()
        {
            if (stuck)
            {
                return "its header at byte " + position + " of " + file + " is marked unfinished but excerpts follow it";
            }
            return truncated() ?
                file + " ends at byte " + fileSize + ", inside that excerpt (cut short)" :
                "its length word (" + claimed + " bytes at byte " + position + " of " + file + ") runs past the end of the file";
        }
    }

    final SingleChronicleQueue queue;
    private final Path copy;
    private final Cut cut;

    private QueueView(final SingleChronicleQueue queue, final Path copy, final Cut cut)
    {
        this.queue = queue;
        this.copy = copy;
        this.cut = cut;
    }

    /** Null when every file holds whole excerpts only. */
    Cut cut()
    {
        return cut;
    }

    static QueueView open(final Path dir)
    {
        Queues.checkQueueDir(dir);
        final List<Path> cycles = new ArrayList<>();
        Path tableStore = null;
        try (Stream<Path> s = Files.list(dir))
        {
            for (final Path p : (Iterable<Path>)s.sorted()::iterator)
            {
                final String n = p.getFileName().toString();
                if (n.endsWith(".cq4") && Files.isRegularFile(p))
                {
                    cycles.add(p);
                }
                else if (n.endsWith(".cq4t") && Files.isRegularFile(p))
                {
                    tableStore = p;
                }
            }
        }
        catch (final IOException ex)
        {
            throw new TraceException("cannot read trace directory " + dir + ": " + ex.getMessage(), ex);
        }
        Cut cut = null;
        Path copy = null;
        try
        {
            final List<Cut> cuts = new ArrayList<>();
            for (final Path c : cycles)
            {
                final Cut k = scan(c);
                if (k != null && k.stuck)
                {
                    cut = cut == null ? k : cut; // nothing past the end of a file: no copy needed
                }
                else if (k != null)
                {
                    cuts.add(k);
                }
            }
            final boolean shortTable = tableStore != null && Files.size(tableStore) < TABLE_STORE_LENGTH;
            if (!cuts.isEmpty() || shortTable)
            {
                cut = cuts.isEmpty() ? cut : cuts.get(0);
                copy = TempDirs.create("pal-read-");
                for (final Path c : cycles)
                {
                    Cut k = null;
                    for (final Cut x : cuts)
                    {
                        k = x.file.equals(c.getFileName().toString()) ? x : k;
                    }
                    copyPrefix(c, copy.resolve(c.getFileName()), k == null ? Files.size(c) : k.position,
                        k == null ? Files.size(c) : roundUp(k.position + 1, 64L << 20) + (16L << 20));
                }
                if (tableStore != null)
                {
                    final long n = Files.size(tableStore);
                    copyPrefix(tableStore, copy.resolve(tableStore.getFileName()), n, Math.max(n, TABLE_STORE_LENGTH));
                }
            }
            final SingleChronicleQueue q = Queues.openReadOnly(copy == null ? dir : copy);
            return new QueueView(q, copy, cut);
        }
        catch (final IOException ex)
        {
            TempDirs.delete(copy);
            throw new TraceException("cannot read trace " + dir + ": " + Queues.oneLine(ex), ex);
        }
        catch (final RuntimeException | InternalError ex)
        {
            TempDirs.delete(copy);
            throw ex;
        }
    }

    private static long roundUp(final long v, final long to)
    {
        return (v + to - 1) / to * to;
    }

    /** Walks the excerpt headers of one cycle file; null if every excerpt is inside the file. */
    static Cut scan(final Path file) throws IOException
    {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ))
        {
            final long size = ch.size();
            final ByteBuffer word = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            long pos = 0;
            long data = 0;
            while (true)
            {
                if (pos + 4 > size)
                {
                    return new Cut(file.getFileName().toString(), size, pos, 0, data, false);
                }
                word.clear();
                while (word.hasRemaining())
                {
                    if (ch.read(word, pos + word.position()) < 0)
                    {
                        return new Cut(file.getFileName().toString(), size, pos, 0, data, false);
                    }
                }
                final int h = word.getInt(0);
                if (h == 0)
                {
                    return null; // the end of what was written
                }
                if ((h & NOT_COMPLETE) != 0)
                {
                    // Being written (a live or killed writer): the end, unless a written excerpt follows.
                    final long next = (pos + 4 + (h & LENGTH_MASK) + 3) & ~3L;
                    word.clear();
                    final boolean more = (h & LENGTH_MASK) != 0 && next + 4 <= size && ch.read(word, next) == 4 &&
                        word.getInt(0) != 0 && (word.getInt(0) & NOT_COMPLETE) == 0;
                    return more ? new Cut(file.getFileName().toString(), size, pos, h & LENGTH_MASK, data, true) : null;
                }
                final long len = h & LENGTH_MASK;
                if (pos + 4 + len > size)
                {
                    return new Cut(file.getFileName().toString(), size, pos, len, data, false);
                }
                if ((h & META_DATA) == 0)
                {
                    data++;
                }
                pos = (pos + 4 + len + 3) & ~3L;
            }
        }
    }

    /** Copies the first n bytes of from into a new file to, then extends it with zeros (sparse) to length. */
    private static void copyPrefix(final Path from, final Path to, final long n, final long length) throws IOException
    {
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE))
        {
            long done = 0;
            while (done < n)
            {
                final long k = in.transferTo(done, n - done, out);
                if (k <= 0)
                {
                    break;
                }
                done += k;
            }
        }
        try (RandomAccessFile f = new RandomAccessFile(to.toFile(), "rw"))
        {
            f.setLength(length);
        }
    }

    @Override
    public void close()
    {
        try
        {
            queue.close();
        }
        catch (final RuntimeException ignore)
        {
            // Closing after a failure.
        }
        finally
        {
            TempDirs.delete(copy);
        }
    }
}
