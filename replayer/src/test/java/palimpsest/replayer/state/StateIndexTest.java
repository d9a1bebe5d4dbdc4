package palimpsest.replayer.state;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.recorder.Recording;
import palimpsest.recorder.RecordingSummary;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.recorder.keyframe.KeyframeFile;
import palimpsest.trace.Event;
import palimpsest.trace.TraceReader;

class StateIndexTest
{
    @TempDir
    Path dir;

    private final ScenarioCatalog catalog = ScenarioCatalog.load();

    private static void assertSameState(final TraceState want, final TraceState got)
    {
        assertEquals(want.position(), got.position());
        for (int node = 0; node < want.config().nodes; node++)
        {
            assertArrayEquals(want.memory(node).array(), got.memory(node).array(), "memory of node " + node);
        }
        for (int cpu = 0; cpu < want.cpuCount(); cpu++)
        {
            assertTrue(want.regs(cpu).sameAs(got.regs(cpu)), want.regs(cpu) + " vs " + got.regs(cpu));
        }
    }

    private TraceState streamed(final Path trace, final long n)
    {
        final TraceState st = TraceState.initial(trace, catalog);
        try (TraceReader r = TraceReader.open(trace))
        {
            st.advanceTo(r, new Event(), n);
        }
        return st;
    }

    @Test
    void recordedKeyframesGiveTheSameStateAsStreamingFromEventZero() throws IOException
    {
        final Path trace = dir.resolve("wc");
        final Recording rec = new Recording(catalog.find("word-count")).schedule("chaos", 7).keyframeEvery(20_000).output(trace);
        final RecordingSummary s = rec.run();
        assertTrue(rec.keyframes() >= 3, "keyframes written: " + rec.keyframes());
        assertEquals(s.events() / 20_000, rec.keyframes());
        assertTrue(Files.size(KeyframeFile.of(trace)) > 0);
        final StateIndex index = StateIndex.open(trace, catalog);
        for (final long n : new long[] {0, 1, 19_999, 20_000, 20_001, 45_678, s.events() - 1, s.events()})
        {
            final TraceState got = index.at(n);
            assertNull(index.note(), "recorded keyframes are used as they are");
            assertEquals(n / 20_000, index.keyframesUsed(), "nearest keyframe at or before " + n);
            assertSameState(streamed(trace, n), got);
        }
        final StateIndex.BeyondEnd e = assertThrows(StateIndex.BeyondEnd.class, () -> index.at(s.events() + 1));
        assertTrue(e.getMessage().contains("it has " + s.events() + " events"), e.getMessage());
    }

    @Test
    void missingOrDamagedKeyframesAreRebuiltInOnePass() throws IOException
    {
        final Path trace = dir.resolve("ipi");
        final RecordingSummary s = new Recording(catalog.find("ipi-pingpong")).schedule("seeded", 3).keyframeEvery(0)
            .output(trace).run();
        assertTrue(Files.notExists(KeyframeFile.of(trace)), "--keyframe-every 0 writes none");
        final long n = s.events() * 2 / 3;
        final StateIndex index = StateIndex.open(trace, catalog, 2_000);
        final TraceState first = index.at(n);
        assertNotNull(index.note());
        assertTrue(index.note().startsWith("keyframes rebuilt (no keyframes)"), index.note());
        assertEquals(n / 2_000, index.keyframesUsed());
        assertSameState(streamed(trace, n), first);

        // Damage one byte in the middle of the rebuilt file: detected by the checksum, rebuilt again.
        try (RandomAccessFile f = new RandomAccessFile(KeyframeFile.of(trace).toFile(), "rw"))
        {
            final long at = f.length() / 2;
            f.seek(at);
            final int b = f.read();
            f.seek(at);
            f.write(b ^ 0x5A);
        }
        final StateIndex again = StateIndex.open(trace, catalog, 2_000);
        final TraceState second = again.at(n);
        assertTrue(again.note() != null && again.note().contains("damaged"), String.valueOf(again.note()));
        assertSameState(streamed(trace, n), second);
        final StateIndex third = StateIndex.open(trace, catalog, 2_000);
        third.at(n);
        assertNull(third.note(), "the rebuilt file is good");
    }

