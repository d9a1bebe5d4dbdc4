package palimpsest.analyzers.whowrote;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.core.Symbols;
import palimpsest.recorder.Recording;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;

/**
 * The who-wrote index against the trace itself: every answer equals a linear scan, the report's
 * context (backtrace, task, owner) from keyframes and tables equals the pass that {@link Probe}
 * makes, and an index of another trace, a damaged one, or one built in many runs is never wrong.
 */
class WhoWroteIndexTest
{
    @TempDir
    Path dir;

    private final ScenarioCatalog catalog = ScenarioCatalog.load();

    private Path record(final String name, final String scenario, final long seed, final long keyframeEvery)
    {
        final Path t = dir.resolve(name);
        new Recording(catalog.find(scenario)).schedule("seeded", seed).keyframeEvery(keyframeEvery).output(t).run();
        return t;
    }

    /** Every write of the trace, in event order: event, physical key (node << 48 | paddr), size. */
    private static final class Writes
    {
        long[] event = new long[1 << 16];
        long[] key = new long[1 << 16];
        int[] size = new int[1 << 16];
        int n;
        long events;

        static Writes of(final Path trace)
        {
            final Writes w = new Writes();
            try (TraceReader r = TraceReader.open(trace))
            {
                final TraceHeader h = r.header();
                final Event e = new Event();
                while (r.next(e))
                {
                    w.events++;
                    if (e.kind() <= EventKind.DMA_WRITE && EventKind.isWrite(e.kind()))
                    {
                        if (w.n == w.event.length)
                        {
                            w.event = Arrays.copyOf(w.event, w.n * 2);
                            w.key = Arrays.copyOf(w.key, w.n * 2);
                            w.size = Arrays.copyOf(w.size, w.n * 2);
                        }
                        final int node = EventKind.isDevice(e.cpu()) ? e.cpu() - 0x8000 : e.cpu() / h.cpusPerNode();
                        w.event[w.n] = e.index();
                        w.key[w.n] = (long)node << 48 | e.paddr();
                        w.size[w.n] = e.size();
                        w.n++;
                    }
                }
            }
            return w;
        }

        /** The linear answer: newest first, the last writer per byte (or every writer) of [key, key + len) before an event. */
        List<long[]> writers(final long at, final int len, final long before, final boolean all)
        {
            final List<long[]> out = new ArrayList<>();
            long uncovered = (1L << len) - 1;
            for (int i = n - 1; i >= 0 && (all || uncovered != 0); i--)
            {
                if (event[i] >= before || this.key[i] >= at + len || this.key[i] + size[i] <= at)
                {
                    continue;
                }
                long bytes = 0;
                for (long b = Math.max(at, this.key[i]); b < Math.min(at + len, this.key[i] + size[i]); b++)
                {
                    bytes |= 1L << (b - at);
                }
                if (all || (bytes & uncovered) != 0)
                {
                    out.add(new long[] {event[i], this.key[i], size[i]});
                    uncovered &= ~bytes;
                }
            }
            return out;
        }
    }

    private static void assertSameAnswers(final Writes w, final WhoWroteIndex idx, final long seed, final int queries)
    {
        final Random rnd = new Random(seed);
        for (int q = 0; q < queries; q++)
        {
            final int i = rnd.nextInt(w.n);
            final long page = w.key[i] & ~0xfffL;
            final int len = 1 + rnd.nextInt(8);
            final long off = Math.max(0, Math.min(4096 - len, (w.key[i] & 0xfff) + rnd.nextInt(w.size[i] + 8) - 4));
            final long key = page + off;
            final int pick = rnd.nextInt(3);
            final long before = pick == 0 ? Long.MAX_VALUE : pick == 1 ? w.event[i] + 1 : (rnd.nextLong() & Long.MAX_VALUE) % (w.events + 1);
            final boolean all = rnd.nextInt(5) == 0;
            final List<long[]> want = w.writers(key, len, before, all);
            final List<WhoWroteIndex.Write> got = idx.writers(key, len, before, all);
            final String what = "query " + q + ": " + Long.toHexString(key) + " len " + len + " before " + before + (all ? " --all" : "");
            assertEquals(want.size(), got.size(), what);
            for (int k = 0; k < want.size(); k++)
            {
                assertEquals(want.get(k)[0], got.get(k).event, what);
                assertEquals(want.get(k)[1], got.get(k).physAddr, what);
                assertEquals(want.get(k)[2], got.get(k).size, what);
            }
        }
    }

    @Test
    void everyAnswerEqualsALinearScanOfTheTrace()
    {
        final Path t = record("fork", "fork-cow", 5, 0);
        final Writes w = Writes.of(t);
        final WhoWroteIndex idx = WhoWroteIndex.openOrBuild(t, null);
        assertEquals(w.events, idx.events());
        assertEquals(w.n, idx.entries());
        assertTrue(idx.extent().complete());
        assertSameAnswers(w, idx, 42, 400);

        // Kernel accesses translate as the access itself did.
        final Random rnd = new Random(7);
        try (TraceReader r = TraceReader.open(t))
        {
            final Event e = new Event();
            int checked = 0;
            while (r.next(e))
            {
                if (e.kind() <= EventKind.RMW && e.vaddr() < 0 && rnd.nextInt(500) == 0)
                {
                    assertEquals(e.paddr(), idx.translate(e.vaddr(), e.index() + 1), "event " + e.index());
                    checked++;
                }
            }
            assertTrue(checked > 20, "kernel accesses checked: " + checked);
        }
    }

