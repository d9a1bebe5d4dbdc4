package palimpsest.hunt.cluster;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import com.hazelcast.client.HazelcastClient;
import com.hazelcast.cluster.Member;
import com.hazelcast.core.ExecutionCallback;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.IExecutorService;

import palimpsest.hunt.HuntSpec;
import palimpsest.hunt.RunResult;
import palimpsest.hunt.Runner;

/**
 * Runs seeds on a cluster of {@code pal worker} members, as a Hazelcast client: one
 * {@link SeedTask} per seed through the members' executor, never more at a member than its
 * {@code --jobs} (so a dying member takes few runs with it and a new member gets work at once).
 * A task that does not come back (its member died, left, or stopped during the run) goes back to
 * the front of the queue and runs on another member; as a run depends on its spec and seed alone,
 * its result is the one the dead member would have sent.
 */
public final class ClusterRunner implements Runner
{
    /** A seed that fails this often on the cluster (not by its own verdict: by not coming back) stops the hunt. */
    static final int MAX_ATTEMPTS = 20;
    /** A member a task did not come back from gets no new task for this long (it may be dying, or gone already). */
    static final long SUSPECT_NANOS = 1_000_000_000L;

    private final HazelcastInstance client;
    private final List<String> addresses;
    private final IExecutorService executor;
    private final AtomicLong retries = new AtomicLong();

    private final Object lock = new Object();
    private final ArrayDeque<Long> pending = new ArrayDeque<>();
    private final Map<Long, Integer> attempts = new HashMap<>();
    private final Map<String, Integer> inFlight = new HashMap<>();
    /** Member key -> System.nanoTime() until which it gets no new task. */
    private final Map<String, Long> suspectUntil = new HashMap<>();
    private int remaining;
    private RuntimeException fatal;
    private final int membersAtStart;

    /** With no member for this long, the hunt gives up (members that come back sooner are used again). */
    private final long lostAfterNanos;

    private ClusterRunner(final HazelcastInstance client, final List<String> addresses, final long connectTimeoutMillis)
    {
        this.lostAfterNanos = Math.max(1, connectTimeoutMillis) * 1_000_000L;
        this.client = client;
        this.addresses = addresses;
        this.executor = client.getExecutorService(Hazelcasts.EXECUTOR);
        this.membersAtStart = client.getCluster().getMembers().size();
    }

    /**
     * Connects to the cluster at addresses.
     *
     * @throws IllegalArgumentException (one line) when no member answers within connectTimeoutMillis.
     */
    public static ClusterRunner connect(final List<String> addresses, final long connectTimeoutMillis)
    {
        return connect(Hazelcasts.CLUSTER_NAME, addresses, connectTimeoutMillis);
    }

    /** The same for the cluster of that name ({@code pal worker --name}). */
    public static ClusterRunner connect(final String name, final List<String> addresses, final long connectTimeoutMillis)
    {
        try
        {
            return new ClusterRunner(HazelcastClient.newHazelcastClient(Hazelcasts.client(name, addresses, connectTimeoutMillis)),
                addresses, connectTimeoutMillis);
        }
        catch (final RuntimeException e)
        {
            throw new IllegalArgumentException("cannot reach a pal worker cluster" +
                (Hazelcasts.CLUSTER_NAME.equals(name) ? "" : " named " + name) + " at " + String.join(",", addresses) +
                " (start one with: pal worker --port PORT)", e);
        }
    }

    /** Tasks sent again because they did not come back (for tests and the report). */
    public long retries()
    {
        return retries.get();
    }

    public int members()
    {
        return hasMembers() ? client.getCluster().getMembers().size() : 0;
    }

    @Override
    public void run(final HuntSpec spec, final long[] seeds, final Consumer<RunResult> sink) throws InterruptedException
    {
        synchronized (lock)
        {
            pending.clear();
            attempts.clear();
            for (final long s : seeds)
            {
                pending.addLast(s);
            }
            remaining = seeds.length;
            fatal = null;
        }
        while (true)
        {
            final Member target;
            final long seed;
            synchronized (lock)
            {
                long memberSeen = System.nanoTime();
                while (fatal == null && remaining > 0 && (pending.isEmpty() || freeMember() == null))
                {
                    lock.wait(200);
                    if (hasMembers())
                    {
                        memberSeen = System.nanoTime();
                    }
                    else if (System.nanoTime() - memberSeen > lostAfterNanos)
                    {
                        fatal = new IllegalArgumentException("lost every member of the cluster at " + String.join(",", addresses) +
                            " with " + remaining + " run" + (remaining == 1 ? "" : "s") + " left");
                    }
                }
                if (fatal != null)
                {
                    throw fatal;
                }
                if (remaining == 0)
                {
                    return;
                }
                target = freeMember();
                seed = pending.pollFirst();
                inFlight.merge(key(target), 1, Integer::sum);
            }
            submit(spec, seed, target, sink);
        }
    }

