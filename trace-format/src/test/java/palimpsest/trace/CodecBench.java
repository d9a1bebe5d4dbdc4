package palimpsest.trace;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Development aid: the codec's CPU time per event on recorded traces, without Chronicle. Loads every
 * event of each TRACE into memory as the encode-ahead batches hold them (9 longs an event), then,
 * fastest of ROUNDS rounds of thread CPU time: encoding them into chunks as the writer cuts them (with
 * and without the chunk digest), and decoding those chunks into one {@link Event}.
 * {@code java -cp ... palimpsest.trace.CodecBench [--rounds N] [--only encode|decode] TRACE...}
 */
public final class CodecBench
{
    private static final int WORDS = 9;

    public static void main(final String[] args)
    {
        int rounds = 15;
        String only = "";
        final List<String> traces = new ArrayList<>();
        for (int i = 0; i < args.length; i++)
        {
            if (args[i].equals("--rounds"))
            {
                rounds = Integer.parseInt(args[++i]);
            }
            else if (args[i].equals("--only"))
            {
                only = args[++i];
            }
            else
            {
                traces.add(args[i]);
            }
        }
        for (final String t : traces)
        {
            run(Path.of(t), rounds, only);
        }
    }

    private static final class Loaded
    {
        long[] words = new long[1 << 20];
        byte[] payload = new byte[1 << 16];
        int payloadLength;
        int count;

        long[] slot()
        {
            if ((count + 1) * WORDS > words.length)
            {
                words = Arrays.copyOf(words, words.length * 2);
            }
            return words;
        }
    }

