package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Bytes per event on a realistic synthetic stream: deterministic byte counts, not timing. */
class EncodingSizeTest
{
    /** Encodes into chunks like the writer does, without Chronicle. */
    static final class CountingSink implements EventSink
    {
        final ChunkEncoder enc = new ChunkEncoder();
        final int[] kindCount = new int[EventKind.COUNT];
        final long[] kindBytes = new long[EventKind.COUNT];
        int before;
        long events;
        long bytes;
        long chunks;

        private void after()
        {
            if (enc.isFull())
            {
                flush();
            }
        }

        void flush()
        {
            if (enc.count() > 0)
            {
                events += enc.count();
                bytes += enc.payloadLength();
                chunks++;
                enc.reset();
            }
        }

        @Override
        public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
            final long paddr, final int size, final long value, final long oldValue)
        {
            kindCount[kind]++;
            before = enc.payloadLength();
            enc.access(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
            kindBytes[kind] += enc.payloadLength() - before;
            after();
        }

        @Override
        public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b,
            final long c)
        {
            kindCount[kind]++;
            before = enc.payloadLength();
            enc.event(kind, cpu, icount, pc, a, b, c);
            kindBytes[kind] += enc.payloadLength() - before;
            after();
        }

        @Override
        public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
            final byte[] payload, final int offset, final int length)
        {
            kindCount[kind]++;
            if (!enc.fits(length))
            {
                flush();
            }
            before = enc.payloadLength();
            enc.net(kind, device, vtime, peerNode, frameId, payload, offset, length);
            kindBytes[kind] += enc.payloadLength() - before;
            after();
        }
    }

    static CountingSink encode(final SyntheticTrace stream, final long n)
    {
        final CountingSink sink = new CountingSink();
        stream.generate(sink, n);
        sink.flush();
        return sink;
    }

    static String describe(final String name, final CountingSink sink)
    {
        final StringBuilder mix = new StringBuilder();
        for (int k = 0; k < EventKind.COUNT; k++)
        {
            if (sink.kindCount[k] > 0)
            {
                mix.append(' ').append(EventKind.name(k)).append('=')
                    .append(String.format("%.2f%%/%.2fB", 100.0 * sink.kindCount[k] / sink.events,
                        (double)sink.kindBytes[k] / sink.kindCount[k]));
            }
        }
        return String.format("%s: %d events, %d payload bytes in %d chunks: %.3f bytes/event; kinds (share/bytes):%s",
            name, sink.events, sink.bytes, sink.chunks, (double)sink.bytes / sink.events, mix);
    }

    @Test
    void realisticStreamIsAtMostSixBytesPerEvent()
    {
        final CountingSink sink = encode(new SyntheticTrace(42, 4), 2_000_000);
        final double perEvent = (double)sink.bytes / sink.events;
        System.out.println(describe("typical synthetic stream (4 cpus)", sink));
        assertTrue(perEvent <= 6.0, "bytes/event " + perEvent);

        // Fully deterministic: the same stream encodes to the same number of bytes.
        assertEquals(sink.bytes, encode(new SyntheticTrace(42, 4), 2_000_000).bytes);
    }

    /** For the record: a harsher stream (4x the random jumps, so 4x the page walks). Not a target. */
    @Test
    void harsherStreamForTheRecord()
    {
        final CountingSink sink = encode(new SyntheticTrace(43, 4, 160), 1_000_000);
        System.out.println(describe("harsher synthetic stream (16% random heap jumps)", sink));
        assertTrue((double)sink.bytes / sink.events < 8.0, "regression guard");
    }

    /** 40-byte chunk headers against thousands of events per chunk. */
    @Test
    void chunkHeaderOverheadIsSmall()
    {
        final CountingSink sink = encode(new SyntheticTrace(44, 1), 500_000);
        final double overhead = (double)sink.chunks * TraceFormat.CHUNK_HEADER_LENGTH / sink.events;
        System.out.printf("chunk header overhead: %.4f bytes/event (%d events per chunk)%n", overhead,
            sink.events / sink.chunks);
        assertTrue(overhead < 0.05);
    }
}
