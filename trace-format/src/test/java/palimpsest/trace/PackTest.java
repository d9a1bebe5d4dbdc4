package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PackTest
{
    @TempDir
    Path tmp;

    @Test
    void packAndUnpackGiveTheSameTrace() throws Exception
    {
        final Path trace = tmp.resolve("trace");
        final long digest;
        try (TraceWriter w = TraceWriter.create(trace, TestEvents.header()))
        {
            final TestEvents.Mixed gen = new TestEvents.Mixed(99);
            for (int i = 0; i < 100_000; i++)
            {
                gen.emit(w);
            }
            w.close(1, "packed");
            digest = w.digest();
        }
        final Path pack = tmp.resolve("trace.palpack");
        final TracePacker.Result packed = TracePacker.pack(trace, pack);
        final Path back = tmp.resolve("back");
        final TracePacker.Result unpacked = TracePacker.unpack(pack, back);
        System.out.println("pack: " + packed + "; unpack: " + unpacked);
        assertEquals(packed.excerpts(), unpacked.excerpts());
        assertEquals(packed.excerptBytes(), unpacked.excerptBytes());
        assertEquals(Files.size(pack), packed.fileBytes());
        assertTrue(packed.fileBytes() < packed.excerptBytes());

        final List<byte[]> a = DeterminismTest.excerpts(trace);
        final List<byte[]> b = DeterminismTest.excerpts(back);
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++)
        {
            assertArrayEquals(a.get(i), b.get(i), "excerpt " + i);
        }
        try (TraceReader r = TraceReader.open(back))
        {
            assertEquals(TestEvents.header(), r.header());
            TestEvents.expectSame(new TestEvents.Mixed(99), r, 100_000);
            assertEquals(TraceStatus.COMPLETE, r.status());
            assertEquals(digest, r.end().finalDigest());
            assertEquals("packed", r.end().outcomeMessage());
        }
        // Same writer settings, same excerpts: the unpacked queue files are the original ones.
        for (final String name : List.of("19700101L.cq4", "metadata.cq4t"))
        {
            assertEquals(-1, Arrays.mismatch(Files.readAllBytes(trace.resolve(name)), Files.readAllBytes(back.resolve(name))),
                name);
        }
    }

    @Test
    void truncatedTracePacksAsItIs()
    {
        final Path trace = tmp.resolve("trace");
        final TraceWriter w = TraceWriter.create(trace, TestEvents.header());
        new SyntheticTrace(2, 2).generate(w, 20_000);
        w.flush();
        final long events = w.events();
        w.abandon();
        final Path pack = tmp.resolve("t.palpack");
        TracePacker.pack(trace, pack);
        final Path back = tmp.resolve("back");
        TracePacker.unpack(pack, back);
        try (TraceReader r = TraceReader.open(back))
        {
            assertEquals(TraceStatus.TRUNCATED, r.verify());
            assertEquals(events, r.eventsVerified());
        }
    }

    private String failure(final Path pack, final Path dir)
    {
        final TraceException ex = assertThrows(TraceException.class, () -> TracePacker.unpack(pack, dir));
        assertFalse(ex.getMessage().contains("\n"));
        return ex.getMessage();
    }

    @Test
    void badZstdPackFiles() throws Exception
    {
        badPackFiles(TracePacker.Codec.ZSTD);
    }

    @Test
    void badDeflatePackFiles() throws Exception
    {
        badPackFiles(TracePacker.Codec.DEFLATE);
    }

    /** zstd packs (the default) and Deflate packs (pack version 1) unpack to the same excerpts. */
    @Test
    void bothCodecsUnpackToTheSameExcerpts() throws Exception
    {
        final Path trace = tmp.resolve("trace");
        try (TraceWriter w = TraceWriter.create(trace, TestEvents.header()))
        {
            new SyntheticTrace(3, 2).generate(w, 50_000);
        }
        final Path z = tmp.resolve("z.palpack");
        final Path d = tmp.resolve("d.palpack");
        TracePacker.pack(trace, z);
        TracePacker.pack(trace, d, TracePacker.Codec.DEFLATE);
        assertEquals(2, Files.readAllBytes(z)[9], "zstd is pack version 2 and the default");
        assertEquals(1, Files.readAllBytes(d)[9]);
        final List<byte[]> original = DeterminismTest.excerpts(trace);
        for (final Path pack : List.of(z, d))
        {
            final Path back = tmp.resolve("back-" + pack.getFileName());
            TracePacker.unpack(pack, back);
            final List<byte[]> b = DeterminismTest.excerpts(back);
            assertEquals(original.size(), b.size());
            for (int i = 0; i < b.size(); i++)
            {
                assertArrayEquals(original.get(i), b.get(i), pack + " excerpt " + i);
            }
        }
    }

    private void badPackFiles(final TracePacker.Codec codec) throws Exception
    {
        final Path trace = tmp.resolve("trace");
        try (TraceWriter w = TraceWriter.create(trace, TestEvents.header()))
        {
            new SyntheticTrace(2, 2).generate(w, 20_000);
        }
        final Path pack = tmp.resolve("good.palpack");
        TracePacker.pack(trace, pack, codec);
        final byte[] good = Files.readAllBytes(pack);

        assertEquals("no such pack file: " + tmp.resolve("none"), failure(tmp.resolve("none"), tmp.resolve("o1")));

        final Path text = Files.writeString(tmp.resolve("text.palpack"), "this is not a pack file at all");
        assertEquals("not a Palimpsest pack file: " + text, failure(text, tmp.resolve("o2")));
        assertFalse(Files.exists(tmp.resolve("o2")), "nothing created for a foreign file");

        final Path cut = Files.write(tmp.resolve("cut.palpack"), Arrays.copyOf(good, good.length / 2));
        assertEquals("pack file " + cut + " is cut short", failure(cut, tmp.resolve("o3")));
        try (var s = Files.list(tmp.resolve("o3")))
        {
            assertEquals(0, s.count(), "a failed unpack leaves nothing behind");
        }

        final byte[] flipped = good.clone();
        flipped[good.length / 2] ^= 0x55;
        final Path bad = Files.write(tmp.resolve("flipped.palpack"), flipped);
        final String m = failure(bad, tmp.resolve("o4"));
        assertTrue(m.startsWith("pack file " + bad + " is "), m);

        final byte[] newer = good.clone();
        newer[9] = 9;
        final Path future = Files.write(tmp.resolve("newer.palpack"), newer);
        assertEquals("pack format version 9 is newer than this tool's 2", failure(future, tmp.resolve("o5")));

        final Path notEmpty = Files.createDirectories(tmp.resolve("o6"));
        Files.writeString(notEmpty.resolve("x"), "x");
        assertEquals("cannot create trace: " + notEmpty + " is not empty", failure(pack, notEmpty));

        final TraceException ex = assertThrows(TraceException.class, () -> TracePacker.pack(tmp.resolve("o6"),
            tmp.resolve("p")));
        assertEquals("not a Palimpsest trace: no Chronicle queue (.cq4 file) in " + notEmpty, ex.getMessage());
    }
}
