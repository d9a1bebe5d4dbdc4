package palimpsest.trace;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import net.openhft.chronicle.core.time.TimeProvider;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.rollcycles.LargeRollCycles;

/**
 * How this module opens Chronicle queues. Its static initializer turns Chronicle analytics off before
 * any Chronicle class is initialized (every class that opens queues goes through here).
 */
final class Queues
{
    static
    {
        System.setProperty("chronicle.analytics.disable", "true");
    }

    /**
     * One cycle holds up to 137 G excerpts (a chunk is one excerpt), with 32768 x 32768 index entries
     * spaced 128 apart. With the fixed clock below every trace is the single cycle file 19700101L.cq4.
     */
    static final RollCycle ROLL_CYCLE = LargeRollCycles.LARGE_DAILY;

    /** Chronicle's clock: always the epoch, so file names and cycle numbers never depend on the wall clock. */
    static final TimeProvider FIXED_CLOCK = new FixedClock();

    /** How long a reader waits on a half-created cycle file (killed writer) before giving up. */
    static final long READ_TIMEOUT_MS = 500;

    private Queues()
    {
    }

    static void init()
    {
        // Forces the static initializer.
    }

    static SingleChronicleQueue createWritable(final Path dir)
    {
        return SingleChronicleQueueBuilder.single(dir.toFile())
            .rollCycle(ROLL_CYCLE)
            .timeProvider(FIXED_CLOCK)
            .build();
    }

    static SingleChronicleQueue openReadOnly(final Path dir)
    {
        return SingleChronicleQueueBuilder.single(dir.toFile())
            .readOnly(true)
            .timeoutMS(READ_TIMEOUT_MS)
            .build();
    }

    /** A new trace goes into a directory that does not exist yet or is empty. */
    static void prepareEmptyDir(final Path dir)
    {
        try
        {
            if (Files.exists(dir))
            {
                if (!Files.isDirectory(dir))
                {
                    throw new TraceException("cannot create trace: " + dir + " is a file");
                }
                try (Stream<Path> s = Files.list(dir))
                {
                    if (s.findAny().isPresent())
                    {
                        throw new TraceException("cannot create trace: " + dir + " is not empty");
                    }
                }
            }
            else
            {
                Files.createDirectories(dir);
            }
        }
        catch (final IOException ex)
        {
            throw new TraceException("cannot create trace directory " + dir + ": " + ex.getMessage(), ex);
        }
    }

    /** Checks a directory looks like a Chronicle queue before Chronicle is let near it. */
    static void checkQueueDir(final Path dir)
    {
        if (!Files.exists(dir))
        {
            throw new TraceException("no such trace: " + dir);
        }
        if (!Files.isDirectory(dir))
        {
            throw new TraceException("not a trace: " + dir + " is a file, not a directory");
        }
        try (Stream<Path> s = Files.list(dir))
        {
            final List<Path> files = s.filter(Files::isRegularFile).collect(Collectors.toList());
            boolean cycles = false;
            for (final Path p : files)
            {
                final String name = p.getFileName().toString();
                if (name.endsWith(".cq4"))
                {
                    cycles = true;
                    checkStoreHeader(p, SCQ_STORE, true);
                }
                else if (name.endsWith(".cq4t"))
                {
                    checkStoreHeader(p, ST_STORE, false);
                }
            }
            if (!cycles)
            {
                throw new TraceException("not a Palimpsest trace: no Chronicle queue (.cq4 file) in " + dir);
            }
        }
        catch (final IOException ex)
        {
            throw new TraceException("cannot read trace directory " + dir + ": " + ex.getMessage(), ex);
        }
    }

    private static final byte[] HEADER_FIELD = {(byte)0xb9, 6, 'h', 'e', 'a', 'd', 'e', 'r'};
    private static final byte[] SCQ_STORE = "SCQStore".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ST_STORE = "STStore".getBytes(StandardCharsets.US_ASCII);

    /**
     * Chronicle's files start with a binary-wire metadata header: a 4-byte length word with the
     * metadata bit, then "header: !SCQStore" (cycle files) or "header: !STStore" (metadata.cq4t).
     * Checked here because Chronicle itself retries a foreign file for up to 10 s before failing. A
     * zeroed header (a writer killed while creating the file) is left to Chronicle, which reads it as
     * empty.
     */
    private static void checkStoreHeader(final Path file, final byte[] type, final boolean zeroAllowed)
        throws IOException
    {
        final byte[] b = new byte[32];
        final int n;
        try (java.io.InputStream in = Files.newInputStream(file))
        {
            n = in.readNBytes(b, 0, b.length);
        }
        boolean zero = true;
        for (int i = 0; i < n; i++)
        {
            zero &= b[i] == 0;
        }
        if (zero && zeroAllowed)
        {
            return;
        }
        final boolean ok = n == b.length && (b[3] & 0x40) != 0 &&
            Arrays.equals(b, 4, 4 + HEADER_FIELD.length, HEADER_FIELD, 0, HEADER_FIELD.length) &&
            Arrays.equals(b, 14, 14 + type.length, type, 0, type.length);
        if (!ok)
        {
            throw new TraceException("not a Palimpsest trace: " + file + " is not a Chronicle queue file");
        }
    }

    static String oneLine(final Throwable t)
    {
        final String m = t.getMessage();
        final String s = t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
        final int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static final class FixedClock implements TimeProvider
    {
        @Override
        public long currentTimeMillis()
        {
            return 0;
        }

        @Override
        public long currentTimeMicros()
        {
            return 0;
        }

        @Override
        public long currentTimeNanos()
        {
            return 0;
        }
    }
}
