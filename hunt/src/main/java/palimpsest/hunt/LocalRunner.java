package palimpsest.hunt;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import palimpsest.recorder.ScenarioCatalog;

/**
 * Runs seeds on J threads of this JVM, each recording into DIR/.work/seed-N (on the campaign's
 * file system, so a failure's trace is moved into place, not copied). Machines share nothing:
 * each run builds its own from the spec and the seed.
 */
public final class LocalRunner implements Runner
{
    private final int jobs;
    private final ClassLoader loader;
    private final Path scratch;
    private final ExecutorService pool;

    /**
     * @param loader where scenarios (built-in and plugins) are found
     * @param scratch directory for runs in progress
     */
    public LocalRunner(final int jobs, final ClassLoader loader, final Path scratch)
    {
        if (jobs < 1)
        {
            throw new IllegalArgumentException("--jobs must be at least 1, got " + jobs);
        }
        this.jobs = jobs;
        this.loader = loader;
        this.scratch = scratch;
        final AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(jobs, r ->
        {
            final Thread t = new Thread(r, "pal-hunt-" + n.incrementAndGet());
            t.setDaemon(true);
            t.setContextClassLoader(loader);
            return t;
        });
    }

    /** One worker per core. */
    public static int defaultJobs()
    {
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * One worker per core, but no more than the heap holds: each run's machine keeps its RAM on the
     * heap (allow twice that per run for the rest of the machine and the trace writer).
     */
    public static int defaultJobs(final HuntSpec spec)
    {
        final long perRun = 2L * spec.nodes() * spec.memMiB() << 20;
        final long fit = Math.max(1, Runtime.getRuntime().maxMemory() / Math.max(1, perRun));
        return (int)Math.max(1, Math.min(defaultJobs(), fit));
    }

    @Override
    public void run(final HuntSpec spec, final long[] seeds, final Consumer<RunResult> sink) throws InterruptedException
    {
        final List<Future<?>> futures = new ArrayList<>(seeds.length);
        for (final long seed : seeds)
        {
            futures.add(pool.submit(() ->
            {
                final Path dir = scratch.resolve("seed-" + seed);
                TraceFiles.delete(dir);
                final RunResult r = SeedRun.record(spec, ScenarioCatalog.load(loader), seed, dir, "local");
                if (r.localTrace == null)
                {
                    TraceFiles.delete(dir);
                }
                sink.accept(r);
                return null;
            }));
        }
        try
        {
            for (final Future<?> f : futures)
            {
                f.get();
            }
        }
        catch (final ExecutionException e)
        {
            for (final Future<?> f : futures)
            {
                f.cancel(false);
            }
            final Throwable c = e.getCause();
            if (c instanceof RuntimeException)
            {
                throw (RuntimeException)c;
            }
            if (c instanceof Error)
            {
                throw (Error)c;
            }
            throw new IllegalStateException(c);
        }
        catch (final InterruptedException e)
        {
            for (final Future<?> f : futures)
            {
                f.cancel(false);
            }
            throw e;
        }
    }

    @Override
    public String describe()
    {
        return jobs + " local worker" + (jobs == 1 ? "" : "s");
    }

    @Override
    public void close()
    {
        pool.shutdownNow();
    }
}
