package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static palimpsest.cli.PalRunner.pal;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;

/**
 * Mutated traces and packs through the verbs, in-process: every region (Chronicle's store header and
 * index, our header, chunk headers and payloads, the end record, metadata.cq4t, keyframes.kryo, the
 * pack file), byte flips and truncation at every excerpt boundary and inside excerpts. Whatever the
 * damage: no exit 3, no stack trace, no hang, and no mutant whose excerpts changed reads as a
 * complete trace (a complete answer from a mutant must be the original's answer).
 *
 * <p>Bounded and seeded: {@code -Dfuzz.mutants=N} (default 160) and {@code -Dfuzz.seed=S} (default 12);
 * the counts per region are printed at the end ({@code -Dfuzz.mutants=10000} is the long campaign).
 */
class TraceFuzzTest
{
    private static final int MUTANTS = Integer.getInteger("fuzz.mutants", 160);
    private static final long SEED = Long.getLong("fuzz.seed", 12);
    private static final long VERB_TIMEOUT_S = 120;

    @TempDir
    static Path tmp;

    private static Path base;
    private static Path basePack;
    private static byte[] basePackBytes;
    private static String baseState;
    private static List<long[]> excerpts; // {position, length, metadata?1:0} of the cycle file
    private static long dataEnd;
    private static ExecutorService runner;
    private static final Map<String, int[]> COUNTS = new TreeMap<>(); // region -> {mutants, complete, truncated, damaged, refused}
    private static final Map<String, Long> VERB_MS = new TreeMap<>(); // verb -> total wall ms (where the time goes)

    @BeforeAll
    static void record() throws Exception
    {
        runner = Executors.newSingleThreadExecutor(r ->
        {
            final Thread t = new Thread(r, "fuzz-verb");
            t.setDaemon(true);
            return t;
        });
        base = tmp.resolve("base");
        final Result r = pal("record", "--scenario", "net-echo", "--arg", "frames=40", "--keyframe-every", "2000",
            "-o", base.toString());
        assertEquals(0, r.rc(), r.toString());
        basePack = tmp.resolve("base.pack");
        assertEquals(0, pal("pack", base.toString(), basePack.toString()).rc());
        basePackBytes = Files.readAllBytes(basePack);
        baseState = pal("state", base.toString(), "--at", "6000").out();
        excerpts = walk(base.resolve("19700101L.cq4"));
        final long[] last = excerpts.get(excerpts.size() - 1);
        dataEnd = last[0] + 4 + last[1];
        assertTrue(excerpts.stream().filter(e -> e[2] == 0).count() >= 5, "header, >= 3 chunks, end record");
    }

    @AfterAll
    static void report()
    {
        runner.shutdownNow();
        final StringBuilder b = new StringBuilder("trace fuzz, seed " + SEED + ", " + MUTANTS + " random mutants + truncations:\n");
        b.append(String.format("  %-22s %8s %9s %10s %8s %8s%n", "region", "mutants", "complete", "truncated", "damaged", "refused"));
        for (final Map.Entry<String, int[]> e : COUNTS.entrySet())
        {
            final int[] c = e.getValue();
            b.append(String.format("  %-22s %8d %9d %10d %8d %8d%n", e.getKey(), c[0], c[1], c[2], c[3], c[4]));
        }
        b.append("  wall ms by verb: ").append(VERB_MS).append('\n');
        System.out.print(b);
    }

    @Test
    void truncationAtEveryExcerptBoundaryAndInsideIsNeverComplete() throws Exception
    {
        final List<Long> cuts = new ArrayList<>();
        for (final long[] e : excerpts)
        {
            cuts.add(e[0]);                // at its header word
            cuts.add(e[0] + 2);            // inside the header word
            cuts.add(e[0] + 4 + e[1] / 2); // inside its bytes
            cuts.add(e[0] + 4 + e[1] - 1); // one byte short
        }
        int i = 0;
        for (final long cut : cuts)
        {
            final Path m = copyOf(base, "cut" + i);
            try (RandomAccessFile f = new RandomAccessFile(m.resolve("19700101L.cq4").toFile(), "rw"))
            {
                f.setLength(cut);
            }
            check("truncate cq4", m, i++, true);
            delete(m);
        }
    }

