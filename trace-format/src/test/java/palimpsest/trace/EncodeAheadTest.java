package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A writer encoding ahead on its own thread writes what the direct writer writes, and a crash loses what it promises. */
class EncodeAheadTest
{
    @TempDir
    Path tmp;

    /** Synthetic accesses, net events with payloads (one larger than a batch's payload array), flushes at odd points. */
    private static void write(final TraceWriter w, final long[] chunksSeen, final long[] digestsSeen)
    {
        final SyntheticTrace gen = new SyntheticTrace(7, 4);
        final byte[] payload = new byte[100_000];
        for (int i = 0; i < payload.length; i++)
        {
            payload[i] = (byte)(i * 31);
        }
        for (int round = 0; round < 6; round++)
        {
            gen.generate(w, 9_000 + round * 3_333);
            w.net(EventKind.NET_SEND, EventKind.deviceId(0), 1000 + round, 1, round, payload, round, round == 3 ? 90_000 : 40 + round);
            w.event(EventKind.INPUT, 0, 5, 6, round, 7, 8);
            if (round % 2 == 1)
            {
                w.flush();
            }
            chunksSeen[round] = w.chunks();
            digestsSeen[round] = w.digest();
        }
        w.close(0, "done");
    }

    @Test
    void sameExcerptsChunkCountsAndDigestsAsTheDirectWriter()
    {
        final long[] c1 = new long[6];
        final long[] d1 = new long[6];
        final long[] c2 = new long[6];
        final long[] d2 = new long[6];
        final Path direct = tmp.resolve("direct");
        final Path ahead = tmp.resolve("ahead");
        write(TraceWriter.create(direct, TestEvents.header()), c1, d1);
        write(TraceWriter.createEncodingAhead(ahead, TestEvents.header()), c2, d2);
        assertArrayEquals(c1, c2);
        assertArrayEquals(d1, d2);
        final List<byte[]> a = DeterminismTest.excerpts(direct);
        final List<byte[]> b = DeterminismTest.excerpts(ahead);
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++)
        {
            assertArrayEquals(a.get(i), b.get(i), "excerpt " + i);
        }
        try (TraceReader r = TraceReader.open(ahead))
        {
            assertEquals(TraceStatus.COMPLETE, r.verify(), r.statusMessage());
        }
    }

    /** pal bench's view of the pipeline: every full batch is one handoff, a stall is one of them, and the encoder used CPU. */
    @Test
    void countsHandoffsAndStallsAndMeasuresTheEncoderThread()
    {
        final TraceWriter w = TraceWriter.createEncodingAhead(tmp.resolve("counted"), TestEvents.header());
        final long events = 10L * EncodeAhead.EVENTS + 17;
        new SyntheticTrace(3, 2).generate(w, events);
        assertEquals(10, w.batchesHandedOff(), "one handoff per full batch, none yet for the partial one");
        assertTrue(w.batchStalls() >= 0 && w.batchStalls() <= w.batchesHandedOff(), w.batchStalls() + " stalls");
        final long cpu = w.encoderCpuNanos();
        assertTrue(cpu > 0 || cpu == -1, "encoder cpu " + cpu);
        assertEquals(11, w.batchesHandedOff(), "waiting for the encoder hands over the partial batch");
        w.close(0, "done");
        assertEquals(-1, w.encoderCpuNanos(), "closed: no encoder thread");
        final TraceWriter direct = TraceWriter.create(tmp.resolve("direct-counted"), TestEvents.header());
        assertEquals(-1, direct.encoderCpuNanos());
        assertEquals(0, direct.batchesHandedOff());
        direct.close(0, "done");
    }

    /** The promise: a crash (abandon) loses at most MAX_LOST_ENCODING_AHEAD events beyond the current chunk. */
    @Test
    void aCrashLosesAtMostTheQueuedBatchesAndTheCurrentChunk()
    {
        final Path dir = tmp.resolve("crash");
        final TraceWriter w = TraceWriter.createEncodingAhead(dir, TestEvents.header());
        new SyntheticTrace(3, 4).generate(w, 300_000);
        final long handed = w.events();
        assertEquals(300_000, handed);
        w.abandon();
        try (TraceReader r = TraceReader.open(dir))
        {
            assertEquals(TraceStatus.TRUNCATED, r.verify(), r.statusMessage());
            final long lost = handed - r.eventsVerified();
            assertTrue(lost >= 0 && lost <= TraceWriter.MAX_LOST_ENCODING_AHEAD + TraceFormat.CHUNK_MAX_EVENTS,
                "lost " + lost + " events");
        }
    }
}
