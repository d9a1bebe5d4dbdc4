package palimpsest.replayer.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import palimpsest.recorder.image.LoadedImage;
import palimpsest.trace.Event;
import palimpsest.trace.TraceException;
import palimpsest.trace.TraceSeeker;

/**
 * A paged view ({@link StateIndex#view}: keyframe registers, pages filled on first touch from the
 * keyframe's copy or the loaded image) is the same state as the flat one ({@link StateIndex#at}: the
 * loaded machine, every keyframe page copied in), byte for byte where it is read, with or without the
 * recorded loaded image.
 */
class PagedViewTest
{
    @TempDir
    Path dir;

    private final ScenarioCatalog catalog = ScenarioCatalog.load();

    private static void assertSameAsFlat(final TraceState flat, final TraceState paged, final long n)
    {
        assertTrue(paged.isPaged());
        assertFalse(flat.isPaged());
        assertEquals(flat.position(), paged.position(), "position at " + n);
        for (int cpu = 0; cpu < flat.cpuCount(); cpu++)
        {
            assertTrue(flat.regs(cpu).sameAs(paged.regs(cpu)), "at " + n + ": " + flat.regs(cpu) + " vs " + paged.regs(cpu));
            assertEquals(flat.backtrace(cpu, 16), paged.backtrace(cpu, 16), "backtrace of cpu" + cpu + " at " + n);
        }
        // Every page the flat state has non-zero, and a spread of others, read the same (a word per 64 bytes).
        for (int node = 0; node < flat.config().nodes; node++)
        {
            final byte[] mem = flat.memory(node).array();
            for (long pa = 0; pa < mem.length; pa += 4096)
            {
                final boolean used = !java.util.Arrays.equals(mem, (int)pa, (int)pa + 4096, new byte[4096], 0, 4096);
                if (!used && (pa >>> 12) % 97 != 0)
                {
                    continue;
                }
                for (long o = 0; o < 4096; o += used ? 64 : 1024)
                {
                    assertEquals(flat.readPhys(node, pa + o, 8), paged.readPhys(node, pa + o, 8),
                        "node " + node + " phys " + Long.toHexString(pa + o) + " at event " + n);
                }
            }
            assertEquals(flat.ramSize(node), paged.ramSize(node));
            assertEquals(-1L, paged.readPhys(node, paged.ramSize(node), 8), "beyond RAM reads all ones, as PhysicalMemory does");
        }
    }

    @Test
    void aPagedViewIsTheFlatStateWithOrWithoutTheRecordedImage() throws IOException
    {
        final Path trace = dir.resolve("wc");
        final Recording rec = new Recording(catalog.find("word-count")).schedule("chaos", 7).keyframeEvery(20_000).output(trace);
        final RecordingSummary s = rec.run();
        assertTrue(Files.isRegularFile(LoadedImage.of(trace)), "the recording writes the loaded image");
        final long[] at = {0, 1, 19_999, 20_000, 20_001, 45_678, s.events() - 1, s.events()};
        StateIndex paged = StateIndex.open(trace, () -> catalog);
        assertNotNull(paged.image());
        final StateIndex flat = StateIndex.open(trace, catalog);
        for (final long n : at)
        {
            assertSameAsFlat(flat.at(n), paged.view(n, null, null), n);
        }
        // Without the image (a trace recorded before it existed): the first query makes it from the scenario.
        Files.delete(LoadedImage.of(trace));
        paged = StateIndex.open(trace, () -> catalog);
        assertNotNull(paged.image());
        assertTrue(Files.isRegularFile(LoadedImage.of(trace)), "made beside the trace for the next query");
        for (final long n : at)
        {
            assertSameAsFlat(flat.at(n), paged.view(n, null, null), n);
        }
    }

    @Test
    void aViewGoesOnFromAnEarlierOneAndReadsEventN() throws IOException
    {
        final Path trace = dir.resolve("fork");
        new Recording(catalog.find("fork-cow")).schedule("seeded", 2).keyframeEvery(10_000).output(trace).run();
        final StateIndex paged = StateIndex.open(trace, () -> catalog);
        final StateIndex flat = StateIndex.open(trace, catalog);
        TraceState reuse = null;
        for (final long n : new long[] {5_000, 7_000, 9_999, 10_000, 31_234})
        {
            final Event e = new Event();
            final Event want = new Event();
            reuse = paged.view(n, e, reuse);
            final TraceState f = flat.at(n, want);
            assertEquals(want.index(), e.index());
            assertEquals(want.pc(), e.pc());
            assertSameAsFlat(f, reuse, n);
        }
        assertTrue(reuse.pagesTouched() > 0);
    }

    @Test
    void aDamagedImageIsNotUsedAndADamagedPageSaysSo() throws IOException
    {
        final Path trace = dir.resolve("ipi");
        new Recording(catalog.find("word-count")).schedule("seeded", 3).keyframeEvery(20_000).output(trace).run();
        final long digest = TraceSeeker.header(trace).digest();
        final LoadedImage good = LoadedImage.open(trace, digest);
        assertNotNull(good);
        assertNull(LoadedImage.open(trace, digest + 1), "another trace's image is refused");
        final long size = Files.size(LoadedImage.of(trace));
        // A byte of the symbol table: refused when opened (the caller loads the scenario instead).
        try (RandomAccessFile f = new RandomAccessFile(LoadedImage.of(trace).toFile(), "rw"))
        {
            f.seek(100);
            final int b = f.read();
            f.seek(100);
            f.write(b ^ 0x20);
        }
        assertNull(LoadedImage.open(trace, digest));
        assertNotNull(LoadedImage.problem(trace, digest));
        final StateIndex rebuilt = StateIndex.open(trace, () -> catalog);
        assertNotNull(rebuilt.image(), "made again from the scenario");
        assertEquals(size, Files.size(LoadedImage.of(trace)), "the same image as recorded");
        // A byte of a page: found when that page is read, one line naming the file.
        try (RandomAccessFile f = new RandomAccessFile(LoadedImage.of(trace).toFile(), "rw"))
        {
            f.seek(size - 4096 + 17);
            final int b = f.read();
            f.seek(size - 4096 + 17);
            f.write(b ^ 1);
        }
        final LoadedImage img = LoadedImage.open(trace, digest);
        assertNotNull(img, "pages are checked when read, not when opened");
        final TraceException e = assertThrows(TraceException.class, () ->
        {
            final byte[] page = new byte[4096];
            for (int p = 0; p < (img.memMiB() << 8); p++)
            {
                img.page(0, p, page, 0);
            }
        });
        assertTrue(e.getMessage().contains(LoadedImage.NAME) && e.getMessage().contains("fails its hash"), e.getMessage());
    }
}
