package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link TraceSeeker} reads what {@link TraceReader} reads, event for event, without Chronicle; and
 * whatever it does not expect (a chunk changed behind a table that still looks fresh, a table that
 * lies) hands over to the reader, so answers and damage are the reader's.
 */
class TraceSeekerTest
{
    @TempDir
    Path tmp;

    private final List<Event> all = new ArrayList<>();

    @BeforeEach
    void write()
    {
        try (TraceWriter w = TraceWriter.create(tmp, TestEvents.header()))
        {
            new SyntheticTrace(5, 4).generate(w, 80_000);
        }
        try (TraceReader r = TraceReader.open(tmp))
        {
            final Event e = new Event();
            while (r.next(e))
            {
                all.add(new Event().copyFrom(e));
            }
            assertEquals(TraceStatus.COMPLETE, r.status());
        }
        assertTrue(all.size() > 50_000);
    }

    @Test
    void readsAndSeeksAsTheReaderDoes()
    {
        try (TraceSeeker s = TraceSeeker.open(tmp))
        {
            assertNotNull(s);
            assertTrue(Files.isRegularFile(tmp.resolve(TraceSeeker.TABLE)), "the chunk table is kept beside the trace");
            assertEquals(all.size(), s.events());
            assertEquals(TraceReader.open(tmp).header().digest(), s.header().digest());
            expectFrom(s, 0, all.size());
            for (final long at : new long[] {0, 1, 4095, 4096, 4097, 77_777, all.size() / 2, all.size() - 1, 3})
            {
                assertTrue(s.seek(at), "seek " + at);
                expectFrom(s, at, Math.min(all.size(), at + 5000));
            }
            assertFalse(s.seek(all.size()), "no event at the end");
        }
        // The table on disk is used again (same fingerprint), with the same answers.
        try (TraceSeeker s = TraceSeeker.open(tmp))
        {
            assertTrue(s.seek(all.size() - 10));
            expectFrom(s, all.size() - 10, all.size());
            final Event e = new Event();
            assertFalse(s.next(e), "nothing after the last event");
        }
    }

    @Test
    void aChunkChangedBehindAFreshTableIsTheReadersDamage() throws IOException
    {
        try (TraceSeeker s = TraceSeeker.open(tmp))
        {
            assertNotNull(s);
        }
        final Path cycle = cycle();
        final FileTime mtime = Files.getLastModifiedTime(cycle);
        // A byte inside the payload of the middle chunk (where the table says it is), the file's time put
        // back: the table still looks fresh.
        final java.nio.ByteBuffer t = java.nio.ByteBuffer.wrap(Files.readAllBytes(tmp.resolve(TraceSeeker.TABLE)))
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        final int rows = t.getInt(12);
        assertTrue(rows >= 3, "several chunks: " + rows);
        final long at = t.getLong(40 + rows / 2 * 32 + 8) + TraceFormat.CHUNK_HEADER_LENGTH + 100;
        try (RandomAccessFile f = new RandomAccessFile(cycle.toFile(), "rw"))
        {
            f.seek(at);
            final int b = f.read();
            f.seek(at);
            f.write(b ^ 0x5a);
        }
        Files.setLastModifiedTime(cycle, mtime);
        final long readable;
        try (TraceReader r = TraceReader.open(tmp))
        {
            final Event e = new Event();
            long n = 0;
            while (r.next(e))
            {
                n++;
            }
            assertEquals(TraceStatus.DAMAGED, r.status());
            readable = n;
        }
        try (EventCursor s = TraceSeeker.cursor(tmp))
        {
            assertTrue(s instanceof TraceSeeker);
            assertTrue(s.seek(readable - 3));
            expectFrom(s, readable - 3, readable);
            final Event e = new Event();
            assertFalse(s.next(e), "the damaged chunk is never handed out");
            assertFalse(s.seek(readable + 10), "nor any event after it");
        }
    }

    @Test
    void aTableThatLiesIsNotBelieved() throws IOException
    {
        try (TraceSeeker s = TraceSeeker.open(tmp))
        {
            assertNotNull(s);
        }
        // Every row's file offset moved by 4 bytes, the header (and its fingerprint) kept.
        final Path table = tmp.resolve(TraceSeeker.TABLE);
        final byte[] b = Files.readAllBytes(table);
        for (int row = 40; row + 32 <= b.length; row += 32)
        {
            b[row + 8] += 4;
        }
        Files.write(table, b);
        try (TraceSeeker s = TraceSeeker.open(tmp))
        {
            assertTrue(s.seek(12_345));
            expectFrom(s, 12_345, 20_000);
        }
    }

    private void expectFrom(final EventCursor s, final long from, final long to)
    {
        final Event e = new Event();
        for (long i = from; i < to; i++)
        {
            assertTrue(s.next(e), "event " + i);
            assertEquals(i, e.index());
            assertTrue(all.get((int)i).sameAs(e), "event " + i + ": " + e + " vs " + all.get((int)i));
        }
    }

    private Path cycle() throws IOException
    {
        try (Stream<Path> s = Files.list(tmp))
        {
            return s.filter(p -> p.toString().endsWith(".cq4")).findFirst().orElseThrow();
        }
    }
}