    @Test
    void theKeyframeIndexGivesRandomAccessWithTheSameStates() throws IOException
    {
        final Path trace = dir.resolve("wc-random");
        final RecordingSummary s = new Recording(catalog.find("word-count")).schedule("seeded", 2).keyframeEvery(15_000)
            .output(trace).run();
        final StateIndex index = StateIndex.open(trace, catalog);
        final java.util.Random rnd = new java.util.Random(17);
        for (int i = 0; i < 6; i++)
        {
            final long n = i == 0 ? s.events() : (rnd.nextLong() & Long.MAX_VALUE) % s.events();
            final TraceState got = index.at(n);
            assertNull(index.note());
            assertEquals(n / 15_000, index.keyframesUsed(), "nearest keyframe at or before " + n);
            assertSameState(streamed(trace, n), got);
        }
        assertTrue(Files.isRegularFile(KeyframeIndex.of(trace)), "the index is kept next to the trace");
        final Event e0 = new Event();
        final TraceExtent x = index.extent();
        assertTrue(x.complete());
        assertEquals(s.events(), x.events);

        // Going forward from the last state (keyframes applied over it) gives the same states.
        TraceState reuse = null;
        for (final long n : new long[] {15_000, 15_001, 29_999, 47_000, s.events() - 3})
        {
            reuse = index.at(n, new Event(), reuse);
            assertSameState(streamed(trace, n), reuse);
        }

        // The event itself comes with the state before it (at a keyframe too).
        index.at(30_000, e0);
        assertEquals(30_000, e0.index());

        final Event e = new Event();
        index.at(s.events() / 2, e);
        assertEquals(s.events() / 2, e.index());
        index.at(s.events(), e);
        assertEquals(-1, e.index(), "no event at the end");
    }

    @Test
    void aForeignOrStaleKeyframeIndexIsRebuiltNeverApplied() throws IOException
    {
        final Path a = dir.resolve("a");
        final Path b = dir.resolve("b");
        final RecordingSummary sa = new Recording(catalog.find("ipi-pingpong")).schedule("seeded", 3).keyframeEvery(2_000).output(a).run();
        new Recording(catalog.find("ipi-pingpong")).schedule("seeded", 4).keyframeEvery(2_000).output(b).run();
        final long n = sa.events() - 5;
        StateIndex.open(b, catalog).at(n / 2);
        Files.copy(KeyframeIndex.of(b), KeyframeIndex.of(a));
        final byte[] foreign = Files.readAllBytes(KeyframeIndex.of(a));
        assertSameState(streamed(a, n), StateIndex.open(a, catalog).at(n));
        assertTrue(!java.util.Arrays.equals(foreign, Files.readAllBytes(KeyframeIndex.of(a))), "b's index was replaced by a's");

        // A page of the last keyframe changed after the index was built, at the same modification time
        // (a change within one tick of the file clock): the page's hash catches it.
        final Path kryo = KeyframeFile.of(a);
        final java.nio.file.attribute.FileTime t = Files.getLastModifiedTime(kryo);
        try (RandomAccessFile f = new RandomAccessFile(kryo.toFile(), "rw"))
        {
            final long at = f.length() - 8 - 100;
            f.seek(at);
            final int v = f.read();
            f.seek(at);
            f.write(v ^ 0x5A);
        }
        Files.setLastModifiedTime(kryo, t);
        final StateIndex damaged = StateIndex.open(a, catalog);
        final TraceState st = damaged.at(sa.events());
        assertTrue(damaged.note() != null && damaged.note().contains("damaged"), String.valueOf(damaged.note()));
        assertSameState(streamed(a, sa.events()), st);
        final StateIndex again = StateIndex.open(a, catalog);
        assertSameState(streamed(a, n), again.at(n));
        assertNull(again.note(), "keyframes and their index are good again");
    }
}