    private static Loaded load(final Path dir)
    {
        final Loaded l = new Loaded();
        try (TraceReader r = TraceReader.open(dir))
        {
            final Event e = new Event();
            final EventSink sink = new EventSink()
            {
                @Override
                public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
                    final long paddr, final int size, final long value, final long oldValue)
                {
                    final long[] w = l.slot();
                    final int p = l.count++ * WORDS;
                    w[p] = 0;
                    w[p + 1] = (long)kind << 32 | (cpu & 0xFFFFFFFFL);
                    w[p + 2] = icount;
                    w[p + 3] = pc;
                    w[p + 4] = vaddr;
                    w[p + 5] = paddr;
                    w[p + 6] = size;
                    w[p + 7] = value;
                    w[p + 8] = oldValue;
                }

                @Override
                public void event(final int kind, final int cpu, final long icount, final long pc, final long a,
                    final long b, final long c)
                {
                    final long[] w = l.slot();
                    final int p = l.count++ * WORDS;
                    w[p] = 1;
                    w[p + 1] = (long)kind << 32 | (cpu & 0xFFFFFFFFL);
                    w[p + 2] = icount;
                    w[p + 3] = pc;
                    w[p + 4] = a;
                    w[p + 5] = b;
                    w[p + 6] = c;
                }

                @Override
                public void net(final int kind, final int device, final long vtime, final long peerNode,
                    final long frameId, final byte[] payload, final int offset, final int length)
                {
                    final long[] w = l.slot();
                    final int p = l.count++ * WORDS;
                    if (l.payloadLength + length > l.payload.length)
                    {
                        l.payload = Arrays.copyOf(l.payload, Math.max(l.payload.length * 2, l.payloadLength + length));
                    }
                    System.arraycopy(payload, offset, l.payload, l.payloadLength, length);
                    w[p] = 2;
                    w[p + 1] = (long)kind << 32 | (device & 0xFFFFFFFFL);
                    w[p + 2] = vtime;
                    w[p + 3] = peerNode;
                    w[p + 4] = frameId;
                    w[p + 5] = l.payloadLength;
                    w[p + 6] = length;
                    l.payloadLength += length;
                }
            };
            while (r.next(e))
            {
                e.writeTo(sink);
            }
        }
        return l;
    }

    /** Encodes every event, cutting chunks as the writer does; returns the payload bytes (and fills chunks). */
    private static long encode(final Loaded l, final ChunkEncoder enc, final boolean digest, final List<byte[]> chunks,
        final List<int[]> counts)
    {
        final long[] w = l.words;
        long bytes = 0;
        long d = TraceFormat.DIGEST_SEED;
        enc.reset();
        for (int i = 0, p = 0; i < l.count; i++, p += WORDS)
        {
            final int kind = (int)(w[p + 1] >> 32);
            final int cpu = (int)w[p + 1];
            final long type = w[p];
            if (type == 0)
            {
                enc.access(kind, cpu, w[p + 2], w[p + 3], w[p + 4], w[p + 5], (int)w[p + 6], w[p + 7], w[p + 8]);
            }
            else if (type == 1)
            {
                enc.event(kind, cpu, w[p + 2], w[p + 3], w[p + 4], w[p + 5], w[p + 6]);
            }
            else
            {
                if (!enc.fits((int)w[p + 6]) && enc.count() > 0)
                {
                    bytes += cut(enc, digest, d, chunks, counts);
                }
                enc.net(kind, cpu, w[p + 2], w[p + 3], w[p + 4], l.payload, (int)w[p + 5], (int)w[p + 6]);
            }
            if (enc.isFull())
            {
                bytes += cut(enc, digest, d, chunks, counts);
                d += bytes;
            }
        }
        if (enc.count() > 0)
        {
            bytes += cut(enc, digest, d, chunks, counts);
        }
        return bytes;
    }

    private static long sink;

    private static int cut(final ChunkEncoder enc, final boolean digest, final long d, final List<byte[]> chunks,
        final List<int[]> counts)
    {
        final int len = enc.payloadLength();
        if (digest)
        {
            sink += TraceFormat.chunkDigest(enc.buffer(), len, d);
        }
        if (chunks != null)
        {
            chunks.add(Arrays.copyOf(enc.buffer(), TraceFormat.CHUNK_HEADER_LENGTH + len));
            counts.add(new int[] {enc.count(), len});
        }
        enc.reset();
        return len;
    }

    private static void run(final Path dir, final int rounds, final String only)
    {
        final Loaded l = load(dir);
        final ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        final ChunkEncoder enc = new ChunkEncoder();
        final List<byte[]> chunks = new ArrayList<>();
        final List<int[]> counts = new ArrayList<>();
        final long bytes = encode(l, enc, false, chunks, counts);
        final long totalBytes = bytes + (long)chunks.size() * TraceFormat.CHUNK_HEADER_LENGTH;
        long bestEncode = Long.MAX_VALUE;
        long bestEncodeDigest = Long.MAX_VALUE;
        long bestDecode = Long.MAX_VALUE;
        final ChunkDecoder dec = new ChunkDecoder();
        final Event e = new Event();
        for (int r = 0; r < rounds; r++)
        {
            if (only.equals("read"))
            {
                final long t = mx.getCurrentThreadCpuTime();
                long x = 0;
                final long[] w = l.words;
                for (int i = 0, p = 0; i < l.count; i++, p += WORDS)
                {
                    x += w[p] ^ w[p + 1] + w[p + 2] ^ w[p + 3] + w[p + 4] ^ w[p + 5] + w[p + 6] ^ w[p + 7] + w[p + 8];
                }
                sink += x;
                bestEncode = Math.min(bestEncode, mx.getCurrentThreadCpuTime() - t);
            }
            else if (!only.equals("decode"))
            {
                long t = mx.getCurrentThreadCpuTime();
                encode(l, enc, false, null, null);
                bestEncode = Math.min(bestEncode, mx.getCurrentThreadCpuTime() - t);
                t = mx.getCurrentThreadCpuTime();
                encode(l, enc, true, null, null);
                bestEncodeDigest = Math.min(bestEncodeDigest, mx.getCurrentThreadCpuTime() - t);
            }
            if (!only.equals("encode"))
            {
                final long t = mx.getCurrentThreadCpuTime();
                long index = 0;
                long x = 0;
                for (int c = 0; c < chunks.size(); c++)
                {
                    final int[] n = counts.get(c);
                    dec.wrap(chunks.get(c), TraceFormat.CHUNK_HEADER_LENGTH, n[1], n[0], index);
                    for (int i = 0; i < n[0]; i++)
                    {
                        dec.next(e);
                        x += e.value();
                    }
                    index += n[0];
                }
                sink += x;
                bestDecode = Math.min(bestDecode, mx.getCurrentThreadCpuTime() - t);
            }
        }
        final double n = l.count;
        System.out.printf(Locale.ROOT, "%-22s %9d events %5.2f B/ev  encode %6.1f ns/ev  +digest %6.1f ns/ev  decode %6.1f ns/ev%n",
            dir.getFileName(), l.count, totalBytes / n, bestEncode / n, bestEncodeDigest / n, bestDecode / n);
        if (sink == 42)
        {
            System.out.println();
        }
    }
}
