package palimpsest.hunt.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;

import palimpsest.hunt.TraceFiles;

/**
 * {@code pal worker}: a Hazelcast member that takes hunt runs ({@link SeedTask}) from its
 * executor, {@code jobs} at a time, recording each into its own scratch directory and sending back
 * only the result (and a failure's packed trace).
 */
public final class Worker implements AutoCloseable
{
    static final String SCRATCH_KEY = "pal.scratch";
    /** User-context key of the class loader scenarios (built-in and --plugin jars) are found through. */
    static final String LOADER_KEY = "pal.loader";

    private final HazelcastInstance member;
    private final Path scratch;
    private final int jobs;

    private Worker(final HazelcastInstance member, final Path scratch, final int jobs)
    {
        this.member = member;
        this.scratch = scratch;
        this.jobs = jobs;
    }

    /**
     * Starts a member bound to bind, on port (or the next free one above it), joining the members
     * at join (empty: the first member of a new cluster).
     *
     * @param scratch where runs in progress are recorded (null: a new temporary directory)
     */
    public static Worker start(final String bind, final int port, final List<String> join, final int jobs, final Path scratch)
    {
        return start(Hazelcasts.CLUSTER_NAME, bind, port, join, jobs, scratch);
    }

    /** The same in the cluster of that name (a hunt must connect with the same name). */
    public static Worker start(final String name, final String bind, final int port, final List<String> join, final int jobs,
        final Path scratch)
    {
        return start(name, bind, port, join, jobs, scratch, Worker.class.getClassLoader());
    }

    /** The same, finding scenarios and patches through loader (e.g. one over --plugin jars). */
    public static Worker start(final String name, final String bind, final int port, final List<String> join, final int jobs,
        final Path scratch, final ClassLoader loader)
    {
        if (jobs < 1)
        {
            throw new IllegalArgumentException("--jobs must be at least 1, got " + jobs);
        }
        final Path dir;
        try
        {
            dir = scratch != null ? Files.createDirectories(scratch) : palimpsest.trace.TempDirs.create("pal-worker-");
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot create the worker's scratch directory: " + e.getMessage(), e);
        }
        final Config c = Hazelcasts.member(name, bind, port, join, jobs);
        c.getUserContext().put(SCRATCH_KEY, dir);
        c.getUserContext().put(LOADER_KEY, loader);
        final HazelcastInstance m;
        try
        {
            m = Hazelcast.newHazelcastInstance(c);
        }
        catch (final RuntimeException e)
        {
            throw new IllegalArgumentException("cannot start a worker on " + bind + ":" + port + ": " + e.getMessage(), e);
        }
        return new Worker(m, dir, jobs);
    }

    /** host:port this member listens on. */
    public String address()
    {
        final InetSocketAddress a = (InetSocketAddress)member.getCluster().getLocalMember().getSocketAddress();
        return a.getHostString() + ":" + a.getPort();
    }

    public int clusterSize()
    {
        return member.getCluster().getMembers().size();
    }

    public int jobs()
    {
        return jobs;
    }

    public HazelcastInstance instance()
    {
        return member;
    }

    /** Dies at once, as a killed process would: no goodbye, running tasks are lost to this member. */
    public void kill()
    {
        member.getLifecycleService().terminate();
    }

    public boolean running()
    {
        return member.getLifecycleService().isRunning();
    }

    /** Leaves the cluster cleanly and removes the scratch directory. */
    @Override
    public void close()
    {
        if (member.getLifecycleService().isRunning())
        {
            member.shutdown();
        }
        try
        {
            TraceFiles.delete(scratch);
        }
        catch (final UncheckedIOException ignored)
        {
            // a run killed with the member may still be writing there
        }
    }
}
