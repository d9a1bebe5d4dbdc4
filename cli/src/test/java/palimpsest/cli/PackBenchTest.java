package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;
import palimpsest.trace.Event;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceStatus;

class PackBenchTest
{
    @TempDir
    Path tmp;

    @Test
    void packUnpackRoundTripThroughTheCli() throws Exception
    {
        final Path trace = tmp.resolve("net");
        assertEquals(0, pal("record", "--scenario", "net-echo", "-o", trace.toString()).rc());
        final Path file = tmp.resolve("net.palpack");
        final Result p = pal("pack", trace.toString(), file.toString());
        assertEquals(0, p.rc(), p.toString());
        assertTrue(Files.size(file) > 0);
        assertEquals(2, pal("pack", trace.toString(), file.toString()).rc(), "existing file needs --force");
        final Path back = tmp.resolve("back");
        final Result u = pal("unpack", file.toString(), back.toString());
        assertEquals(0, u.rc(), u.toString());
        assertTrue(u.out().contains("trace complete"), u.out());
        try (TraceReader a = TraceReader.open(trace); TraceReader b = TraceReader.open(back))
        {
            assertEquals(a.header(), b.header());
            final Event ea = new Event();
            final Event eb = new Event();
            long n = 0;
            while (a.next(ea))
            {
                assertTrue(b.next(eb), "unpacked trace has event " + n);
                assertTrue(ea.sameAs(eb), "event " + n + ": " + ea + " vs " + eb);
                n++;
            }
            assertTrue(!b.next(eb));
            assertEquals(TraceStatus.COMPLETE, b.status(), b.statusMessage());
            assertTrue(n > 0);
        }
        // the dumps agree line for line (apart from the path in the first line)
        final String da = pal("dump", trace.toString()).out();
        final String db = pal("dump", back.toString()).out();
        assertEquals(da.substring(da.indexOf('\n')), db.substring(db.indexOf('\n')));
        // garbage is not a pack
        final Path junk = Files.writeString(tmp.resolve("junk.palpack"), "no pack here");
        final Result bad = pal("unpack", junk.toString(), tmp.resolve("junk").toString());
        assertEquals(2, bad.rc(), bad.toString());
        BadInputTest.assertOneLine(bad);
    }

    @Test
    void benchPrintsFiguresRatiosAndTargets()
    {
        final Result r = pal("bench", "--scenario", "tlb-stale,ipi-pingpong", "--warmup", "0", "--repeat", "1", "--arg", "rounds=100",
            "--index-events", "200000", "--hunt-seeds", "4");
        assertEquals(0, r.rc(), r.toString());
        for (final String s : new String[] {"tlb-stale", "ipi-pingpong", "no-rec", "rec ev/s", "raw-chunk", "cost x",
            "B/event", "targets", "5.00 M events/s", "replay ev/s", "replay/rec", "state-apply e/s", "state --at ms",
            "replay at least as fast as record", "who-wrote index: 200,000 events", "target >= 20.00 M", "target < 10 ms",
            "hunt: tlb-stale", "seeds 1..4: --jobs 1 ", "zstd", "deflate", "unpack MB/s", "runs/s, --jobs 2 ", "runs/s, ratio ", "same verdicts, groups and digests: yes"})
        {
            assertTrue(r.out().contains(s), s + " in\n" + r.out());
        }
        // Why recording costs what it does: machine and encoder time per event, the floor, the handoffs that waited.
        for (final String s : new String[] {"tlb-stale", "ipi-pingpong"})
        {
            assertTrue(r.out().matches("(?s).*\n  " + s + " +machine [0-9.]+ ns/event, encoder [0-9.]+ ns/event \\(cpu\\): "
                + "floor [0-9.]+x on an idle second core \\[1\\.5x (reachable|needs the encoder <= [0-9.]+ ns/event)\\], "
                + "about [0-9.]+x with no free core; "
                + "the machine waited for the encoder at [0-9]+ of [0-9]+ batch handoffs.*"), s + " why line in\n" + r.out());
        }
        // Why replay and the index build run at the speed they do: CPU per event of each thread.
        assertTrue(r.out().contains("why (replay's pipeline: the pal-decode-ahead thread decodes the recording"), r.out());
        assertTrue(r.out().matches("(?s).*\n  why: cpu per event: decoding [0-9.]+ ns \\(on [0-9]+ thread\\(s\\)\\), indexing and writing [0-9.]+ ns; "
            + "20\\.00 M events/s on [0-9]+ cores needs decoding \\+ indexing <= [0-9]+ ns/event in all.*"), r.out());
    }
}
