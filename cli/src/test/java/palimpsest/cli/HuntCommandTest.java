package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;
import palimpsest.hunt.Manifest;

/** {@code pal hunt} end to end: the table, the kept traces, resume, and every bad input as one line. */
class HuntCommandTest
{
    @TempDir
    Path tmp;

    @Test
    void groupsAKernelOopsByItsFunctionAndKeepsTheTraces()
    {
        final Path dir = tmp.resolve("h");
        final Result r = pal("hunt", "--scenario", "text-poke-scribble", "--kernel", "v2.6.25-git2", "--seeds", "1..2",
            "--schedule", "chaos", "--jobs", "2", "--analyze", "-o", dir.toString());
        assertEquals(1, r.rc(), r.toString());
        assertTrue(r.out().contains("2 runs (2 new"), r.out());
        assertTrue(r.out().contains("0 good, 2 bad, 0 skip; 1 signature"), r.out());
        assertTrue(r.out().contains("      2           1  __d_lookup | bad: oops in __d_lookup: paging request at ADDR  " +
            dir.resolve("traces/seed-1")), r.out());
        assertTrue(r.out().contains("cause (pal analyze, seed 1): [code] code write of 0x3e by text_poke <- alternatives_smp_unlock"),
            "the group names the code that made the state bad: " + r.out());
        final Result replay = pal("replay", dir.resolve("traces/seed-2").toString());
        assertEquals(0, replay.rc(), "replays bit for bit: " + replay);
        assertTrue(replay.out().contains("verdict  bad: oops in __d_lookup"), replay.out());
        assertTrue(replay.out().contains("events verified"), replay.out());
    }

    @Test
    void resumeRunsOnlyTheNewSeedsAndPassingRunsLeaveOnlyALine() throws Exception
    {
        final Path dir = tmp.resolve("g");
        final Result first = pal("hunt", "--scenario", "tlb-stale", "--seeds", "1..3", "--jobs", "1", "-o", dir.toString());
        assertEquals(0, first.rc(), first.toString());
        assertTrue(first.out().contains("3 runs (3 new"), first.out());
        final Result again = pal("hunt", "--resume", dir.toString(), "--seeds", "1..5");
        assertEquals(0, again.rc(), again.toString());
        assertTrue(again.out().contains("5 runs (2 new"), again.out());
        assertTrue(again.out().contains("5 good, 0 bad, 0 skip; 0 signatures"), again.out());
        final List<Manifest.Entry> entries = Manifest.read(dir);
        assertEquals(5, entries.size());
        try (var s = Files.list(dir.resolve("traces")))
        {
            assertEquals(0, s.count(), "nothing kept of passing runs");
        }
    }

    @Test
    void palWorkerServesAHuntAndStopsWithItsMember() throws Exception
    {
        final String name = "pal-worker-test-" + java.util.UUID.randomUUID();
        final java.util.concurrent.atomic.AtomicReference<Result> worker = new java.util.concurrent.atomic.AtomicReference<>();
        final Thread t = new Thread(() -> worker.set(pal("worker", "--port", "15851", "--name", name, "--jobs", "1")));
        t.start();
        com.hazelcast.core.HazelcastInstance member = null;
        for (int i = 0; i < 600 && member == null; i++)
        {
            member = com.hazelcast.core.Hazelcast.getAllHazelcastInstances().stream()
                .filter(h -> h.getConfig().getClusterName().equals(name) && h.getLifecycleService().isRunning())
                .findFirst().orElse(null);
            Thread.sleep(50);
        }
        assertTrue(member != null, "pal worker started a member");
        final java.net.InetSocketAddress a = (java.net.InetSocketAddress)member.getCluster().getLocalMember().getSocketAddress();
        assertEquals("127.0.0.1", a.getHostString(), "bound to loopback by default");
        final Path dir = tmp.resolve("w");
        final Result h = pal("hunt", "--scenario", "tlb-stale", "--seeds", "1..4", "-o", dir.toString(),
            "--cluster", "127.0.0.1:" + a.getPort(), "--name", name);
        assertEquals(0, h.rc(), h.toString());
        assertTrue(h.out().contains("4 runs (4 new") && h.out().contains("(1 member)"), h.out());
        member.shutdown();
        t.join(30_000);
        assertEquals(0, worker.get().rc(), worker.get().toString());
        assertTrue(worker.get().out().startsWith("pal worker 127.0.0.1:" + a.getPort() + ": in a cluster of 1, 1 run at once"),
            worker.get().out());
    }

    @Test
    void badInputIsOneLine() throws Exception
    {
        final Path dir = tmp.resolve("b");
        bad("bad seed range", "hunt", "--scenario", "tlb-stale", "--seeds", "9..3", "-o", dir.toString());
        bad("bad seed range", "hunt", "--scenario", "tlb-stale", "--seeds", "x", "-o", dir.toString());
        bad("unknown scenario", "hunt", "--scenario", "nope", "--seeds", "1..3", "-o", dir.toString());
        bad("cannot reach a pal worker cluster at 127.0.0.1:1", "hunt", "--scenario", "tlb-stale", "--seeds", "1..3",
            "-o", dir.toString(), "--cluster", "127.0.0.1:1", "--connect-timeout", "0.5");
        bad("--cluster wants host:port", "hunt", "--scenario", "tlb-stale", "--seeds", "1..3", "-o", dir.toString(), "--cluster", "nohost");
        bad("needs --scenario", "hunt", "--seeds", "1..3");
        bad("holds no hunt campaign", "hunt", "--resume", tmp.resolve("none").toString());
        bad("--kernel and --patch do not apply", "hunt", "--scenario", "tlb-stale", "--seeds", "1", "--kernel", "v0.1", "-o", dir.toString());
        bad("--jobs must be", "hunt", "--scenario", "tlb-stale", "--seeds", "1", "--jobs", "0", "-o", dir.toString());
        bad("rounds must be", "hunt", "--scenario", "ipi-pingpong", "--seeds", "1", "--arg", "rounds=0", "-o", dir.toString());
        bad("--join wants host:port", "worker", "--join", "x");
        final Path done = tmp.resolve("done");
        assertEquals(0, pal("hunt", "--scenario", "tlb-stale", "--seeds", "1", "-o", done.toString()).rc());
        bad("holds a campaign already", "hunt", "--scenario", "tlb-stale", "--seeds", "1", "-o", done.toString());
        bad("differ from the campaign", "hunt", "--resume", done.toString(), "--scenario", "boot");
    }

    private static void bad(final String expect, final String... args)
    {
        final Result r = pal(args);
        assertEquals(2, r.rc(), String.join(" ", args) + "\n" + r);
        BadInputTest.assertOneLine(r);
        assertTrue(r.err().contains(expect), "'" + expect + "' in:\n" + r);
    }
}
