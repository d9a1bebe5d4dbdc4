package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeterminismTest
{
    @TempDir
    Path tmp;

    static long write(final Path dir, final long seed, final long events)
    {
        try (TraceWriter w = TraceWriter.create(dir, TestEvents.header()))
        {
            new SyntheticTrace(seed, 4).generate(w, events);
            w.close(0, "ok");
            return w.digest();
        }
    }

    /** Every excerpt's bytes, through Chronicle's own API. */
    static List<byte[]> excerpts(final Path dir)
    {
        final List<byte[]> out = new ArrayList<>();
        try (ChronicleQueue q = ChronicleQueue.singleBuilder(dir).readOnly(true).build())
        {
            final ExcerptTailer t = q.createTailer();
            while (true)
            {
                try (DocumentContext dc = t.readingDocument())
                {
                    if (!dc.isPresent())
                    {
                        break;
                    }
                    final Bytes<?> b = dc.wire().bytes();
                    final byte[] a = new byte[(int)b.readRemaining()];
                    b.read(a);
                    out.add(a);
                }
            }
        }
        return out;
    }

    @Test
    void sameEventsGiveTheSameDigestAndExcerpts() throws IOException
    {
        final Path a = tmp.resolve("a");
        final Path b = tmp.resolve("b");
        final long da = write(a, 5, 300_000);
        final long db = write(b, 5, 300_000);
        assertEquals(da, db, "digest");
        assertNotEquals(da, write(tmp.resolve("c"), 6, 300_000), "other events, other digest");

        final List<byte[]> ea = excerpts(a);
        final List<byte[]> eb = excerpts(b);
        assertEquals(ea.size(), eb.size());
        for (int i = 0; i < ea.size(); i++)
        {
            assertArrayEquals(ea.get(i), eb.get(i), "excerpt " + i);
        }

        // The queue files themselves (see README, "Determinism").
        final List<String> names = list(a);
        assertEquals(names, list(b), "file names");
        assertEquals(List.of("19700101L.cq4", "metadata.cq4t"), names);
        for (final String name : names)
        {
            final byte[] fa = Files.readAllBytes(a.resolve(name));
            final byte[] fb = Files.readAllBytes(b.resolve(name));
            final int mismatch = Arrays.mismatch(fa, fb);
            System.out.printf("%s: %d bytes, %s%n", name, fa.length,
                mismatch < 0 ? "byte-identical" : "first difference at offset " + mismatch);
            assertEquals(-1, mismatch, name + " differs at offset " + mismatch);
        }
    }

    /** Two separate JVMs (other pids, other times) writing the same events: the same files. */
    @Test
    void sameFilesFromSeparateProcesses() throws Exception
    {
        final Path a = tmp.resolve("pa");
        final Path b = tmp.resolve("pb");
        TraceChild.run("write", a.toString(), "100000");
        Thread.sleep(1100);
        TraceChild.run("write", b.toString(), "100000");
        for (final String name : list(a))
        {
            final int mismatch = Arrays.mismatch(Files.readAllBytes(a.resolve(name)), Files.readAllBytes(b.resolve(name)));
            System.out.printf("separate processes, %s: %s%n", name,
                mismatch < 0 ? "byte-identical" : "first difference at offset " + mismatch);
            assertEquals(-1, mismatch, name + " differs at offset " + mismatch);
        }
        assertEquals(list(a), list(b));
    }

    private static List<String> list(final Path dir) throws IOException
    {
        try (Stream<Path> s = Files.list(dir))
        {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }
}