    private void submit(final HuntSpec spec, final long seed, final Member target, final Consumer<RunResult> sink)
    {
        final String key = key(target);
        try
        {
            executor.submitToMember(new SeedTask(spec, seed), target, new ExecutionCallback<RunResult>()
            {
                @Override
                public void onResponse(final RunResult r)
                {
                    try
                    {
                        sink.accept(r);
                        finished(key, null);
                    }
                    catch (final RuntimeException e)
                    {
                        finished(key, e);
                    }
                }

                @Override
                public void onFailure(final Throwable t)
                {
                    lost(key, seed, t);
                }
            });
        }
        catch (final RuntimeException e)
        {
            lost(key, seed, e);
        }
    }

    private void finished(final String key, final RuntimeException error)
    {
        synchronized (lock)
        {
            inFlight.merge(key, -1, Integer::sum);
            remaining--;
            if (error != null && fatal == null)
            {
                fatal = error;
            }
            lock.notifyAll();
        }
    }

    private void lost(final String key, final long seed, final Throwable t)
    {
        final Throwable cause = rootCause(t);
        synchronized (lock)
        {
            inFlight.merge(key, -1, Integer::sum);
            suspectUntil.put(key, System.nanoTime() + SUSPECT_NANOS);
            if (cause instanceof IllegalArgumentException)
            {
                // The run itself rejected the spec (e.g. a scenario this member lacks): no member will do better.
                if (fatal == null)
                {
                    fatal = new IllegalArgumentException(cause.getMessage(), cause);
                }
            }
            else if (attempts.merge(seed, 1, Integer::sum) >= MAX_ATTEMPTS)
            {
                if (fatal == null)
                {
                    fatal = new IllegalStateException("seed " + seed + " did not come back from the cluster after " +
                        MAX_ATTEMPTS + " attempts: " + cause, cause);
                }
            }
            else
            {
                retries.incrementAndGet();
                pending.addFirst(seed);
            }
            lock.notifyAll();
        }
    }

    private boolean hasMembers()
    {
        try
        {
            return client.getLifecycleService().isRunning() && !client.getCluster().getMembers().isEmpty();
        }
        catch (final RuntimeException e)
        {
            return false;
        }
    }

    /**
     * The member with the most free slots (its --jobs minus runs in flight there), leaving out those
     * a task just failed to come back from, or null.
     */
    private Member freeMember()
    {
        Member best = null;
        int bestFree = 0;
        final long now = System.nanoTime();
        if (!hasMembers())
        {
            return null;
        }
        for (final Member m : client.getCluster().getMembers())
        {
            final Long until = suspectUntil.get(key(m));
            if (until != null && until - now > 0)
            {
                continue;
            }
            int jobs = 1;
            try
            {
                jobs = Math.max(1, Integer.parseInt(m.getAttribute(Hazelcasts.JOBS_ATTRIBUTE)));
            }
            catch (final RuntimeException ignored)
            {
                // a member without the attribute takes one at a time
            }
            final int free = jobs - inFlight.getOrDefault(key(m), 0);
            if (free > bestFree)
            {
                best = m;
                bestFree = free;
            }
        }
        return best;
    }

    private static String key(final Member m)
    {
        return m.getUuid().toString();
    }

    private static Throwable rootCause(final Throwable t)
    {
        Throwable c = t;
        while ((c instanceof java.util.concurrent.ExecutionException || c instanceof java.util.concurrent.CompletionException) &&
            c.getCause() != null)
        {
            c = c.getCause();
        }
        return c;
    }

    @Override
    public String describe()
    {
        final int now = members();
        final long again = retries();
        return "cluster at " + String.join(",", addresses) + " (" + membersAtStart + " member" + (membersAtStart == 1 ? "" : "s") +
            (now != membersAtStart ? " at the start, " + now + " at the end" : "") +
            (again > 0 ? "; " + again + " run" + (again == 1 ? "" : "s") + " sent again after losing a member" : "") + ")";
    }

    @Override
    public void close()
    {
        client.shutdown();
    }
}