    @Test
    void aBuildInManyRunsIsTheSameFile() throws Exception
    {
        final Path t = record("boot", "boot", 3, 0);
        final WhoWroteIndex.BuildStats one = WhoWroteIndex.build(t, t.resolve("one.idx"), WhoWroteIndex.fingerprint(t), null);
        final WhoWroteIndex.BuildStats many = WhoWroteIndex.build(t, t.resolve("many.idx"), WhoWroteIndex.fingerprint(t), null, 997);
        assertEquals(1, one.runs);
        assertTrue(many.runs > 10, "runs: " + many.runs);
        assertArrayEquals(Files.readAllBytes(t.resolve("one.idx")), Files.readAllBytes(t.resolve("many.idx")));
        assertFalse(Files.exists(t.resolve(WhoWroteIndex.FILE + ".runs")), "the scratch runs are removed");
    }

    @Test
    void sightsFromKeyframesAndTablesEqualTheProbesPass()
    {
        int owned = 0;
        int objects = 0;
        for (final String scenario : new String[] {"fork-cow", "boot"})
        {
            final Path t = record(scenario + "-k", scenario, 2, 5_000);
            final WhoWroteIndex idx = WhoWroteIndex.openOrBuild(t, null);
            final Writes w = Writes.of(t);
            final TraceHeader h;
            try (TraceReader r = TraceReader.open(t))
            {
                h = r.header();
            }
            final Random rnd = new Random(scenario.hashCode());
            final List<Long> events = new ArrayList<>();
            for (int i = 0; i < 20; i++)
            {
                // Late writes mostly: more of the heap is allocated by then.
                events.add(w.event[w.n / 2 + rnd.nextInt(w.n - w.n / 2)]);
            }
            final List<Probe.Sight> want = Probe.look(t, Symbols.of(h, catalog), events);
            // The query's way: symbols from the recorded loaded image, states paged from keyframes and image.
            assertTrue(Files.isRegularFile(palimpsest.recorder.image.LoadedImage.of(t)));
            final Symbols symbols = Symbols.of(t, h, () -> catalog);
            assertEquals(Symbols.of(h, catalog).code().systemMap(), symbols.code().systemMap());
            final List<Probe.Sight> got = IndexedProbe.look(t, () -> catalog, symbols, idx, events);
            assertNotNull(got, scenario + ": no device write and no module unload, so no pass is needed");
            for (int i = 0; i < events.size(); i++)
            {
                final String what = scenario + " event " + events.get(i);
                assertEquals(want.get(i).event.index(), got.get(i).event.index(), what);
                assertEquals(want.get(i).task, got.get(i).task, what);
                assertArrayEquals(want.get(i).stack, got.get(i).stack, what);
                assertEquals(want.get(i).physKey, got.get(i).physKey, what);
                assertEquals(want.get(i).owner, got.get(i).owner, what);
                owned += want.get(i).owner.contains("Allocated by") ? 1 : 0;
                objects += want.get(i).owner.contains("belongs to the object") ? 1 : 0;
            }
        }
        assertTrue(owned > 5, "writes that hit allocated memory: " + owned);
        assertTrue(objects > 0, "writes that hit a slab object: " + objects);
    }

    @Test
    void anIndexOfAnotherTraceOrADamagedOneIsRebuiltNeverUsed() throws Exception
    {
        final Path a = record("a", "ipi-pingpong", 3, 0);
        final Path b = record("b", "ipi-pingpong", 4, 0);
        WhoWroteIndex.openOrBuild(b, null);
        Files.copy(WhoWroteIndex.fileOf(b), WhoWroteIndex.fileOf(a));
        final byte[] foreign = Files.readAllBytes(WhoWroteIndex.fileOf(a));
        final WhoWroteIndex idx = WhoWroteIndex.openOrBuild(a, null);
        assertFalse(Arrays.equals(foreign, Files.readAllBytes(WhoWroteIndex.fileOf(a))), "b's index was replaced");
        final Writes w = Writes.of(a);
        assertSameAnswers(w, idx, 3, 100);

        // An entry damaged on disk: the global checksum leaves the entries to the query, which finds it.
        try (RandomAccessFile f = new RandomAccessFile(WhoWroteIndex.fileOf(a).toFile(), "rw"))
        {
            f.seek(idx.entriesOffset() + 3);
            final int v = f.read();
            f.seek(idx.entriesOffset() + 3);
            f.write(v ^ 0x10);
        }
        final WhoWroteIndex damaged = WhoWroteIndex.openOrBuild(a, null);
        assertThrows(WhoWroteIndex.Damaged.class, () -> damaged.writers(damaged.pageAddress(0), 8, Long.MAX_VALUE, true));
        assertSameAnswers(w, WhoWroteIndex.rebuild(a, null), 4, 100);
    }
}