    @Test
    void flippedBytesInEveryRegionAreNeverReadAsTheOriginal() throws Exception
    {
        final Random rnd = new Random(SEED);
        final List<long[]> data = new ArrayList<>();
        for (final long[] e : excerpts)
        {
            if (e[2] == 0)
            {
                data.add(e);
            }
        }
        for (int i = 0; i < MUTANTS; i++)
        {
            final Path m = copyOf(base, "m" + i);
            final String region;
            final int kind = i % 8;
            if (kind == 0)
            {
                region = "trace header";
                flip(m.resolve("19700101L.cq4"), inside(rnd, data.get(0)), rnd);
            }
            else if (kind <= 2)
            {
                final long[] c = data.get(1 + rnd.nextInt(data.size() - 2));
                final boolean head = rnd.nextBoolean();
                region = head ? "chunk header" : "chunk payload";
                flip(m.resolve("19700101L.cq4"), head ? c[0] + 4 + rnd.nextInt(40) : inside(rnd, c), rnd);
            }
            else if (kind == 3)
            {
                region = "end record";
                flip(m.resolve("19700101L.cq4"), inside(rnd, data.get(data.size() - 1)), rnd);
            }
            else if (kind == 4)
            {
                region = "excerpt length word";
                flip(m.resolve("19700101L.cq4"), data.get(rnd.nextInt(data.size()))[0] + rnd.nextInt(4), rnd);
            }
            else if (kind == 5)
            {
                region = "chronicle metadata";
                final boolean table = rnd.nextBoolean();
                final Path f = m.resolve(table ? "metadata.cq4t" : "19700101L.cq4");
                flip(f, rnd.nextInt((int)(table ? Math.min(Files.size(f), 4096) : data.get(0)[0])), rnd);
            }
            else if (kind == 6)
            {
                region = "keyframes";
                final Path f = m.resolve("keyframes.kryo");
                flip(f, rnd.nextInt((int)Files.size(f)), rnd);
            }
            else
            {
                region = "pack";
                final Path pack = tmp.resolve("m" + i + ".pack");
                final byte[] b = basePackBytes.clone();
                if (rnd.nextBoolean())
                {
                    b[rnd.nextInt(b.length)] ^= (byte)(1 << rnd.nextInt(8));
                    Files.write(pack, b);
                }
                else
                {
                    Files.write(pack, Arrays.copyOf(b, rnd.nextInt(b.length)));
                }
                delete(m);
                final Result u = run("unpack", pack.toString(), m.toString());
                noCrash(u, "unpack of pack mutant " + i);
                Files.delete(pack);
                if (u.rc() != 0)
                {
                    count(region, 4);
                    delete(m);
                    continue;
                }
            }
            if ("keyframes".equals(region))
            {
                final Result s = run("state", m.toString(), "--at", "6000");
                noCrash(s, "state of keyframe mutant " + i);
                assertEquals(registers(baseState), registers(s.out()), "damaged keyframes are rebuilt or refused, never applied");
                count(region, 1);
            }
            else
            {
                check(region, m, i, false);
            }
            delete(m);
        }
    }

    /** Runs dump and one more verb on a mutant; a complete answer must come from the original's excerpts. */
    private void check(final String region, final Path m, final int i, final boolean truncated) throws Exception
    {
        final String what = region + " mutant " + i;
        final Result dump = run("dump", m.toString(), "--limit", "1", "--no-symbols");
        noCrash(dump, what);
        final boolean complete = dump.rc() == 0;
        if (complete)
        {
            assertTrue(dump.out().contains("-- trace complete"), what + ": " + dump);
            assertTrue(!truncated && sameExcerpts(m), what + " reads as a complete trace but its excerpts changed");
        }
        else
        {
            assertEquals(2, dump.rc(), what + ": " + dump);
            assertTrue(dump.err().startsWith("pal: ") && dump.err().strip().lines().count() == 1, what + ": " + dump);
        }
        count(region, complete ? 1 : dump.out().contains("-- this answer covers") ?
            (dump.out().contains("which is truncated") ? 2 : 3) : 4);
        final String[][] verbs = {
            {"replay", m.toString()},
            {"analyze", m.toString(), "--summary"},
            {"state", m.toString(), "--at", "3000"},
            {"who-wrote", m.toString(), "--addr", "0x300008"},
            {"diff", base.toString(), m.toString()},
            {"check", m.toString()},
            {"pack", m.toString(), m + ".pack", "--force"},
            {"timeline", m.toString(), "-o", m + ".json", "--force"},
        };
        final String[] v = verbs[Math.floorMod(i * 31 + region.hashCode(), verbs.length)];
        final Result r = run(v);
        noCrash(r, what + " " + v[0]);
        if (!complete && !"pack".equals(v[0]) && !"check".equals(v[0]) && !"diff".equals(v[0]))
        {
            assertEquals(2, r.rc(), what + ": " + v[0] + " of a damaged or truncated trace: " + r);
        }
        if (!complete && "check".equals(v[0]))
        {
            assertTrue(r.rc() == 2 || r.rc() == CheckCommand.CANNOT_TELL, what + ": check: " + r);
        }
        if (!complete && "diff".equals(v[0]))
        {
            assertEquals(2, r.rc(), what + ": diff against a damaged trace: " + r);
        }
        Files.deleteIfExists(Path.of(m + ".pack"));
        Files.deleteIfExists(Path.of(m + ".json"));
    }

