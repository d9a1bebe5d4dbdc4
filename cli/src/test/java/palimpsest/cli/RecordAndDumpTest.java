package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;
import palimpsest.trace.Event;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceStatus;

class RecordAndDumpTest
{
    @TempDir
    static Path tmp;
    static Path trace;
    static Result recorded;

    @BeforeAll
    static void record()
    {
        trace = tmp.resolve("pingpong");
        recorded = pal("record", "--scenario", "ipi-pingpong", "-o", trace.toString(), "--seed", "3");
    }

    @Test
    void recordPrintsConsoleThenSummaryAndExitsWithTheVerdict()
    {
        assertEquals(0, recorded.rc(), recorded.toString());
        final String out = recorded.out();
        for (final String word : List.of("events", "bytes/event", "events/s", "ended", "powered off", "verdict", "good"))
        {
            assertTrue(out.contains(word), word + " in\n" + out);
        }
        // console output comes before the summary
        final int summary = out.indexOf("recorded ipi-pingpong");
        assertTrue(summary > 0, out);
        assertTrue(out.substring(0, summary).lines().count() >= 1, "console lines before the summary");
        assertEquals("", recorded.err(), "no progress when off, nothing else on stderr");
    }

    @Test
    void dumpShowsAccessesIpisAndInterruptsWithCpuIcountAndPc()
    {
        final Result r = pal("dump", trace.toString(), "--limit", "30");
        assertEquals(0, r.rc(), r.toString());
        final List<String> events = r.out().lines().filter(l -> l.startsWith("#")).collect(Collectors.toList());
        assertEquals(30, events.size(), r.out());
        final Pattern access = Pattern.compile("^#\\d+ cpu\\d+ ic=\\d+ pc=\\S+ (load|store|rmw|fetch|walk)\\.\\d");
        final Pattern ipi = Pattern.compile("^#\\d+ cpu\\d+ ic=\\d+ pc=\\S+ ipi ");
        final Pattern irq = Pattern.compile("^#\\d+ cpu\\d+ ic=\\d+ pc=\\S+ interrupt ");
        assertTrue(events.stream().anyMatch(l -> access.matcher(l).find()), "an access in\n" + r.out());
        assertTrue(events.stream().anyMatch(l -> ipi.matcher(l).find()), "an IPI in\n" + r.out());
        assertTrue(events.stream().anyMatch(l -> irq.matcher(l).find()), "an interrupt in\n" + r.out());
        final String last = r.out().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.startsWith("-- trace complete"), last);
    }

    @Test
    void dumpFiltersAndSymbolizes()
    {
        final Result r = pal("dump", trace.toString(), "--kind", "ipi,interrupt", "--cpu", "1", "--limit", "5");
        assertEquals(0, r.rc(), r.toString());
        final List<String> events = r.out().lines().filter(l -> l.startsWith("#")).collect(Collectors.toList());
        assertEquals(5, events.size(), r.out());
        for (final String l : events)
        {
            assertTrue(l.matches("^#\\d+ cpu1 .*(ipi|interrupt) .*"), l);
            assertTrue(l.matches(".* pc=[a-z_]\\w*\\+0x[0-9a-f]+/0x[0-9a-f]+ .*"), "symbolized pc: " + l);
        }
        final Result from = pal("dump", trace.toString(), "--from", "100", "--limit", "2");
        final List<String> two = from.out().lines().filter(l -> l.startsWith("#")).collect(Collectors.toList());
        assertEquals(List.of("#100", "#101"), two.stream().map(l -> l.split(" ")[0]).collect(Collectors.toList()));
    }

    @Test
    void chroniclesOwnReaderOpensTheTrace()
    {
        int excerpts = 0;
        try (ChronicleQueue q = ChronicleQueue.singleBuilder(trace.toFile()).build())
        {
            final ExcerptTailer t = q.createTailer();
            while (true)
            {
                try (DocumentContext dc = t.readingDocument())
                {
                    if (!dc.isPresent())
                    {
                        break;
                    }
                    if (excerpts == 0)
                    {
                        final byte[] magic = new byte[8];
                        dc.wire().bytes().read(magic);
                        assertEquals("PALIMPST", new String(magic, java.nio.charset.StandardCharsets.US_ASCII));
                    }
                    excerpts++;
                }
            }
        }
        // header + at least one chunk + end record
        assertTrue(excerpts >= 3, "excerpts " + excerpts);
    }

    @Test
    void sameSeedSameTraceDifferentSeedDifferentTrace() throws IOException
    {
        final Path a = tmp.resolve("same-a");
        final Path b = tmp.resolve("same-b");
        final Path c = tmp.resolve("other");
        assertEquals(0, pal("record", "--scenario", "ipi-pingpong", "-o", a.toString(), "--seed", "11", "--arg", "rounds=200").rc());
        assertEquals(0, pal("record", "--scenario", "ipi-pingpong", "-o", b.toString(), "--seed", "11", "--arg", "rounds=200").rc());
        assertEquals(0, pal("record", "--scenario", "ipi-pingpong", "-o", c.toString(), "--seed", "12", "--arg", "rounds=200").rc());
        assertEquals(-1L, firstDifference(a, b), "same seed: identical event streams");
        assertTrue(firstDifference(a, c) >= 0, "different seed: a different trace");
        assertEquals(digest(a), digest(b));
        assertNotEquals(digest(a), digest(c));
        // Report (not assert) whether the raw queue files are byte-identical too.
        System.out.println("[determinism] raw .cq4 files identical for the same seed: " + sameQueueFiles(a, b));
    }

    private static long firstDifference(final Path x, final Path y)
    {
        try (TraceReader rx = TraceReader.open(x); TraceReader ry = TraceReader.open(y))
        {
            final Event ex = new Event();
            final Event ey = new Event();
            long i = 0;
            while (true)
            {
                final boolean hx = rx.next(ex);
                final boolean hy = ry.next(ey);
                if (!hx && !hy)
                {
                    assertEquals(TraceStatus.COMPLETE, rx.status());
                    return -1;
                }
                if (hx != hy || !ex.sameAs(ey))
                {
                    return i;
                }
                i++;
            }
        }
    }

    private static long digest(final Path p)
    {
        try (TraceReader r = TraceReader.open(p))
        {
            assertEquals(TraceStatus.COMPLETE, r.verify(), r.statusMessage());
            return r.digest();
        }
    }

    private static boolean sameQueueFiles(final Path a, final Path b) throws IOException
    {
        final List<Path> fa = cq4(a);
        final List<Path> fb = cq4(b);
        if (!fa.stream().map(p -> p.getFileName().toString()).collect(Collectors.toList())
            .equals(fb.stream().map(p -> p.getFileName().toString()).collect(Collectors.toList())))
        {
            return false;
        }
        for (int i = 0; i < fa.size(); i++)
        {
            if (!Arrays.equals(Files.readAllBytes(fa.get(i)), Files.readAllBytes(fb.get(i))))
            {
                return false;
            }
        }
        return true;
    }

    private static List<Path> cq4(final Path dir) throws IOException
    {
        try (Stream<Path> s = Files.list(dir))
        {
            return s.filter(p -> p.toString().endsWith(".cq4")).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void forceOverwritesAnOldTrace()
    {
        final Path d = tmp.resolve("forced");
        assertEquals(0, pal("record", "--scenario", "test-loop", "-o", d.toString()).rc());
        final Result again = pal("record", "--scenario", "test-loop", "-o", d.toString());
        assertEquals(2, again.rc(), again.toString());
        final Result forced = pal("record", "--scenario", "test-loop", "-o", d.toString(), "--force", "--arg", "rounds=10");
        assertEquals(0, forced.rc(), forced.toString());
        try (TraceReader r = TraceReader.open(d))
        {
            assertEquals("10", r.header().scenarioArgs().get("rounds"));
        }
        assertFalse(forced.out().isEmpty());
    }
}
