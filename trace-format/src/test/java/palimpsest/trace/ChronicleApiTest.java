package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A trace is an ordinary Chronicle queue: Chronicle's own API reads it. */
class ChronicleApiTest
{
    @TempDir
    Path tmp;

    @Test
    void chronicleSeesHeaderChunksAndEnd()
    {
        final long chunks;
        final long events;
        try (TraceWriter w = TraceWriter.create(tmp, TestEvents.header()))
        {
            new SyntheticTrace(1, 4).generate(w, 50_000);
            w.close(7, "bye");
            chunks = w.chunks();
            events = w.events();
        }
        assertTrue(chunks > 3);
        try (ChronicleQueue q = ChronicleQueue.singleBuilder(tmp).build())
        {
            final ExcerptTailer t = q.createTailer();
            int n = 0;
            long chunkEvents = 0;
            int ends = 0;
            while (true)
            {
                try (DocumentContext dc = t.readingDocument())
                {
                    if (!dc.isPresent())
                    {
                        break;
                    }
                    final Bytes<?> b = dc.wire().bytes();
                    final long start = b.readPosition();
                    if (n == 0)
                    {
                        assertEquals(TraceFormat.MAGIC, b.readLong(start), "header starts with MAGIC");
                        assertEquals(TraceFormat.VERSION, b.readUnsignedShort(start + 8));
                    }
                    else if (n <= chunks)
                    {
                        assertEquals(TraceFormat.RECORD_CHUNK, b.readByte(start), "chunk " + (n - 1));
                        assertEquals(n - 1, b.readLong(start + TraceFormat.CH_SEQUENCE));
                        assertEquals(chunkEvents, b.readLong(start + TraceFormat.CH_FIRST_INDEX));
                        assertEquals(b.readRemaining() - TraceFormat.CHUNK_HEADER_LENGTH,
                            b.readInt(start + TraceFormat.CH_PAYLOAD_LENGTH));
                        chunkEvents += b.readInt(start + TraceFormat.CH_COUNT);
                    }
                    else
                    {
                        assertEquals(TraceFormat.RECORD_END, b.readByte(start));
                        assertEquals(7, b.readInt(start + TraceFormat.END_OUTCOME));
                        assertEquals(events, b.readLong(start + TraceFormat.END_EVENTS));
                        assertEquals(chunks, b.readLong(start + TraceFormat.END_CHUNKS));
                        ends++;
                    }
                    n++;
                }
            }
            assertEquals(1 + chunks + 1, n, "header + chunks + end");
            assertEquals(events, chunkEvents);
            assertEquals(1, ends);
        }
    }
}