    /** The state's registers and backtraces: what follows its first line (which names the trace and keyframe). */
    private static String registers(final String state)
    {
        final int nl = state.indexOf('\n');
        return nl < 0 ? "" : state.substring(nl + 1);
    }

    private static Result run(final String... args) throws Exception
    {
        final long t0 = System.nanoTime();
        final Future<Result> f = runner.submit(() -> pal(args));
        try
        {
            final Result r = f.get(VERB_TIMEOUT_S, TimeUnit.SECONDS);
            synchronized (VERB_MS)
            {
                VERB_MS.merge(args[0], (System.nanoTime() - t0) / 1_000_000, Long::sum);
            }
            return r;
        }
        catch (final TimeoutException e)
        {
            f.cancel(true);
            fail("pal " + String.join(" ", args) + " hangs (no answer in " + VERB_TIMEOUT_S + " s)");
            return null;
        }
    }

    private static void noCrash(final Result r, final String what)
    {
        assertTrue(r.rc() != Main.EXIT_INTERNAL, what + ": internal error: " + r);
        assertTrue(!r.err().contains("\tat ") && !r.out().contains("\tat ") && !r.err().contains("Exception in"),
            what + ": stack trace: " + r);
    }

    private static boolean sameExcerpts(final Path m) throws Exception
    {
        final Path p = tmp.resolve("same.pack");
        final Result r = run("pack", m.toString(), p.toString(), "--force");
        final boolean same = r.rc() == 0 && Arrays.equals(basePackBytes, Files.readAllBytes(p));
        Files.deleteIfExists(p);
        return same;
    }

    private static void count(final String region, final int column)
    {
        synchronized (COUNTS)
        {
            final int[] c = COUNTS.computeIfAbsent(region, k -> new int[5]);
            c[0]++;
            c[column]++;
        }
    }

    private static long inside(final Random rnd, final long[] excerpt)
    {
        return excerpt[0] + 4 + (long)(rnd.nextDouble() * excerpt[1]);
    }

    private static void flip(final Path file, final long at, final Random rnd) throws IOException
    {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw"))
        {
            f.seek(at);
            final int b = f.read();
            f.seek(at);
            f.write(b ^ (1 << rnd.nextInt(8)));
        }
    }

    /** The excerpts of a cycle file, read as Chronicle lays them out: {position, length, metadata}. */
    private static List<long[]> walk(final Path file) throws IOException
    {
        final List<long[]> out = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ))
        {
            final ByteBuffer w = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            long pos = 0;
            while (true)
            {
                w.clear();
                ch.read(w, pos);
                final int h = w.getInt(0);
                if (h == 0)
                {
                    return out;
                }
                final long len = h & 0x3FFFFFFF;
                out.add(new long[] {pos, len, (h & 0x40000000) != 0 ? 1 : 0});
                pos = (pos + 4 + len + 3) & ~3L;
            }
        }
    }

    /** A copy of a trace directory: the written prefix of the sparse cycle file, then the same apparent size. */
    private static Path copyOf(final Path from, final String name) throws IOException
    {
        final Path to = tmp.resolve(name);
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from))
        {
            for (final Path p : (Iterable<Path>)s::iterator)
            {
                final Path t = to.resolve(p.getFileName());
                if (p.getFileName().toString().endsWith(".cq4"))
                {
                    try (FileChannel in = FileChannel.open(p, StandardOpenOption.READ);
                        FileChannel out = FileChannel.open(t, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE))
                    {
                        in.transferTo(0, dataEnd + 4096, out);
                    }
                    try (RandomAccessFile f = new RandomAccessFile(t.toFile(), "rw"))
                    {
                        f.setLength(Files.size(p));
                    }
                }
                else if (Files.isRegularFile(p))
                {
                    Files.copy(p, t);
                }
            }
        }
        return to;
    }

    private static void delete(final Path dir) throws IOException
    {
        if (!Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> s = Files.walk(dir))
        {
            for (final Path p : (Iterable<Path>)s.sorted(java.util.Comparator.reverseOrder())::iterator)
            {
                Files.delete(p);
            }
        }
    }
}
