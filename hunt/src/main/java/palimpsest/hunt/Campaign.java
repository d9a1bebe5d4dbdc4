package palimpsest.hunt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import java.util.stream.Stream;

/**
 * One {@code pal hunt}: the runs of a spec over a seed range, into a campaign directory
 *
 * <pre>
 *  DIR/hunt.spec        the spec and the seeds (what --resume reads)
 *  DIR/manifest.tsv     one line per finished run ({@link Manifest})
 *  DIR/traces/seed-N/   the trace of each failing run (a trace directory: replay, analyze it)
 *  DIR/.work/           runs in progress on local workers (cleared on resume)
 * </pre>
 *
 * Seeds already in the manifest are not run again, so a stopped campaign resumes where it was.
 * Results are handed in by a {@link Runner} from any thread; each is put in place and appended to
 * the manifest before the next is taken.
 */
public final class Campaign
{
    public static final String TRACES = "traces";
    public static final String WORK = ".work";

    private final HuntSpec spec;
    private final SeedRange seeds;
    private final Path dir;
    private final AtomicLong done = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile long total;
    private volatile long toRun;
    /** Set when run() is over: a straggler's result (after an error stopped the runner) is dropped, not half-written. */
    private boolean over;

    public Campaign(final HuntSpec spec, final SeedRange seeds, final Path dir)
    {
        this.spec = spec;
        this.seeds = seeds;
        this.dir = dir;
    }

    /** Seeds of the range finished (before and during this run). Safe from any thread. */
    public long done()
    {
        return done.get();
    }

    public long failures()
    {
        return failures.get();
    }

    /** Seeds in the range. */
    public long total()
    {
        return total;
    }

    /** Seeds this run had left to do when it started. */
    public long toRun()
    {
        return toRun;
    }

    public Path dir()
    {
        return dir;
    }

    /**
     * Runs every seed of the range not yet in the manifest on runner, then reports over all of them.
     *
     * @throws InterruptedException when interrupted; the manifest keeps what finished
     */
    public HuntReport run(final Runner runner) throws InterruptedException
    {
        final long start = System.nanoTime();
        try
        {
            Files.createDirectories(dir.resolve(TRACES));
            TraceFiles.delete(dir.resolve(WORK));
            Files.createDirectories(dir.resolve(WORK));
            spec.write(dir, seeds);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot set up " + dir + ": " + e.getMessage(), e);
        }
        final long[] all = seeds.seeds();
        total = all.length;
        final Set<Long> finished = new HashSet<>();
        for (final Manifest.Entry e : Manifest.read(dir))
        {
            finished.add(e.seed());
        }
        final long[] todo = LongStream.of(all).filter(s -> !finished.contains(s)).toArray();
        toRun = todo.length;
        done.set(all.length - todo.length);
        for (final Manifest.Entry e : Manifest.read(dir))
        {
            if (e.failed() && LongStream.of(all).anyMatch(s -> s == e.seed()))
            {
                failures.incrementAndGet();
            }
        }
        removeStrayTraces(finished);
        synchronized (this)
        {
            over = false;
        }
        try (Manifest manifest = Manifest.open(dir))
        {
            try
            {
                runner.run(spec, todo, r -> accept(manifest, r));
            }
            finally
            {
                synchronized (this)
                {
                    over = true;
                }
            }
        }
        finally
        {
            TraceFiles.delete(dir.resolve(WORK));
        }
        return HuntReport.of(spec, seeds, dir, Manifest.read(dir), todo.length, runner.describe(), System.nanoTime() - start);
    }

    /** A trace directory whose run never reached the manifest was cut short by a stop: it is run again. */
    private void removeStrayTraces(final Set<Long> finished)
    {
        try (Stream<Path> s = Files.list(dir.resolve(TRACES)))
        {
            for (final Path p : (Iterable<Path>)s::iterator)
            {
                final String name = p.getFileName().toString();
                if (!name.startsWith("seed-"))
                {
                    continue;
                }
                try
                {
                    if (!finished.contains(Long.parseLong(name.substring(5))))
                    {
                        TraceFiles.delete(p);
                    }
                }
                catch (final NumberFormatException ignored)
                {
                    // not ours
                }
            }
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot list " + dir.resolve(TRACES) + ": " + e.getMessage(), e);
        }
    }

    private synchronized void accept(final Manifest manifest, final RunResult r)
    {
        if (over)
        {
            return;
        }
        String trace = null;
        if (r.failed())
        {
            trace = TRACES + "/seed-" + r.seed;
            final Path dest = dir.resolve(trace);
            TraceFiles.delete(dest);
            if (r.localTrace != null)
            {
                try
                {
                    Files.move(r.localTrace, dest, StandardCopyOption.ATOMIC_MOVE);
                }
                catch (final IOException e)
                {
                    throw new UncheckedIOException("cannot move " + r.localTrace + " to " + dest + ": " + e.getMessage(), e);
                }
            }
            else if (r.packed != null)
            {
                TraceFiles.unpack(r.packed, dest);
            }
            else
            {
                trace = null;
            }
            failures.incrementAndGet();
        }
        manifest.append(new Manifest.Entry(r.seed, r.kind, r.digest, r.events, trace, r.signature, r.verdict));
        done.incrementAndGet();
    }

    /** The entries of a campaign directory (for tests and tools). */
    public static List<Manifest.Entry> entries(final Path dir)
    {
        return Manifest.read(dir);
    }
}
