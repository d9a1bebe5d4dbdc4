package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Things that are not traces: one-line TraceException, no hang. */
class ForeignDirTest
{
    @TempDir
    Path tmp;

    private String failure(final Path dir)
    {
        final TraceException ex = assertTimeoutPreemptively(Duration.ofSeconds(5),
            () -> assertThrows(TraceException.class, () -> TraceReader.open(dir).close()));
        final String m = ex.getMessage();
        assertFalse(m.contains("\n"), "one line: " + m);
        return m;
    }

    @Test
    void missingPath()
    {
        assertEquals("no such trace: " + tmp.resolve("nope"), failure(tmp.resolve("nope")));
    }

    @Test
    void regularFile() throws Exception
    {
        final Path f = Files.writeString(tmp.resolve("file.txt"), "hello");
        assertEquals("not a trace: " + f + " is a file, not a directory", failure(f));
    }

    @Test
    void emptyDirectory()
    {
        assertEquals("not a Palimpsest trace: no Chronicle queue (.cq4 file) in " + tmp, failure(tmp));
    }

    @Test
    void directoryOfRandomFiles() throws Exception
    {
        final Random r = new Random(1);
        for (final String name : new String[] {"a.txt", "data.bin", "notes.md"})
        {
            final byte[] b = new byte[1000 + r.nextInt(5000)];
            r.nextBytes(b);
            Files.write(tmp.resolve(name), b);
        }
        Files.createDirectory(tmp.resolve("sub"));
        assertEquals("not a Palimpsest trace: no Chronicle queue (.cq4 file) in " + tmp, failure(tmp));
    }

    @Test
    void garbageQueueFiles() throws Exception
    {
        final Random r = new Random(2);
        final byte[] b = new byte[1 << 16];
        r.nextBytes(b);
        Files.write(tmp.resolve("19700101L.cq4"), b);
        Files.write(tmp.resolve("metadata.cq4t"), b);
        final String m = failure(tmp);
        assertTrue(m.startsWith("not a Palimpsest trace: ") && m.endsWith(" is not a Chronicle queue file"), m);
    }

    @Test
    void garbageCycleFileNextToRealMetadata() throws Exception
    {
        final Path real = tmp.resolve("real");
        try (TraceWriter w = TraceWriter.create(real, TestEvents.header()))
        {
            w.event(EventKind.MARK, 0, 1, 2, 3, 4, 5);
        }
        final Path dir = Files.createDirectory(tmp.resolve("mixed"));
        Files.copy(real.resolve("metadata.cq4t"), dir.resolve("metadata.cq4t"));
        final byte[] b = new byte[1 << 16];
        new Random(3).nextBytes(b);
        Files.write(dir.resolve("19700101L.cq4"), b);
        assertEquals("not a Palimpsest trace: " + dir.resolve("19700101L.cq4") + " is not a Chronicle queue file",
            failure(dir));
    }

    @Test
    void zeroFilledQueueFile() throws Exception
    {
        Files.write(tmp.resolve("19700101L.cq4"), new byte[1 << 20]);
        final String m = failure(tmp);
        System.out.println("zero-filled queue: " + m);
    }

    @Test
    void someoneElsesChronicleQueue()
    {
        try (ChronicleQueue q = ChronicleQueue.singleBuilder(tmp).build())
        {
            final ExcerptAppender a = q.createAppender();
            try (DocumentContext dc = a.writingDocument())
            {
                dc.wire().write("price").float64(1.5);
            }
        }
        assertEquals("not a Palimpsest trace: " + tmp +
            " is a Chronicle queue whose first excerpt is not a trace header", failure(tmp));
    }

    @Test
    void emptyChronicleQueue()
    {
        try (ChronicleQueue q = ChronicleQueue.singleBuilder(tmp).build())
        {
            q.createAppender().normaliseEOFs();
        }
        if (!Files.exists(tmp.resolve("19700101L.cq4")))
        {
            // No cycle file was created at all: same as an empty directory.
            failure(tmp);
            return;
        }
        System.out.println("empty queue: " + failure(tmp));
    }

    @Test
    void newerFormatVersion()
    {
        final byte[] h = TestEvents.header().encode();
        Bits.putShort(h, 8, TraceFormat.VERSION + 1);
        try (ChronicleQueue q = ChronicleQueue.singleBuilder(tmp).build())
        {
            try (DocumentContext dc = q.createAppender().writingDocument())
            {
                dc.wire().bytes().write(h);
            }
        }
        assertEquals(tmp + " was written by trace format v" + (TraceFormat.VERSION + 1) + ", this pal reads up to v" +
            TraceFormat.VERSION + "; upgrade pal", failure(tmp));
    }

    @Test
    void headerCutShort()
    {
        final byte[] h = TestEvents.header().encode();
        try (ChronicleQueue q = ChronicleQueue.singleBuilder(tmp).build())
        {
            try (DocumentContext dc = q.createAppender().writingDocument())
            {
                dc.wire().bytes().write(h, 0, h.length - 3);
            }
        }
        assertEquals(tmp + ": trace damaged: header digest mismatch (the header's bytes changed after it was written): " +
            "what was recorded cannot be trusted", failure(tmp));
    }

    @Test
    void writerRefusesANonEmptyDirectory() throws Exception
    {
        Files.writeString(tmp.resolve("x"), "x");
        final TraceException ex = assertThrows(TraceException.class, () -> TraceWriter.create(tmp, TestEvents.header()));
        assertEquals("cannot create trace: " + tmp + " is not empty", ex.getMessage());
    }
}
