package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;
import palimpsest.recorder.image.LoadedImage;

/**
 * {@code pal state} and {@code pal who-wrote} answer the same from the recorded loaded image
 * (TRACE/loaded-image.bin, no scenario loaded), without it (a trace recorded before it existed: the
 * scenario is loaded and the image made for next time), and with a damaged one (not used: made again).
 */
class LoadedImageCommandTest
{
    @TempDir
    Path tmp;

    @Test
    void queriesAnswerTheSameWithTheImageWithoutItAndWithADamagedOne() throws Exception
    {
        final Path trace = tmp.resolve("fc");
        final Result rec = pal("record", "--scenario", "fork-cow", "-o", trace.toString(), "--keyframe-every", "20000");
        assertEquals(0, rec.rc(), rec.toString());
        final Path image = LoadedImage.of(trace);
        assertTrue(Files.isRegularFile(image), "pal record writes the loaded image");
        final byte[] recorded = Files.readAllBytes(image);
        final String[][] queries = {
            {"state", trace.toString(), "--at", "45678"},
            {"state", trace.toString(), "--at", "30001", "--cpu", "1", "--phys", "--mem", "100000:64"},
            {"who-wrote", trace.toString(), "--phys", "--addr", "100000", "--len", "8"},
        };
        final String[] withImage = new String[queries.length];
        for (int i = 0; i < queries.length; i++)
        {
            final Result r = pal(queries[i]);
            assertTrue(r.rc() <= 1, r.toString());
            withImage[i] = stable(r.out());
            assertTrue(withImage[i].contains("cpu") || withImage[i].contains("write"), withImage[i]);
        }
        // Without the image and without the quick argument path: the way before both existed.
        for (int i = 0; i < queries.length; i++)
        {
            Files.delete(image);
            final Result r = PalRunner.pal(Map.of("PAL_QUICK_ARGS", "0"), queries[i]);
            assertEquals(withImage[i], stable(r.out()), String.join(" ", queries[i]));
            assertTrue(Files.isRegularFile(image), "the first query makes the image");
        }
        assertTrue(java.util.Arrays.equals(recorded, Files.readAllBytes(image)), "the image made by a query is the recorded one");
        // A damaged symbol table: the image is not used but made again, and the answer is the same.
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw"))
        {
            f.seek(90);
            final int b = f.read();
            f.seek(90);
            f.write(b ^ 0x40);
        }
        final Result again = pal(queries[0]);
        assertEquals(0, again.rc(), again.toString());
        assertEquals(withImage[0], stable(again.out()));
        assertTrue(java.util.Arrays.equals(recorded, Files.readAllBytes(image)), "made again");
        // A damaged page (found when read): one line naming the file, exit 2, never a wrong answer.
        final LoadedImage img = LoadedImage.open(trace, palimpsest.trace.TraceSeeker.header(trace).digest());
        long page = 0;
        while (!img.page(0, page, new byte[4096], 0))
        {
            page++;
        }
        final long dataAt = recorded.length - 4096L * img.pages();
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw"))
        {
            for (long at = dataAt; at < recorded.length; at += 4096)
            {
                f.seek(at + 5);
                final int b = f.read();
                f.seek(at + 5);
                f.write(b ^ 1);
            }
        }
        final Result damaged = pal("state", trace.toString(), "--at", "1", "--phys", "--mem", Long.toHexString(page * 4096) + ":16");
        assertEquals(2, damaged.rc(), damaged.toString());
        assertTrue(damaged.err().startsWith("pal: ") && damaged.err().contains(LoadedImage.NAME) &&
            damaged.err().strip().lines().count() == 1, damaged.err());
    }

    /** The output without the index query's timing. */
    private static String stable(final String out)
    {
        return out.replaceAll("\\(index query \\d+ us\\)", "(index query)");
    }
}
