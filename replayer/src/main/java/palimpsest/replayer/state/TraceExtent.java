package palimpsest.replayer.state;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import palimpsest.trace.Hash64;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceStatus;

/**
 * How far a trace reads (complete, truncated or damaged, events in whole verified chunks, why),
 * as found by one verification pass, and the fingerprint of the queue files it was found on.
 * On-disk indexes carry both, so that a query on an unchanged trace needs neither a pass over the
 * trace to build its answer nor one to say what the answer covers.
 */
public final class TraceExtent
{
    /** Longest reason kept (bytes of UTF-8); reasons are one line. */
    public static final int MAX_MESSAGE = 1024;

    public final TraceStatus status;
    public final long events;
    public final String message;

    public TraceExtent(final TraceStatus status, final long events, final String message)
    {
        this.status = status;
        this.events = events;
        this.message = message == null ? "" : message;
    }

    public boolean complete()
    {
        return status == TraceStatus.COMPLETE;
    }

    /** Checks every chunk digest and the end record (no event is decoded). */
    public static TraceExtent verify(final Path trace)
    {
        try (TraceReader r = TraceReader.open(trace))
        {
            r.verify();
            return new TraceExtent(r.status(), r.eventsVerified(), r.statusMessage());
        }
    }

    /**
     * A digest of the trace's queue files (name, size, modification time in nanoseconds): changes
     * when the trace does, so an index carrying another value is stale.
     */
    public static long fingerprint(final Path trace)
    {
        final List<String> parts = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(trace, "*.cq4"))
        {
            for (final Path p : ds)
            {
                parts.add(p.getFileName() + ":" + Files.size(p) + ":" + Files.getLastModifiedTime(p).to(TimeUnit.NANOSECONDS));
            }
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
        Collections.sort(parts);
        final byte[] b = String.join("|", parts).getBytes(StandardCharsets.UTF_8);
        return Hash64.hash(b, 0, b.length, 0x50414c);
    }

    /** Bytes {@link #write} puts: status u32, events u64, message length u32, message. */
    public int encodedLength()
    {
        return 16 + messageBytes().length;
    }

    private byte[] messageBytes()
    {
        final byte[] m = message.getBytes(StandardCharsets.UTF_8);
        return m.length <= MAX_MESSAGE ? m : java.util.Arrays.copyOf(m, MAX_MESSAGE);
    }

    /** Writes at the buffer's position (its byte order). */
    public void write(final ByteBuffer b)
    {
        final byte[] m = messageBytes();
        b.putInt(status.ordinal()).putLong(events).putInt(m.length).put(m);
    }

    /** Reads what {@link #write} put at offset, or null when it is not a valid extent. */
    public static TraceExtent read(final ByteBuffer b, final int at)
    {
        if (at < 0 || at + 16 > b.limit())
        {
            return null;
        }
        final int st = b.getInt(at);
        final long events = b.getLong(at + 4);
        final int len = b.getInt(at + 12);
        if (st < 0 || st >= TraceStatus.values().length || events < 0 || len < 0 || len > MAX_MESSAGE || at + 16 + len > b.limit())
        {
            return null;
        }
        final byte[] m = new byte[len];
        b.duplicate().position(at + 16).get(m);
        return new TraceExtent(TraceStatus.values()[st], events, new String(m, StandardCharsets.UTF_8));
    }
}
