package palimpsest.hunt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

import palimpsest.trace.TracePacker;

/** Trace directories as bytes for the wire and back, and removing scratch directories. */
public final class TraceFiles
{
    private TraceFiles()
    {
    }

    /** The trace at dir as a {@link TracePacker} pack, in memory. */
    public static byte[] pack(final Path dir)
    {
        try
        {
            final Path tmp = Files.createTempFile(dir.getParent(), dir.getFileName() + "-", ".pack");
            try
            {
                Files.delete(tmp);
                TracePacker.pack(dir, tmp);
                return Files.readAllBytes(tmp);
            }
            finally
            {
                Files.deleteIfExists(tmp);
            }
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot pack " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Unpacks bytes made by {@link #pack} into dir (absent or empty). */
    public static void unpack(final byte[] packed, final Path dir)
    {
        try
        {
            Files.createDirectories(dir.getParent());
            final Path tmp = Files.createTempFile(dir.getParent(), dir.getFileName() + "-", ".pack");
            try
            {
                Files.write(tmp, packed);
                TracePacker.unpack(tmp, dir);
            }
            finally
            {
                Files.deleteIfExists(tmp);
            }
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot unpack into " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Removes dir and everything under it; quietly does nothing if it is absent. */
    public static void delete(final Path dir)
    {
        if (!Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> s = Files.walk(dir))
        {
            for (final Path p : (Iterable<Path>)s.sorted(Comparator.reverseOrder())::iterator)
            {
                Files.deleteIfExists(p);
            }
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot remove " + dir + ": " + e.getMessage(), e);
        }
    }
}
