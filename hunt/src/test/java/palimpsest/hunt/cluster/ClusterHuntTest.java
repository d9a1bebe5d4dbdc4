package palimpsest.hunt.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.IExecutorService;

import palimpsest.emulator.Verdict;
import palimpsest.hunt.Campaign;
import palimpsest.hunt.HuntReport;
import palimpsest.hunt.HuntSpec;
import palimpsest.hunt.LocalRunner;
import palimpsest.hunt.RunResult;
import palimpsest.hunt.SeedRange;

/**
 * Three workers on loopback in this JVM: a 50-seed hunt across them with one member killed in the
 * middle ends exactly as the same hunt on one local worker; a trace recorded on one member replays
 * bit for bit on another.
 */
class ClusterHuntTest
{
    static final HuntSpec SPEC = new HuntSpec("racy-counter", 1, 2, 4, "chaos", "", List.of(), java.util.Map.of("rounds", "20"));
    static final List<Worker> WORKERS = new ArrayList<>();
    /** Its own cluster: another build running this test at the same time must not join ours. */
    static final String NAME = "pal-test-" + java.util.UUID.randomUUID();

    @TempDir
    Path tmp;

    @BeforeAll
    static void startWorkers()
    {
        final Worker first = Worker.start(NAME, "127.0.0.1", 15701, List.of(), 1, null);
        WORKERS.add(first);
        for (int i = 1; i < 3; i++)
        {
            WORKERS.add(Worker.start(NAME, "127.0.0.1", 15701, List.of(first.address()), 1, null));
        }
        assertEquals(3, first.clusterSize(), "three members in one cluster");
        for (final Worker w : WORKERS)
        {
            assertTrue(w.address().startsWith("127.0.0.1:"), "bound to loopback: " + w.address());
        }
    }

    @AfterAll
    static void stopWorkers()
    {
        for (final Worker w : WORKERS)
        {
            w.close();
        }
    }

    @Test
    void aMemberKilledMidCampaignLosesNothing() throws Exception
    {
        final HuntReport local;
        try (LocalRunner r = new LocalRunner(1, getClass().getClassLoader(), tmp.resolve("local/.work")))
        {
            local = new Campaign(SPEC, SeedRange.parse("1..50"), tmp.resolve("local")).run(r);
        }
        assertTrue(local.bad > 0 && local.good > 0);

        final Worker victim = WORKERS.get(2);
        final List<String> addresses = List.of(WORKERS.get(0).address(), WORKERS.get(1).address());
        final Campaign campaign = new Campaign(SPEC, SeedRange.parse("1..50"), tmp.resolve("cluster"));
        final AtomicReference<Object> outcome = new AtomicReference<>();
        try (ClusterRunner runner = ClusterRunner.connect(NAME, addresses, 10_000))
        {
            assertEquals(3, runner.members());
            final Thread hunt = new Thread(() ->
            {
                try
                {
                    outcome.set(campaign.run(runner));
                }
                catch (final Throwable t)
                {
                    outcome.set(t);
                }
            });
            hunt.start();
            while (campaign.done() < 12 && hunt.isAlive())
            {
                Thread.sleep(5);
            }
            victim.kill();
            hunt.join(120_000);
            assertTrue(outcome.get() instanceof HuntReport, "the hunt finished: " + outcome.get());
            assertTrue(runner.retries() > 0, "the killed member's run was sent again");
        }
        final HuntReport cluster = (HuntReport)outcome.get();
        assertEquals(50, cluster.entries.size());
        assertEquals(local.entries, cluster.entries, "same verdict, signature, digest and trace for every seed");
        assertEquals(local.groups, cluster.groups, "same groups and seeds as --jobs 1");
    }

    @Test
    void aTraceRecordedOnOneMemberReplaysBitForBitOnAnother() throws Exception
    {
        final HazelcastInstance a = WORKERS.get(0).instance();
        final Member ma = a.getCluster().getLocalMember();
        final Member mb = WORKERS.get(1).instance().getCluster().getLocalMember();
        final IExecutorService ex = a.getExecutorService(Hazelcasts.EXECUTOR);
        RunResult bad = null;
        for (long seed = 1; bad == null && seed < 60; seed++)
        {
            final RunResult r = ex.submitToMember(new SeedTask(SPEC, seed), ma).get();
            bad = r.kind == Verdict.Kind.BAD ? r : null;
        }
        assertNotNull(bad, "some seed fails");
        assertNotNull(bad.packed, "a failure comes back packed");
        final ReplayTask.Check check = ex.submitToMember(new ReplayTask(bad.packed), mb).get();
        assertNotEquals(bad.worker, check.member(), "replayed elsewhere");
        assertEquals(bad.digest, check.digest(), "the same trace arrived");
        assertTrue(check.verifiedAll(), "every event regenerated as recorded: " + check.divergence());
        assertEquals(bad.events, check.verified());
    }

    @Test
    void losingEveryMemberStopsTheHuntWithWhatFinishedKept() throws Exception
    {
        final String name = NAME + "-alone";
        final Worker alone = Worker.start(name, "127.0.0.1", 15751, List.of(), 1, null);
        final Campaign campaign = new Campaign(SPEC, SeedRange.parse("1..100000"), tmp.resolve("lost"));
        final AtomicReference<Throwable> error = new AtomicReference<>();
        try (ClusterRunner runner = ClusterRunner.connect(name, List.of(alone.address()), 1_000))
        {
            final Thread hunt = new Thread(() ->
            {
                try
                {
                    campaign.run(runner);
                }
                catch (final Throwable t)
                {
                    error.set(t);
                }
            });
            hunt.start();
            while (campaign.done() < 3 && hunt.isAlive())
            {
                Thread.sleep(5);
            }
            alone.kill();
            hunt.join(60_000);
            assertTrue(error.get() instanceof IllegalArgumentException && error.get().getMessage().startsWith("lost every member"),
                "one line, not a hang: " + error.get());
        }
        finally
        {
            alone.close();
        }
        assertTrue(palimpsest.hunt.Manifest.read(tmp.resolve("lost")).size() >= 3, "finished runs kept for --resume");
    }

    @Test
    void anUnreachableClusterIsOneLine()
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> ClusterRunner.connect(List.of("127.0.0.1:1"), 500));
        assertTrue(e.getMessage().startsWith("cannot reach a pal worker cluster at 127.0.0.1:1"), e.getMessage());
    }
}
