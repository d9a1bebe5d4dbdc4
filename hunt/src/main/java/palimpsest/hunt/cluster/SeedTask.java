package palimpsest.hunt.cluster;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceAware;

import palimpsest.hunt.HuntSpec;
import palimpsest.hunt.RunResult;
import palimpsest.hunt.SeedRun;
import palimpsest.hunt.TraceFiles;
import palimpsest.recorder.ScenarioCatalog;

/**
 * One seed of a hunt, run on whichever member takes it: record, judge, and pack the trace of a
 * failure; nothing of a passing run leaves the member. A member that is shutting down when the run
 * ends throws instead of answering, so a run cut short by a dying member is never a result.
 */
final class SeedTask implements Callable<RunResult>, Serializable, HazelcastInstanceAware
{
    private static final long serialVersionUID = 1L;

    private final HuntSpec spec;
    private final long seed;
    private transient HazelcastInstance member;

    SeedTask(final HuntSpec spec, final long seed)
    {
        this.spec = spec;
        this.seed = seed;
    }

    @Override
    public void setHazelcastInstance(final HazelcastInstance instance)
    {
        this.member = instance;
    }

    @Override
    public RunResult call()
    {
        final Path scratch = (Path)member.getUserContext().get(Worker.SCRATCH_KEY);
        final Path dir;
        try
        {
            dir = Files.createTempDirectory(scratch, "seed-" + seed + "-");
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot create a run directory in " + scratch + ": " + e.getMessage(), e);
        }
        final ClassLoader loader = (ClassLoader)member.getUserContext().getOrDefault(Worker.LOADER_KEY, SeedTask.class.getClassLoader());
        final Thread self = Thread.currentThread();
        final ClassLoader before = self.getContextClassLoader();
        // Kernel scenarios find plugin patches through the context class loader.
        self.setContextClassLoader(loader);
        try
        {
            final RunResult r = SeedRun.record(spec, ScenarioCatalog.load(loader), seed, dir, address(member));
            final RunResult out = r.failed() ? r.withPacked(TraceFiles.pack(dir)) : r;
            if (!member.getLifecycleService().isRunning())
            {
                throw new IllegalStateException("member " + address(member) + " stopped during the run of seed " + seed);
            }
            return out;
        }
        finally
        {
            self.setContextClassLoader(before);
            TraceFiles.delete(dir);
        }
    }

    static String address(final HazelcastInstance m)
    {
        final InetSocketAddress a = (InetSocketAddress)m.getCluster().getLocalMember().getSocketAddress();
        return a.getHostString() + ":" + a.getPort();
    }
}
