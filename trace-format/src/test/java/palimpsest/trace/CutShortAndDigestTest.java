package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files cut short read to their last whole chunk without a fault (QueueView), and the header, the
 * chunk headers and the end record are all covered by digests (format 2).
 */
class CutShortAndDigestTest
{
    @TempDir
    Path tmp;

    /** Writes a trace of 5 chunks into dir; returns the first event index of each chunk and the total. */
    private static long[] write(final Path dir)
    {
        final long[] firsts = new long[6];
        try (TraceWriter w = TraceWriter.create(dir, TestEvents.header()))
        {
            final SyntheticTrace gen = new SyntheticTrace(5, 4);
            for (int k = 0; k < 5; k++)
            {
                firsts[k] = w.events();
                gen.generate(w, 3000);
                w.flush();
            }
            firsts[5] = w.events();
        }
        return firsts;
    }

    private static long readAll(final TraceReader r)
    {
        final Event e = new Event();
        long n = 0;
        while (r.next(e))
        {
            n++;
        }
        return n;
    }

    /** Positions of the data excerpts (header, chunks, end record) in the cycle file. */
    private static List<Long> positions(final Path dir) throws IOException
    {
        final List<Long> out = new ArrayList<>();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("19700101L.cq4").toFile(), "r"))
        {
            long pos = 0;
            while (true)
            {
                f.seek(pos);
                final int h = Integer.reverseBytes(f.readInt());
                if (h == 0)
                {
                    return out;
                }
                if ((h & 0x40000000) == 0)
                {
                    out.add(pos);
                }
                pos = (pos + 4 + (h & 0x3FFFFFFF) + 3) & ~3L;
            }
        }
    }

    @Test
    void everyCutReadsTheChunksBeforeItAndSaysTruncatedAtThatChunk() throws IOException
    {
        final Path orig = tmp.resolve("orig");
        final long[] firsts = write(orig);
        final List<Long> at = positions(orig);
        assertEquals(7, at.size(), "header, 5 chunks, end record");
        for (int x = 1; x < at.size(); x++)
        {
            for (final long delta : new long[] {0, 2, 5, 41, 200})
            {
                if (x == at.size() - 1 && delta > 41)
                {
                    continue; // past the end record (4 + 44 bytes): the whole trace
                }
                final Path cut = tmp.resolve("cut" + x + "-" + delta);
                copy(orig, cut, at.get(x) + delta);
                final int chunk = x - 1; // excerpt x is chunk x-1 (or the end record after the last)
                try (TraceReader r = TraceReader.open(cut))
                {
                    assertEquals(firsts[chunk], readAll(r), "cut in excerpt " + x + " + " + delta);
                    assertEquals(TraceStatus.TRUNCATED, r.status(), r.statusMessage());
                    assertTrue(r.statusMessage().startsWith("trace truncated at chunk " + chunk + ": "), r.statusMessage());
                }
                assertTrue(TempDirs.live().isEmpty(), "the private copy is gone once the reader is closed");
            }
        }
    }

    @Test
    void aFlippedHeaderOrChunkHeaderFieldIsDamage() throws IOException
    {
        final Path orig = tmp.resolve("orig");
        write(orig);
        final List<Long> at = positions(orig);
        final Path h = tmp.resolve("h");
        copyFlipped(orig, h, at.get(0) + 4 + 20); // memory MiB
        final TraceException ex = assertThrows(TraceException.class, () -> TraceReader.open(h));
        assertTrue(ex.getMessage().contains("header digest mismatch"), ex.getMessage());

        final Path c = tmp.resolve("c");
        copyFlipped(orig, c, at.get(2) + 4 + TraceFormat.CH_INPUTS); // chunk 1's input count
        try (TraceReader r = TraceReader.open(c))
        {
            readAll(r);
            assertEquals(TraceStatus.DAMAGED, r.status());
            assertTrue(r.statusMessage().startsWith("trace damaged: chunk 1 "), r.statusMessage());
        }
    }

    private static void copyFlipped(final Path from, final Path to, final long at) throws IOException
    {
        copy(from, to, -1);
        try (RandomAccessFile f = new RandomAccessFile(to.resolve("19700101L.cq4").toFile(), "rw"))
        {
            f.seek(at);
            final int b = f.read();
            f.seek(at);
            f.write(b ^ 0x10);
        }
    }

    /**
     * Copies a trace: metadata.cq4t, and the cycle file's first length bytes (-1: its written part, then
     * zeros to the same size; the file is sparse and mostly preallocated zeros).
     */
    private static void copy(final Path from, final Path to, final long length) throws IOException
    {
        Files.createDirectories(to);
        Files.copy(from.resolve("metadata.cq4t"), to.resolve("metadata.cq4t"));
        final Path cq4 = from.resolve("19700101L.cq4");
        final long size = Files.size(cq4);
        final long n = length >= 0 ? length : Math.min(size, 4L << 20);
        try (java.nio.channels.FileChannel in = java.nio.channels.FileChannel.open(cq4);
            java.nio.channels.FileChannel out = java.nio.channels.FileChannel.open(to.resolve("19700101L.cq4"),
                java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE))
        {
            in.transferTo(0, n, out);
        }
        try (RandomAccessFile f = new RandomAccessFile(to.resolve("19700101L.cq4").toFile(), "rw"))
        {
            f.setLength(length >= 0 ? length : size);
        }
    }

    @Test
    void aFormatOneTraceIsRefusedWithReRecord()
    {
        final byte[] h = TestEvents.header().encode();
        final byte[] v1 = java.util.Arrays.copyOf(h, h.length - 8); // format 1 had no digest
        Bits.putShort(v1, 8, 1);
        try (ChronicleQueue q = ChronicleQueue.singleBuilder(tmp).build())
        {
            try (DocumentContext dc = q.createAppender().writingDocument())
            {
                dc.wire().bytes().write(v1, 0, v1.length);
            }
        }
        final TraceException ex = assertThrows(TraceException.class, () -> TraceReader.open(tmp));
        assertEquals("trace recorded by format 1: re-record it or use pal 0bda3ef (git commit, the last that reads it); "
            + "trace " + tmp, ex.getMessage());
    }

    @Test
    void aFormatTwoTraceIsRefusedWithReRecordOrTheLastPalThatReadsIt()
    {
        final byte[] h = TestEvents.header().encode();
        Bits.putShort(h, 8, 2);
        Bits.putLong(h, h.length - 8, Hash64.hash(h, 0, h.length - 8, TraceFormat.HEADER_DIGEST_SEED));
        try (ChronicleQueue q = ChronicleQueue.singleBuilder(tmp).build())
        {
            try (DocumentContext dc = q.createAppender().writingDocument())
            {
                dc.wire().bytes().write(h, 0, h.length);
            }
        }
        final TraceException ex = assertThrows(TraceException.class, () -> TraceReader.open(tmp));
        assertEquals("trace recorded by format 2: re-record it or use pal 35de8b3 (git commit, the last that reads it); "
            + "trace " + tmp, ex.getMessage());
    }
}
