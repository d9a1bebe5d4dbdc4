package palimpsest.golden;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.Main;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.Replay;
import palimpsest.replayer.ReplayResult;
import palimpsest.trace.EndRecord;
import palimpsest.trace.TracePacker;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceStatus;

/**
 * Every golden trace unpacks, has the digest and event count written next to it, and replays bit
 * for bit to the same verdict under the current code. A failure here after a kernel change means
 * the change altered recorded behaviour: if that was the intent, regenerate (README) and review
 * the difference with {@code pal diff}; if not, the change has a bug.
 *
 * <p>With {@code -Dgolden.regenerate=true} the same run re-records every golden trace from its
 * {@code record} line and rewrites the pack and the facts instead of checking them.
 */
class GoldenTracesTest
{
    @TempDir
    Path tmp;

    static Path goldenDir()
    {
        final String prop = System.getProperty("golden.dir");
        return prop != null ? Path.of(prop) : Path.of("traces");
    }

    @TestFactory
    Stream<DynamicTest> goldenTraces() throws IOException
    {
        final List<GoldenTrace> all = GoldenTrace.all(goldenDir());
        assertFalse(all.isEmpty(), "no golden traces in " + goldenDir().toAbsolutePath());
        final boolean regenerate = Boolean.getBoolean("golden.regenerate");
        return all.stream().map(g -> DynamicTest.dynamicTest(g.name(), () ->
        {
            if (regenerate)
            {
                regenerate(g);
            }
            else
            {
                check(g);
            }
        }));
    }

    private void check(final GoldenTrace g) throws IOException
    {
        assertTrue(Files.isRegularFile(g.pack()), "missing " + g.pack());
        final Path dir = tmp.resolve(g.name());
        TracePacker.unpack(g.pack(), dir);
        try (TraceReader r = TraceReader.open(dir))
        {
            assertEquals(TraceStatus.COMPLETE, r.verify(), r.statusMessage());
            final EndRecord end = r.end();
            assertNotNull(end);
            assertEquals(g.events(), end.totalEvents(), "event count");
            assertEquals(g.digest(), end.finalDigest(), "digest");
            assertEquals(g.outcome(), end.outcomeCode(), "recorded outcome");
        }
        final ReplayResult res = new Replay(dir, ScenarioCatalog.load()).run();
        assertNull(res.divergence, () -> g.name() + ": replay diverged: " + res.divergence +
            "\nIf the kernel changed on purpose, regenerate the golden traces (golden-traces/README.md).");
        assertTrue(res.verifiedAll(), () -> g.name() + ": verified " + res.verified + " of " + g.events());
        assertEquals(g.events(), res.verified);
        assertEquals(g.verdict(), res.verdict.kind.name().toLowerCase(), () -> "verdict " + res.verdict);
    }

    private void regenerate(final GoldenTrace g) throws IOException
    {
        final Path dir = tmp.resolve(g.name());
        final List<String> args = new ArrayList<>(g.recordArgs());
        args.add(0, "record");
        args.add("-o");
        args.add(dir.toString());
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final int rc;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8))
        {
            rc = Main.run(args.toArray(String[]::new), o, o, Map.of("PAL_PROGRESS", "off"), false);
        }
        assertTrue(rc == 0 || rc == 1 || rc == 125, "pal " + String.join(" ", args) + " -> " + rc + "\n" + out);
        final String verdict = rc == 0 ? "good" : rc == 1 ? "bad" : "skip";
        final ReplayResult check = new Replay(dir, ScenarioCatalog.load()).run();
        assertTrue(check.verifiedAll(), g.name() + ": the fresh recording does not replay: " + check.divergence);
        try (TraceReader r = TraceReader.open(dir))
        {
            r.verify();
            final EndRecord end = r.end();
            TracePacker.pack(dir, g.pack());
            g.withFacts(end.totalEvents(), end.finalDigest(), end.outcomeCode(), verdict,
                check.verdict == null ? "" : check.verdict.message).write();
        }
        System.out.println("regenerated " + g.pack() + " (" + Files.size(g.pack()) + " bytes)");
    }
}
