package palimpsest.analyzers.whowrote;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import palimpsest.trace.Event;

/**
 * The who-wrote index built from a pass that reads the trace anyway ({@code pal analyze}'s), so
 * that the second stages' queries cost no pass of their own. {@link #start} gives null when the
 * index next to the trace is already fresh (nothing to build); {@link #accept} takes every event
 * of the pass in order, {@link #finish} writes {@code TRACE/who-wrote.idx} (same bytes as
 * {@link WhoWroteIndex#build}) and opens it.
 */
public final class IndexInPass
{
    private final Path trace;
    private final long fingerprint;
    private final WhoWroteIndex.Builder builder;

    private IndexInPass(final Path trace, final long fingerprint, final int cpusPerNode)
    {
        this.trace = trace;
        this.fingerprint = fingerprint;
        this.builder = new WhoWroteIndex.Builder(Math.max(1, cpusPerNode));
    }

    /** A builder for the pass, or null when a fresh index is already on disk (see {@link #existing}). */
    public static IndexInPass start(final Path trace, final int cpusPerNode)
    {
        final long fp = WhoWroteIndex.fingerprint(trace);
        final Path file = WhoWroteIndex.fileOf(trace);
        if (Files.isRegularFile(file) && WhoWroteIndex.tryOpen(file, fp) != null)
        {
            return null;
        }
        return new IndexInPass(trace, fp, cpusPerNode);
    }

    public void accept(final Event e)
    {
        builder.accept(e);
    }

    /**
     * Writes and opens the index; null when it cannot be written (a read-only trace directory):
     * then {@link WhoWroteIndex#openOrBuild} reports why, if a second stage needs the index.
     */
    public WhoWroteIndex finish()
    {
        final Path file = WhoWroteIndex.fileOf(trace);
        try
        {
            final Path tmp = file.resolveSibling(WhoWroteIndex.FILE + ".tmp");
            builder.write(tmp, fingerprint);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException ex)
        {
            return null;
        }
        return WhoWroteIndex.tryOpen(file, fingerprint);
    }
}
