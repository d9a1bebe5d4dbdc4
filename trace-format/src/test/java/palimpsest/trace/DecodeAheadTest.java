package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** DecodeAhead hands out exactly what TraceReader does, ends the same way, stops early, allocates nothing per event. */
class DecodeAheadTest
{
    @TempDir
    Path tmp;

    /** Reads dir with both readers side by side; every event field equal, same count, same end. */
    private static long compareWithReader(final Path dir, final DecodeAhead.Mode mode, final int batchEvents, final int batches)
    {
        return compare(dir, mode, 0, DecodeAhead.open(dir, mode, batchEvents, batches));
    }

    /** As {@link #compareWithReader}, decoding on threads threads at once. */
    private static long compareParallel(final Path dir, final int threads)
    {
        return compare(dir, DecodeAhead.Mode.ALL, 0, DecodeAhead.openParallel(dir, threads));
    }

    /** d against a reader sought to from (0: from the start); closes d. */
    private static long compare(final Path dir, final DecodeAhead.Mode mode, final long from, final DecodeAhead ahead)
    {
        long n = 0;
        try (TraceReader r = TraceReader.open(dir); DecodeAhead d = ahead)
        {
            if (from > 0)
            {
                assertTrue(r.seek(from));
            }
            assertEquals(r.header(), d.header());
            final Event e = new Event();
            while (mode == DecodeAhead.Mode.ALL ? r.next(e) : r.nextInput(e))
            {
                final Event a = d.next();
                assertNotNull(a, "decode-ahead ended early at event " + e.index());
                assertEquals(e.index(), a.index());
                assertTrue(e.sameAs(a), () -> "event " + e.index() + ": " + e + " vs " + a);
                assertEquals(TraceStatus.READING, d.status());
                n++;
            }
            assertNull(d.next(), "decode-ahead has more than the reader");
            assertNull(d.next(), "and stays at the end");
            assertEquals(r.status(), d.status());
            assertEquals(r.statusMessage(), d.statusMessage());
            assertEquals(r.end() == null, d.end() == null);
            if (r.end() != null)
            {
                assertEquals(r.end().totalEvents(), d.end().totalEvents());
                assertEquals(r.end().finalDigest(), d.end().finalDigest());
                assertEquals(r.end().outcomeMessage(), d.end().outcomeMessage());
            }
            assertEquals(r.eventsVerified(), d.eventsVerified());
            assertEquals(r.digest(), d.digest());
        }
        return n;
    }

    @Test
    void sameEventsAsTheReaderOnAMultiChunkTrace()
    {
        final long events;
        final long chunks;
        try (TraceWriter w = TraceWriter.create(tmp, TestEvents.header()))
        {
            new SyntheticTrace(11, 4).generate(w, 100_000);
            final TestEvents.Mixed mixed = new TestEvents.Mixed(5);
            for (int i = 0; i < 20_000; i++)
            {
                mixed.emit(w);
            }
            w.close();
            events = w.events();
            chunks = w.chunks();
        }
        assertTrue(chunks > 10, "chunks " + chunks);
        // Batch sizes that divide nothing evenly, one event per batch, and the defaults.
        assertEquals(events, compareWithReader(tmp, DecodeAhead.Mode.ALL, 1000, 2));
        assertEquals(events, compareWithReader(tmp, DecodeAhead.Mode.ALL, 1, 3));
        assertEquals(events, compareWithReader(tmp, DecodeAhead.Mode.ALL, DecodeAhead.DEFAULT_BATCH_EVENTS, DecodeAhead.DEFAULT_BATCHES));
        // Chunks decoded by 2 and 3 threads at once, handed out in order.
        assertEquals(events, compareParallel(tmp, 2));
        assertEquals(events, compareParallel(tmp, 3));
        // From an event in the middle of a chunk: every event, or every input, from there on.
        final long from = events / 3 + 17;
        assertEquals(events - from, compare(tmp, DecodeAhead.Mode.ALL, from, DecodeAhead.open(tmp, DecodeAhead.Mode.ALL, 1000, 2, from)));
        final long later = compare(tmp, DecodeAhead.Mode.INPUTS, from, DecodeAhead.open(tmp, DecodeAhead.Mode.INPUTS, 7, 2, from));
        assertTrue(later > 0, "inputs after event " + from);
        try (DecodeAhead d = DecodeAhead.open(tmp, DecodeAhead.Mode.INPUTS, 7, 2, events))
        {
            assertNull(d.next(), "nothing from past the last event");
        }
        try (DecodeAhead d = DecodeAhead.open(tmp))
        {
            assertEquals(TraceStatus.READING, d.status());
            long n = 0;
            while (d.next() != null)
            {
                n++;
            }
            assertEquals(events, n);
            assertEquals(TraceStatus.COMPLETE, d.status());
            assertNotNull(d.end());
            assertEquals(events, d.end().totalEvents());
        }
        final long inputs = compareWithReader(tmp, DecodeAhead.Mode.INPUTS, 7, 2);
        assertTrue(inputs > 0, "the mixed events include inputs");
    }

    @Test
    void truncatedTraceReadsItsWholeChunksAndSaysSo()
    {
        final TraceWriter w = TraceWriter.create(tmp, TestEvents.header());
        final SyntheticTrace gen = new SyntheticTrace(3, 4);
        gen.generate(w, 50_000);
        w.flush();
        final long flushed = w.events();
        final long chunks = w.chunks();
        gen.generate(w, 1000); // buffered, never appended
        w.abandon();
        assertEquals(flushed, compareWithReader(tmp, DecodeAhead.Mode.ALL, 4096, 4));
        assertEquals(flushed, compareParallel(tmp, 2));
        try (DecodeAhead d = DecodeAhead.open(tmp))
        {
            while (d.next() != null)
            {
                // Read to the end.
            }
            assertEquals(TraceStatus.TRUNCATED, d.status());
            assertTrue(d.statusMessage().startsWith("trace truncated at chunk " + chunks + ": no end record"),
                d.statusMessage());
            assertNull(d.end());
        }
    }

