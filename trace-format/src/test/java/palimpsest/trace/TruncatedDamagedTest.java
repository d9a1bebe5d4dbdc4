package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TruncatedDamagedTest
{
    @TempDir
    Path tmp;

    private static long readAll(final TraceReader r)
    {
        final Event e = new Event();
        long n = 0;
        while (r.next(e))
        {
            assertEquals(n, e.index());
            n++;
        }
        return n;
    }

    /** The writer flushed some chunks and then "crashed": no end record, pending events lost. */
    @Test
    void abandonedWriterIsTruncatedAndEveryWholeChunkReads()
    {
        final long flushed;
        final TraceWriter w = TraceWriter.create(tmp, TestEvents.header());
        final SyntheticTrace gen = new SyntheticTrace(3, 4);
        gen.generate(w, 40_000);
        w.flush();
        flushed = w.events();
        final long chunks = w.chunks();
        gen.generate(w, 1000); // buffered, never appended
        w.abandon();

        try (TraceReader r = TraceReader.open(tmp))
        {
            assertEquals(flushed, readAll(r));
            assertEquals(TraceStatus.TRUNCATED, r.status());
            assertNull(r.end());
            assertEquals("trace truncated at chunk " + chunks + ": no end record (recording did not finish); read " + flushed +
                " events in " + chunks + " whole chunks", r.statusMessage());
        }
        try (TraceReader r = TraceReader.open(tmp))
        {
            assertEquals(TraceStatus.TRUNCATED, r.verify());
        }
    }

    /** A writer that is simply dropped (not closed) and read while its queue is still mapped. */
    @Test
    void droppedWriterReadsAsTruncated()
    {
        final TraceWriter w = TraceWriter.create(tmp, TestEvents.header());
        new SyntheticTrace(4, 2).generate(w, 30_000);
        w.flush();
        try (TraceReader r = TraceReader.open(tmp))
        {
            assertEquals(w.events(), readAll(r));
            assertEquals(TraceStatus.TRUNCATED, r.status());
        }
        w.abandon();
    }

    /** A real process halted mid-append: the last excerpt header is still marked as being written. */
    @Test
    void processKilledMidWriteReadsToTheLastWholeChunk() throws Exception
    {
        final String out = TraceChild.run("crash", tmp.toString(), "60000");
        final String line = out.lines().filter(l -> l.startsWith("chunks=")).findFirst().orElseThrow(
            () -> new AssertionError("child output: " + out));
        final long chunks = Long.parseLong(line.substring(7, line.indexOf(' ')));
        final long events = Long.parseLong(line.substring(line.indexOf("events=") + 7).trim());
        final long t0 = System.nanoTime();
        try (TraceReader r = TraceReader.open(tmp))
        {
            assertEquals(events, readAll(r));
            assertEquals(TraceStatus.TRUNCATED, r.status(), r.statusMessage());
            assertEquals(chunks, r.chunksVerified());
        }
        try (TraceReader r = TraceReader.open(tmp))
        {
            assertEquals(TraceStatus.TRUNCATED, r.verify());
            final Event e = new Event();
            assertTrue(r.seek(events - 1));
            assertTrue(r.next(e));
            assertEquals(events - 1, e.index());
            assertFalse(r.next(e));
        }
        System.out.printf("killed writer: %d events in %d chunks read back in %.0f ms%n", events, chunks,
            (System.nanoTime() - t0) / 1e6);
    }

    /** One byte flipped inside a chunk's payload on disk. */
    @Test
    void corruptedChunkIsDamagedAndEarlierEventsRead() throws Exception
    {
        final long digestBefore;
        try (TraceWriter w = TraceWriter.create(tmp, TestEvents.header()))
        {
            new SyntheticTrace(8, 4).generate(w, 60_000);
            w.close();
            digestBefore = w.digest();
        }
        // Find chunk 3 in the queue file by its bytes, and flip one byte of its payload.
        final List<byte[]> excerpts = DeterminismTest.excerpts(tmp);
        final byte[] chunk3 = excerpts.get(4);
        final long first = java.nio.ByteBuffer.wrap(chunk3).order(java.nio.ByteOrder.LITTLE_ENDIAN)
            .getLong(TraceFormat.CH_FIRST_INDEX);
        final Path file = tmp.resolve("19700101L.cq4");
        final byte[] data = Files.readAllBytes(file);
        final int at = indexOf(data, java.util.Arrays.copyOf(chunk3, 64));
        assertTrue(at > 0, "chunk 3 found in the file");
        try (FileChannel ch = FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE))
        {
            final int pos = at + TraceFormat.CHUNK_HEADER_LENGTH + 100;
            ch.write(ByteBuffer.wrap(new byte[] {(byte)(data[pos] ^ 0x10)}), pos);
        }

        try (TraceReader r = TraceReader.open(tmp))
        {
            assertEquals(first, readAll(r), "every event before chunk 3");
            assertEquals(TraceStatus.DAMAGED, r.status());
            assertEquals("trace damaged: chunk 3 (events from " + first + ") fails its digest check; read " + first +
                " events in 3 whole chunks before it", r.statusMessage());
            assertFalse(r.statusMessage().contains("\n"));
        }
        try (TraceReader r = TraceReader.open(tmp))
        {
            assertEquals(TraceStatus.DAMAGED, r.verify());
            // Seeking past the damage: the chunk after it still reads (its digest chains from chunk 3's header).
            final Event e = new Event();
            final long later = first + 20_000;
            assertTrue(r.seek(later));
            assertTrue(r.next(e));
            assertEquals(later, e.index());
            // Seeking into the damaged chunk does not hand out any of its events.
            assertFalse(r.seek(first + 1));
            assertEquals(TraceStatus.DAMAGED, r.status());
        }
        assertTrue(digestBefore != 0);
    }

    /** An end record that does not match the chunks (e.g. one chunk lost) is damage too. */
    @Test
    void flippedEndRecordIsDamaged() throws Exception
    {
        final long events;
        try (TraceWriter w = TraceWriter.create(tmp, TestEvents.header()))
        {
            events = new SyntheticTrace(9, 2).generate(w, 10_000);
        }
        final List<byte[]> excerpts = DeterminismTest.excerpts(tmp);
        final byte[] end = excerpts.get(excerpts.size() - 1);
        final Path file = tmp.resolve("19700101L.cq4");
        final byte[] data = Files.readAllBytes(file);
        final int at = indexOf(data, end);
        assertTrue(at > 0);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.seek(at + TraceFormat.END_EVENTS);
            raf.write(data[at + TraceFormat.END_EVENTS] + 1);
        }
        try (TraceReader r = TraceReader.open(tmp))
        {
            assertEquals(events, readAll(r), "all events are still read");
            assertEquals(TraceStatus.DAMAGED, r.status());
            assertTrue(r.statusMessage().startsWith("trace damaged: end record digest mismatch"), r.statusMessage());
        }
    }

    /**
     * A chunk's Chronicle excerpt header overwritten: unfinished (working bit, as a killed writer leaves
     * it), zero, too short, metadata, or a length far past the end of the file. With excerpts after it,
     * that is damage; the chunks before it are all read, and nothing throws.
     */
    @Test
    void brokenExcerptHeaderInTheMiddle() throws Exception
    {
        final int[] headers = {0x80000000 | 100, 0xC0000000, 0, 5, 0x40000000 | 8, 0x3FFFFFFF};
        for (int v = 0; v < headers.length; v++)
        {
            final Path dir = tmp.resolve("t" + v);
            try (TraceWriter w = TraceWriter.create(dir, TestEvents.header()))
            {
                new SyntheticTrace(8, 4).generate(w, 60_000);
            }
            final byte[] chunk3 = DeterminismTest.excerpts(dir).get(4);
            final long first = ByteBuffer.wrap(chunk3).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .getLong(TraceFormat.CH_FIRST_INDEX);
            final Path file = dir.resolve("19700101L.cq4");
            final int at = indexOf(Files.readAllBytes(file), java.util.Arrays.copyOf(chunk3, 64));
            try (FileChannel ch = FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE))
            {
                ch.write(ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, headers[v]), at - 4);
            }
            try (TraceReader r = TraceReader.open(dir))
            {
                assertEquals(first, readAll(r), "header " + Integer.toHexString(headers[v]));
                assertEquals(TraceStatus.DAMAGED, r.status(), r.statusMessage());
                assertTrue(r.statusMessage().startsWith("trace damaged: ") &&
                    r.statusMessage().endsWith("read " + first + " events in 3 whole chunks before it"),
                    r.statusMessage());
                System.out.printf("excerpt header %08x: %s%n", headers[v], r.statusMessage());
            }
        }
    }

    static int indexOf(final byte[] data, final byte[] pattern)
    {
        outer:
        for (int i = 0; i <= data.length - pattern.length; i++)
        {
            for (int j = 0; j < pattern.length; j++)
            {
                if (data[i + j] != pattern[j])
                {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
