package palimpsest.trace;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Temporary directories that are removed when they are done with, and also when the JVM ends early
 * (Ctrl-C, SIGTERM): every one still registered is deleted by one shutdown hook. Used by every verb
 * that works in a scratch directory (bisect, bench, the reader's copy of a cut-short trace).
 */
public final class TempDirs
{
    private static final Set<Path> LIVE = new LinkedHashSet<>();
    private static boolean hooked;

    private TempDirs()
    {
    }

    /** A new empty directory in the system temp dir, named prefix + random, deleted at JVM exit at the latest. */
    public static Path create(final String prefix) throws IOException
    {
        final Path dir = Files.createTempDirectory(prefix);
        register(dir);
        return dir;
    }

    /** Deletes dir at JVM exit unless {@link #delete} ran first. */
    public static synchronized void register(final Path dir)
    {
        if (!hooked)
        {
            hooked = true;
            Runtime.getRuntime().addShutdownHook(new Thread(TempDirs::deleteAll, "pal-temp-cleanup"));
        }
        LIVE.add(dir);
    }

    /** Deletes dir and everything in it (best effort) and forgets it. */
    public static void delete(final Path dir)
    {
        synchronized (TempDirs.class)
        {
            LIVE.remove(dir);
        }
        deleteTree(dir);
    }

    /** The directories still registered (tests). */
    static synchronized Set<Path> live()
    {
        return Set.copyOf(LIVE);
    }

    private static void deleteAll()
    {
        final Path[] dirs;
        synchronized (TempDirs.class)
        {
            dirs = LIVE.toArray(new Path[0]);
            LIVE.clear();
        }
        for (final Path d : dirs)
        {
            deleteTree(d);
        }
    }

    private static void deleteTree(final Path dir)
    {
        if (dir == null || !Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> s = Files.walk(dir))
        {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        catch (final IOException | RuntimeException ignore)
        {
            // Best effort: a temp dir left behind is not worth failing for.
        }
    }
}
