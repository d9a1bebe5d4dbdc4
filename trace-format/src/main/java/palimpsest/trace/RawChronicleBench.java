package palimpsest.trace;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * How fast Chronicle itself takes the same bytes, raw: one excerpt per event (of the average encoded
 * event size) versus one excerpt per chunk. This is the ceiling a recorder could reach with each
 * layout, for {@code pal bench}. Prints nothing; returns events per second. Timings are whatever the
 * machine gives: nothing here asserts on them.
 */
public final class RawChronicleBench
{
    static
    {
        System.setProperty("chronicle.analytics.disable", "true");
        Queues.init();
    }

    private RawChronicleBench()
    {
    }

    /** Events per second of both layouts, for the same events and bytes. */
    public static final class Result
    {
        private final long events;
        private final int bytesPerEvent;
        private final int eventsPerChunk;
        private final double perEventExcerpt;
        private final double perChunkExcerpt;

        Result(final long events, final int bytesPerEvent, final int eventsPerChunk, final double perEventExcerpt,
            final double perChunkExcerpt)
        {
            this.events = events;
            this.bytesPerEvent = bytesPerEvent;
            this.eventsPerChunk = eventsPerChunk;
            this.perEventExcerpt = perEventExcerpt;
            this.perChunkExcerpt = perChunkExcerpt;
        }

        public long events()
        {
            return events;
        }

        public int bytesPerEvent()
        {
            return bytesPerEvent;
        }

        public int eventsPerChunk()
        {
            return eventsPerChunk;
        }

        /** Events/s appending one excerpt of bytesPerEvent bytes per event. */
        public double excerptPerEventRate()
        {
            return perEventExcerpt;
        }

        /** Events/s appending one excerpt per chunk of eventsPerChunk events. */
        public double excerptPerChunkRate()
        {
            return perChunkExcerpt;
        }

        @Override
        public String toString()
        {
            return String.format("%d events of %d bytes: one excerpt per event %.2f M events/s, " +
                "one excerpt per %d-event chunk %.2f M events/s", events, bytesPerEvent, perEventExcerpt / 1e6,
                eventsPerChunk, perChunkExcerpt / 1e6);
        }
    }

    /**
     * Measures both layouts with the bytes of one encoded chunk.
     *
     * @param workDir     where to create (and afterwards delete) the temporary queues.
     * @param chunk       encoded chunk payload (for example {@link ChunkEncoder#buffer()} from
     *                    {@link TraceFormat#CHUNK_HEADER_LENGTH}).
     * @param offset      start of the payload in chunk.
     * @param length      payload length.
     * @param chunkEvents how many events the payload holds.
     * @param events      how many events to append in each layout.
     */
    public static Result run(final Path workDir, final byte[] chunk, final int offset, final int length,
        final int chunkEvents, final long events)
    {
        if (chunkEvents <= 0 || length <= 0 || events <= 0)
        {
            throw new IllegalArgumentException("nothing to measure");
        }
        final int perEvent = Math.max(1, Math.round((float)length / chunkEvents));
        final double a = perEventExcerpts(workDir, chunk, offset, length, perEvent, events);
        final double b = perChunkExcerpts(workDir, chunk, offset, length, chunkEvents, events);
        return new Result(events, perEvent, chunkEvents, a, b);
    }

    /** Same, with a chunk of the {@link SyntheticTrace} stream. */
    public static Result run(final Path workDir, final long events)
    {
        final ChunkEncoder enc = new ChunkEncoder();
        final SyntheticTrace synthetic = new SyntheticTrace(1, 4);
        while (!enc.isFull())
        {
            synthetic.generate(enc, 1);
        }
        return run(workDir, enc.buffer(), TraceFormat.CHUNK_HEADER_LENGTH, enc.payloadLength(), enc.count(), events);
    }

    /** Events/s appending one excerpt of bytesPerEvent bytes (cut from chunk) per event. */
    public static double perEventExcerpts(final Path workDir, final byte[] chunk, final int offset, final int length,
        final int bytesPerEvent, final long events)
    {
        final Path dir = tempQueue(workDir);
        try (SingleChronicleQueue q = Queues.createWritable(dir))
        {
            final ExcerptAppender appender = q.createAppender();
            int at = 0;
            final long start = System.nanoTime();
            for (long i = 0; i < events; i++)
            {
                if (at + bytesPerEvent > length)
                {
                    at = 0;
                }
                try (DocumentContext dc = appender.writingDocument())
                {
                    dc.wire().bytes().write(chunk, offset + at, Math.min(bytesPerEvent, length));
                }
                at += bytesPerEvent;
            }
            final long nanos = System.nanoTime() - start;
            return events * 1e9 / Math.max(1, nanos);
        }
        finally
        {
            delete(dir);
        }
    }

    /** Events/s appending the whole chunk as one excerpt per chunkEvents events. */
    public static double perChunkExcerpts(final Path workDir, final byte[] chunk, final int offset, final int length,
        final int chunkEvents, final long events)
    {
        final Path dir = tempQueue(workDir);
        try (SingleChronicleQueue q = Queues.createWritable(dir))
        {
            final ExcerptAppender appender = q.createAppender();
            final long chunks = (events + chunkEvents - 1) / chunkEvents;
            final long start = System.nanoTime();
            for (long i = 0; i < chunks; i++)
            {
                try (DocumentContext dc = appender.writingDocument())
                {
                    dc.wire().bytes().write(chunk, offset, length);
                }
            }
            final long nanos = System.nanoTime() - start;
            return chunks * (double)chunkEvents * 1e9 / Math.max(1, nanos);
        }
        finally
        {
            delete(dir);
        }
    }

    private static Path tempQueue(final Path workDir)
    {
        try
        {
            Files.createDirectories(workDir);
            return Files.createTempDirectory(workDir, "raw-chronicle-bench");
        }
        catch (final IOException ex)
        {
            throw new TraceException("cannot create a temporary queue in " + workDir + ": " + ex.getMessage(), ex);
        }
    }

    private static void delete(final Path dir)
    {
        try (Stream<Path> s = Files.walk(dir))
        {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        catch (final IOException ignore)
        {
            // Best effort.
        }
    }

    /** {@code RawChronicleBench [events] [workDir]}. */
    public static void main(final String[] args) throws IOException
    {
        final long events = args.length > 0 ? Long.parseLong(args[0]) : 10_000_000L;
        final Path work = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("pal-bench");
        System.out.println(run(work, events));
    }
}