    @Test
    void killedRecordingReadsAsTheReaderDoes() throws Exception
    {
        TraceChild.run("crash", tmp.toString(), "60000");
        compareWithReader(tmp, DecodeAhead.Mode.ALL, 3000, 3);
        compareParallel(tmp, 2);
        try (DecodeAhead d = DecodeAhead.open(tmp))
        {
            while (d.next() != null)
            {
                // Read to the end.
            }
            assertEquals(TraceStatus.TRUNCATED, d.status(), d.statusMessage());
        }
    }

    @Test
    void damagedChunkStopsBeforeItWithTheReadersMessage() throws Exception
    {
        try (TraceWriter w = TraceWriter.create(tmp, TestEvents.header()))
        {
            new SyntheticTrace(8, 4).generate(w, 60_000);
        }
        final List<byte[]> excerpts = DeterminismTest.excerpts(tmp);
        final byte[] chunk3 = excerpts.get(4);
        final Path file = tmp.resolve("19700101L.cq4");
        final byte[] data = Files.readAllBytes(file);
        final int at = TruncatedDamagedTest.indexOf(data, java.util.Arrays.copyOf(chunk3, 64));
        assertTrue(at > 0);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            final int pos = at + TraceFormat.CHUNK_HEADER_LENGTH + 100;
            ch.write(ByteBuffer.wrap(new byte[] {(byte)(data[pos] ^ 0x10)}), pos);
        }
        compareWithReader(tmp, DecodeAhead.Mode.ALL, 1024, 2);
        // Chunk 3 is the second thread's when two decode, the first's when three do.
        compareParallel(tmp, 2);
        compareParallel(tmp, 3);
        try (DecodeAhead d = DecodeAhead.open(tmp))
        {
            while (d.next() != null)
            {
                // Read to the end.
            }
            assertEquals(TraceStatus.DAMAGED, d.status());
            assertTrue(d.statusMessage().contains("chunk 3"), d.statusMessage());
        }
    }

    @Test
    void notATraceFailsOnOpenWithTheReadersMessage() throws Exception
    {
        final Path missing = tmp.resolve("nothing-here");
        final TraceException expected = assertThrows(TraceException.class, () -> TraceReader.open(missing));
        final TraceException got = assertThrows(TraceException.class, () -> DecodeAhead.open(missing));
        assertEquals(expected.getMessage(), got.getMessage());
        final Path file = Files.writeString(tmp.resolve("file"), "hello");
        assertEquals(assertThrows(TraceException.class, () -> TraceReader.open(file)).getMessage(),
            assertThrows(TraceException.class, () -> DecodeAhead.open(file)).getMessage());
    }

    @Test
    void earlyCloseStopsTheDecodeThread()
    {
        try (TraceWriter w = TraceWriter.create(tmp, TestEvents.header()))
        {
            new SyntheticTrace(2, 4).generate(w, 200_000);
        }
        // Closed with every batch full and the decoder waiting for a free one.
        final DecodeAhead d = DecodeAhead.open(tmp, DecodeAhead.Mode.ALL, 512, 2);
        final Event first = d.next();
        assertEquals(0, first.index());
        assertTrue(d.decoding());
        d.close();
        assertFalse(d.decoding(), "the decode thread has exited");
        assertNull(d.next(), "nothing after close");
        d.close();
        // Closed right after open, before anything was taken.
        final DecodeAhead d2 = DecodeAhead.open(tmp);
        d2.close();
        assertFalse(d2.decoding());
        // Parallel decoders stop too, closed mid-trace.
        final DecodeAhead p = DecodeAhead.openParallel(tmp, 2);
        for (int i = 0; i < 20_000; i++)
        {
            assertEquals(i, p.next().index());
        }
        p.close();
        assertFalse(p.decoding(), "every decode thread has exited");
        // The trace is still readable afterwards (the reader of the thread was closed, not leaked mid-read).
        assertEquals(200_000, compareWithReader(tmp, DecodeAhead.Mode.ALL, 8192, 2));
    }

    private static long allocated()
    {
        return ((com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    @Test
    void consumerAllocatesNothingPerEvent()
    {
        final long events = 1_000_000;
        try (TraceWriter w = TraceWriter.create(tmp, TestEvents.header()))
        {
            new SyntheticTrace(6, 4).generate(w, events);
        }
        for (int pass = 0; pass < 3; pass++)
        {
            try (DecodeAhead d = DecodeAhead.open(tmp))
            {
                final long before = allocated();
                long n = 0;
                long sum = 0;
                Event e;
                while ((e = d.next()) != null)
                {
                    sum += e.value();
                    n++;
                }
                final long bytes = allocated() - before;
                final long batches = (n + DecodeAhead.DEFAULT_BATCH_EVENTS - 1) / DecodeAhead.DEFAULT_BATCH_EVENTS;
                System.out.printf("decode-ahead pass %d: %d bytes allocated on the consumer for %d events in %d batches (%d)%n",
                    pass, bytes, n, batches, sum);
                assertEquals(events, n);
                if (pass == 2)
                {
                    // Nothing per event; the queue's lock may allocate a wait node when the consumer blocks (per batch).
                    assertTrue(bytes < 16 * 1024 + 128 * batches, "allocated " + bytes);
                }
            }
        }
    }
}
