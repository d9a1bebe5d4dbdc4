package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.BadInputTest.assertOneLine;
import static palimpsest.cli.PalRunner.pal;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.InflaterInputStream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;
import palimpsest.trace.Hash64;

/**
 * Never a confident answer from a damaged trace: truncation, header and end-record flips, a foreign
 * keyframes file, an end record whose outcome differs from the replay's, and the inputs that used to be
 * ignored, each through the verbs as a user runs them.
 */
class DamagedTraceTest
{
    @TempDir
    static Path tmp;

    private static Path trace;

    @BeforeAll
    static void record()
    {
        trace = tmp.resolve("ipp");
        final Result r = pal("record", "--scenario", "ipi-pingpong", "--arg", "rounds=60", "--keyframe-every", "20000",
            "-o", trace.toString());
        assertEquals(0, r.rc(), r.toString());
    }

    /** Data excerpts of the cycle file: {position, length}, in order (header, chunks, end record). */
    private static List<long[]> excerpts(final Path dir) throws IOException
    {
        final List<long[]> out = new ArrayList<>();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("19700101L.cq4").toFile(), "r"))
        {
            long pos = 0;
            final byte[] w = new byte[4];
            while (true)
            {
                f.seek(pos);
                f.readFully(w);
                final int h = ByteBuffer.wrap(w).order(ByteOrder.LITTLE_ENDIAN).getInt();
                if (h == 0)
                {
                    return out;
                }
                final long len = h & 0x3FFFFFFF;
                if ((h & 0x40000000) == 0)
                {
                    out.add(new long[] {pos, len});
                }
                pos = (pos + 4 + len + 3) & ~3L;
            }
        }
    }

    private static Path copy(final String name) throws IOException
    {
        final Path to = tmp.resolve(name);
        Files.createDirectories(to);
        try (var s = Files.list(trace))
        {
            for (final Path p : (Iterable<Path>)s::iterator)
            {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
        return to;
    }

    private static void flip(final Path dir, final long at) throws IOException
    {
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("19700101L.cq4").toFile(), "rw"))
        {
            f.seek(at);
            final int b = f.read();
            f.seek(at);
            f.write(b ^ 0x01);
        }
    }

    private static void incomplete(final Result r, final String why)
    {
        assertEquals(2, r.rc(), r.toString());
        assertOneLine(r);
        assertTrue(r.err().contains(why), r.toString());
    }

    @Test
    void truncatedInsideTheDataIsTruncatedAtItsLastWholeChunkForEveryVerb() throws IOException
    {
        final List<long[]> ex = excerpts(trace);
        final long[] third = ex.get(3); // chunk 2
        final Path t = copy("cut");
        try (RandomAccessFile f = new RandomAccessFile(t.resolve("19700101L.cq4").toFile(), "rw"))
        {
            f.setLength(third[0] + 4 + third[1] / 2);
        }
        final String why = "trace truncated at chunk 2";
        final Result dump = pal("dump", t.toString());
        incomplete(dump, why);
        assertTrue(dump.out().contains("-- this answer covers only events 0.."), dump.out());
        incomplete(pal("analyze", t.toString(), "--summary"), why);
        incomplete(pal("who-wrote", t.toString(), "--addr", "0x300008"), why);
        incomplete(pal("diff", trace.toString(), t.toString()), why);
        incomplete(pal("state", t.toString(), "--at", "100"), why);
        final Result replay = pal("replay", t.toString());
        incomplete(replay, why);
        assertTrue(replay.err().contains("replay verified the "), replay.err());
        final Result check = pal("check", t.toString());
        assertEquals(CheckCommand.CANNOT_TELL, check.rc(), check.toString());
        final Result pack = pal("pack", t.toString(), tmp.resolve("cut.pack").toString());
        assertEquals(0, pack.rc(), pack.toString());
        assertTrue(pack.out().contains("packed as it is: " + why), pack.out());
    }

    @Test
    void headerAndEndRecordFlipsAreDamageNotAnswers() throws IOException
    {
        final List<long[]> ex = excerpts(trace);
        final Path h = copy("header");
        flip(h, ex.get(0)[0] + 4 + 16); // the cpus-per-node field
        for (final String verb : new String[] {"dump", "replay", "analyze"})
        {
            incomplete(pal(verb, h.toString()), "header digest mismatch");
        }
        final long[] end = ex.get(ex.size() - 1);
        for (final long field : new long[] {4, 36})   // outcome code, message
        {
            final Path e = copy("end" + field);
            flip(e, end[0] + 4 + field);
            incomplete(pal("dump", e.toString()), "end record digest mismatch");
            incomplete(pal("analyze", e.toString(), "--summary"), "end record digest mismatch");
            incomplete(pal("replay", e.toString()), "end record digest mismatch");
        }
    }

    @Test
    void anEndRecordThatNamesAnotherOutcomeFailsTheReplay() throws IOException
    {
        // A well-formed pack whose end record (digest recomputed) says the run ended otherwise.
        final byte[] pack = Files.readAllBytes(packOf(trace));
        final List<byte[]> xs = new ArrayList<>();
        assertEquals(2, pack[9], "pal pack writes zstd (pack version 2)");
        try (DataInputStream in = new DataInputStream(new com.github.luben.zstd.ZstdInputStream(
            new java.io.ByteArrayInputStream(pack, 12, pack.length - 12))))
        {
            for (int len = in.readInt(); len != -1; len = in.readInt())
            {
                final byte[] b = new byte[len];
                in.readFully(b);
                xs.add(b);
            }
        }
        final byte[] end = xs.get(xs.size() - 1);
        final ByteBuffer bb = ByteBuffer.wrap(end).order(ByteOrder.LITTLE_ENDIAN);
        bb.putInt(4, 0x10001); // failure, code 1
        bb.putLong(end.length - 8, Hash64.hash(end, 0, end.length - 8, 0x50414C454E44L));
        final ByteArrayOutputStream z = new ByteArrayOutputStream();
        // Forged as a Deflate pack (version 1): unpack still reads those.
        z.write(pack, 0, 12);
        final byte[] bytes0 = z.toByteArray();
        z.reset();
        bytes0[9] = 1;
        z.write(bytes0);
        try (DataOutputStream out = new DataOutputStream(new DeflaterOutputStream(z)))
        {
            long total = 0;
            for (final byte[] b : xs)
            {
                out.writeInt(b.length);
                out.write(b);
                total += b.length;
            }
            out.writeInt(-1);
            out.writeLong(xs.size());
            out.writeLong(total);
        }
        final Path forged = tmp.resolve("forged.pack");
        Files.write(forged, z.toByteArray());
        final Path back = tmp.resolve("forged");
        assertEquals(0, pal("unpack", forged.toString(), back.toString()).rc());
        final Result replay = pal("replay", back.toString());
        assertEquals(1, replay.rc(), replay.toString());
        assertTrue(replay.out().contains("but the outcome differs") && replay.out().contains("outcome failure code 1") &&
            replay.out().contains("outcome poweroff"), replay.out());
        final Result check = pal("check", back.toString());
        assertEquals(CheckCommand.CANNOT_TELL, check.rc(), check.toString());
    }

    private static Path packOf(final Path t)
    {
        final Path p = tmp.resolve(t.getFileName() + ".pack");
        if (!Files.exists(p))
        {
            assertEquals(0, pal("pack", t.toString(), p.toString()).rc());
        }
        return p;
    }

    @Test
    void anotherTracesKeyframesAreRebuiltWithANote() throws IOException
    {
        final Path other = tmp.resolve("other");
        assertEquals(0, pal("record", "--scenario", "ipi-pingpong", "--arg", "rounds=60", "--seed", "9",
            "--keyframe-every", "20000", "-o", other.toString()).rc());
        final Result mine = pal("state", trace.toString(), "--at", "50000");
        assertEquals(0, mine.rc(), mine.toString());
        assertTrue(mine.out().contains("from keyframe"), mine.out());
        final Path t = copy("foreign-keyframes");
        Files.copy(other.resolve("keyframes.kryo"), t.resolve("keyframes.kryo"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        final Result r = pal("state", t.toString(), "--at", "50000");
        assertEquals(0, r.rc(), r.toString());
        assertTrue(r.err().contains("keyframes rebuilt") && r.err().contains("belongs to another trace"), r.err());
        assertEquals(mine.out().lines().skip(1).toList(), r.out().lines().skip(1).toList(), "the same registers");
    }

    @Test
    void inputsThatWereIgnoredAreRefused()
    {
        final String t = trace.toString();
        assertTrue(bad("replay", t, "--kernel", "v2.6.25").err().contains("--kernel and --patch do not apply"));
        assertTrue(bad("record", "--scenario", "ipi-pingpong", "--arg", "nosuch=1", "-o", tmp.resolve("n").toString())
            .err().contains("takes no argument 'nosuch'; it takes rounds"));
        assertFalse(Files.exists(tmp.resolve("n")));
        assertTrue(bad("record", "--scenario", "word-count", "--arg", "nosuch=1", "-o", tmp.resolve("n").toString())
            .err().contains("tick, suspend-at, threads, words, vocab, text-seed"));
        // A count the program would clamp is refused instead: 0 passes is not one pass.
        assertTrue(bad("record", "--scenario", "word-count", "--arg", "passes=0", "-o", tmp.resolve("n").toString())
            .err().contains("--arg passes must be 1..1000000, got 0"));
        assertTrue(bad("record", "--scenario", "lego-word-count", "--arg", "threads=17", "-o", tmp.resolve("n").toString())
            .err().contains("--arg threads must be 1..16, got 17"));
        assertFalse(Files.exists(tmp.resolve("n")));
        final Result mem = bad("state", t, "--at", "10", "--mem", "0x800000:4");
        assertTrue(mem.err().contains("paging off") && !mem.out().contains("ff ff ff ff"), mem.toString());
        bad("who-wrote", t, "--addr", "0x300008", "--before", "99999999999");
        bad("dump", t, "--limit", "-1");
        bad("dump", t, "--cpu", "-2");
        bad("dump", t, "--from", "-5");
        bad("state", t, "--at", "1", "--cpu", "-1");
        bad("bench", "--repeat", "0");
    }

    @Test
    void helpSummariesAreWholeSentencesAndNamesNotCodes()
    {
        final Result help = pal("--help");
        final List<String> summaries = new ArrayList<>();
        String cur = null;
        for (final String line : help.out().lines().toList())
        {
            if (line.matches("  [a-z-]+ +\\S.*"))
            {
                if (cur != null)
                {
                    summaries.add(cur);
                }
                cur = line.strip();
            }
            else if (cur != null && line.startsWith("      "))
            {
                cur += " " + line.strip();
            }
        }
        summaries.add(cur);
        assertTrue(summaries.size() >= 13, help.out());
        for (final String s : summaries)
        {
            assertTrue(s.endsWith("."), "a whole sentence: " + s);
        }
        assertFalse(pal("bisect", "--help").out().contains("--list-invariants") &&
            pal("bisect", "--list-invariants").rc() != 0);
        assertTrue(pal("bisect", "--list-invariants").out().contains("dcache-hash"));
        final Result dump = pal("dump", trace.toString(), "--limit", "0");
        assertTrue(dump.out().contains("ended poweroff: powered off") && !dump.out().contains("outcome 65536"), dump.out());
        assertFalse(Arrays.asList(dump.out().split("\n")).stream().anyMatch(l -> l.contains("[]")), dump.out());
    }

    private static Result bad(final String... args)
    {
        final Result r = pal(args);
        assertEquals(2, r.rc(), String.join(" ", args) + "\n" + r);
        assertOneLine(r);
        return r;
    }
}
