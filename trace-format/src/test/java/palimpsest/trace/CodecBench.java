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
        Path write = null;
        String only = "";
        final List<String> traces = new ArrayList<>();
        for (int i = 0; i < args.length; i++)
        {
            if (args[i].equals("--rounds"))
            {
                rounds = Integer.parseInt(args[++i]);
            }
            else if (args[i].equals("--write"))
            {
                write = Path.of(args[++i]);
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
            if (write != null)
            {
                writeAndRead(Path.of(t), write.resolve(Path.of(t).getFileName()), rounds);
            }
            else
            {
                run(Path.of(t), rounds, only);
            }
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

    /** A file TRACE.events next to a trace: its events as loaded, so a bench survives a format change. */
    private static Loaded load(final Path dir)
    {
        final Path raw = Path.of(dir + ".events");
        if (java.nio.file.Files.exists(raw))
        {
            try (java.io.DataInputStream in = new java.io.DataInputStream(new java.io.BufferedInputStream(
                java.nio.file.Files.newInputStream(raw), 1 << 20)))
            {
                final Loaded l = new Loaded();
                l.count = in.readInt();
                l.words = new long[l.count * WORDS];
                for (int i = 0; i < l.words.length; i++)
                {
                    l.words[i] = in.readLong();
                }
                l.payloadLength = in.readInt();
                l.payload = new byte[Math.max(1, l.payloadLength)];
                in.readFully(l.payload, 0, l.payloadLength);
                return l;
            }
            catch (final java.io.IOException e)
            {
                throw new java.io.UncheckedIOException(e);
            }
        }
        final Loaded l = loadTrace(dir);
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(new java.io.BufferedOutputStream(
            java.nio.file.Files.newOutputStream(raw), 1 << 20)))
        {
            out.writeInt(l.count);
            for (int i = 0; i < l.count * WORDS; i++)
            {
                out.writeLong(l.words[i]);
            }
            out.writeInt(l.payloadLength);
            out.write(l.payload, 0, l.payloadLength);
        }
        catch (final java.io.IOException e)
        {
            throw new java.io.UncheckedIOException(e);
        }
        return l;
    }

    private static Loaded loadTrace(final Path dir)
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

    /**
     * Writes the loaded events as a trace with the current format (the header of the original), then
     * times the whole writer (encode, digest, Chronicle append) and the whole reader.
     */
    private static void writeAndRead(final Path original, final Path out, final int rounds)
    {
        final Loaded l = load(original);
        final TraceHeader header;
        try (TraceReader r = TraceReader.open(original))
        {
            header = r.header();
        }
        catch (final TraceException e)
        {
            throw e;
        }
        final ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long bestWrite = Long.MAX_VALUE;
        long bestRead = Long.MAX_VALUE;
        long bestAhead = Long.MAX_VALUE;
        long bestAheadWall = Long.MAX_VALUE;
        long events = 0;
        for (int r = 0; r < rounds; r++)
        {
            TempDirs.delete(out);
            long t = mx.getCurrentThreadCpuTime();
            try (TraceWriter w = TraceWriter.create(out, header))
            {
                final long[] wd = l.words;
                for (int i = 0, p = 0; i < l.count; i++, p += WORDS)
                {
                    final int kind = (int)(wd[p + 1] >> 32);
                    final int cpu = (int)wd[p + 1];
                    if (wd[p] == 0)
                    {
                        w.access(kind, cpu, wd[p + 2], wd[p + 3], wd[p + 4], wd[p + 5], (int)wd[p + 6], wd[p + 7], wd[p + 8]);
                    }
                    else if (wd[p] == 1)
                    {
                        w.event(kind, cpu, wd[p + 2], wd[p + 3], wd[p + 4], wd[p + 5], wd[p + 6]);
                    }
                    else
                    {
                        w.net(kind, cpu, wd[p + 2], wd[p + 3], wd[p + 4], l.payload, (int)wd[p + 5], (int)wd[p + 6]);
                    }
                }
            }
            bestWrite = Math.min(bestWrite, mx.getCurrentThreadCpuTime() - t);
            t = mx.getCurrentThreadCpuTime();
            events = 0;
            try (TraceReader rd = TraceReader.open(out))
            {
                final Event e = new Event();
                while (rd.next(e))
                {
                    events++;
                    sink += e.value();
                }
            }
            bestRead = Math.min(bestRead, mx.getCurrentThreadCpuTime() - t);
            t = mx.getCurrentThreadCpuTime();
            final long wall = System.nanoTime();
            try (DecodeAhead da = DecodeAhead.open(out))
            {
                Event e;
                while ((e = da.next()) != null)
                {
                    sink += e.value();
                }
            }
            bestAhead = Math.min(bestAhead, mx.getCurrentThreadCpuTime() - t);
            bestAheadWall = Math.min(bestAheadWall, System.nanoTime() - wall);
        }
        final double n = l.count;
        System.out.printf(Locale.ROOT, "%-22s %9d events  TraceWriter %6.1f ns/ev  TraceReader %6.1f ns/ev  DecodeAhead consumer %6.1f ns/ev CPU, %6.1f ns/ev wall%n",
            original.getFileName(), events, bestWrite / n, bestRead / n, bestAhead / n, bestAheadWall / n);
    }

    /** Every decoded event must be the loaded one, field for field. */
    private static void verify(final Loaded l, final List<byte[]> chunks, final List<int[]> counts, final ChunkDecoder dec,
        final Event e)
    {
        final long[] w = l.words;
        int i = 0;
        for (int c = 0; c < chunks.size(); c++)
        {
            final int[] n = counts.get(c);
            dec.wrap(chunks.get(c), TraceFormat.CHUNK_HEADER_LENGTH, n[1], n[0], i);
            for (int k = 0; k < n[0]; k++, i++)
            {
                dec.next(e);
                final int p = i * WORDS;
                final boolean same;
                if (w[p] == 0)
                {
                    same = e.isAccess() && e.kind() == (int)(w[p + 1] >> 32) && e.cpu() == (int)w[p + 1] &&
                        e.icount() == w[p + 2] && e.pc() == w[p + 3] && e.vaddr() == w[p + 4] && e.paddr() == w[p + 5] &&
                        e.size() == (int)w[p + 6] && e.value() == w[p + 7] && e.oldValue() == w[p + 8];
                }
                else if (w[p] == 1)
                {
                    same = e.kind() == (int)(w[p + 1] >> 32) && e.cpu() == (int)w[p + 1] && e.icount() == w[p + 2] &&
                        e.pc() == w[p + 3] && e.a() == w[p + 4] && e.b() == w[p + 5] && e.c() == w[p + 6];
                }
                else
                {
                    same = e.kind() == (int)(w[p + 1] >> 32) && e.payloadLength() == (int)w[p + 6];
                }
                if (!same)
                {
                    throw new AssertionError("event " + i + " decodes as " + e);
                }
            }
        }
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
        if (!only.equals("encode"))
        {
            verify(l, chunks, counts, dec, e);
        }
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
