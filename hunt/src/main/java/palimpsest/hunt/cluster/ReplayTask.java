package palimpsest.hunt.cluster;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceAware;

import palimpsest.hunt.TraceFiles;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.Replay;
import palimpsest.replayer.ReplayResult;
import palimpsest.trace.TraceReader;

/**
 * Replays a packed trace on the member that takes it and verifies every event against the
 * recording: how a trace recorded on one machine is shown to replay bit for bit on another.
 */
public final class ReplayTask implements Callable<ReplayTask.Check>, Serializable, HazelcastInstanceAware
{
    private static final long serialVersionUID = 1L;

    /** What the replaying member found. */
    public record Check(String member, long digest, long events, long verified, boolean verifiedAll, String divergence)
        implements Serializable
    {
    }

    private final byte[] packed;
    private transient HazelcastInstance member;

    public ReplayTask(final byte[] packed)
    {
        this.packed = packed.clone();
    }

    @Override
    public void setHazelcastInstance(final HazelcastInstance instance)
    {
        this.member = instance;
    }

    @Override
    public Check call()
    {
        final Path scratch = (Path)member.getUserContext().get(Worker.SCRATCH_KEY);
        final Path dir;
        try
        {
            dir = Files.createTempDirectory(scratch, "replay-");
            Files.delete(dir);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
        try
        {
            TraceFiles.unpack(packed, dir);
            final long digest;
            final long events;
            try (TraceReader r = TraceReader.open(dir))
            {
                r.verify();
                digest = r.digest();
                events = r.eventsVerified();
            }
            final ClassLoader loader = (ClassLoader)member.getUserContext().getOrDefault(Worker.LOADER_KEY,
                ReplayTask.class.getClassLoader());
            final ReplayResult rr = new Replay(dir, ScenarioCatalog.load(loader)).run();
            return new Check(SeedTask.address(member), digest, events, rr.verified, rr.verifiedAll(),
                rr.divergence == null ? null : rr.divergence.toString());
        }
        finally
        {
            TraceFiles.delete(dir);
        }
    }
}
