package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;

/** kill -9 of a long recording reads up to its last whole chunk; SIGTERM (as Ctrl-C) closes it as "interrupted". */
class KillTest
{
    private static final Pattern PROGRESS = Pattern.compile("^recording \\S+: ([0-9,]+) events");
    private static final Pattern WHOLE = Pattern.compile("read (\\d+) events in (\\d+) whole chunks");

    @TempDir
    Path tmp;

    /** The last progress figure the child printed before the test stopped it. */
    private final AtomicLong progress = new AtomicLong();

    /** A child JVM recording a long ipi-pingpong into trace, returned once its progress passed 100 000 events. */
    private Process recordingChild(final Path trace) throws Exception
    {
        final List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        for (final String a : ManagementFactory.getRuntimeMXBean().getInputArguments())
        {
            if (a.startsWith("--add-") || a.startsWith("-Dchronicle"))
            {
                cmd.add(a);
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("palimpsest.cli.Main");
        cmd.addAll(List.of("record", "--scenario", "ipi-pingpong", "--arg", "rounds=100000000", "-o", trace.toString()));
        final ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("PAL_PROGRESS", "lines");
        pb.environment().put("PAL_PROGRESS_MS", "50");
        final Process p = pb.start();
        final AtomicLong events = new AtomicLong();
        final StringBuilder err = new StringBuilder();
        final Thread reader = new Thread(() ->
        {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8)))
            {
                String line;
                while ((line = r.readLine()) != null)
                {
                    synchronized (err)
                    {
                        err.append(line).append('\n');
                    }
                    final Matcher m = PROGRESS.matcher(line);
                    if (m.find())
                    {
                        events.set(Long.parseLong(m.group(1).replace(",", "")));
                        progress.set(events.get());
                    }
                }
            }
            catch (final Exception ignored)
            {
                // process killed
            }
        });
        reader.setDaemon(true);
        reader.start();
        // A chunk holds a few thousand events: wait for enough of them to fill several chunks.
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (events.get() < 100_000 && p.isAlive() && System.nanoTime() < deadline)
        {
            Thread.sleep(20);
        }
        assertTrue(p.isAlive(), "recording still running when stopped; stderr:\n" + err);
        assertTrue(events.get() >= 100_000, "progress seen: " + events.get() + "; stderr:\n" + err);
        return p;
    }

    @Test
    void killedRecordingReadsUpToItsLastWholeChunk() throws Exception
    {
        final Path trace = tmp.resolve("killed");
        final Process p = recordingChild(trace);
        final long seen = progress.get();
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));

        final Result r = pal("dump", trace.toString());
        assertEquals(2, r.rc(), "a truncated trace is never a clean answer: " + r.err());
        final List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(lines.size() - 1).startsWith("-- this answer covers only events 0.."), r.out());
        final String last = lines.get(lines.size() - 2);
        assertTrue(last.contains("truncated at chunk"), last);
        final Matcher m = WHOLE.matcher(last);
        assertTrue(m.find(), last);
        final long read = Long.parseLong(m.group(1));
        final long chunks = Long.parseLong(m.group(2));
        assertTrue(chunks >= 3, "whole chunks read: " + chunks);
        // The promise (trace-format README): a kill -9 loses at most the encoder's queued batches and
        // the batch being filled (TraceWriter.MAX_LOST_ENCODING_AHEAD events) and its current chunk.
        final long promise = palimpsest.trace.TraceWriter.MAX_LOST_ENCODING_AHEAD + palimpsest.trace.TraceFormat.CHUNK_MAX_EVENTS;
        assertTrue(read >= seen - promise, "read " + read + " events of the " + seen + " reported before the kill "
            + "(at most " + promise + " may be lost)");
        final long printed = lines.stream().filter(l -> l.startsWith("#")).count();
        assertEquals(read, printed, "every event of every whole chunk printed");
        // the events are numbered without a gap
        assertEquals("#" + (read - 1), lines.get(lines.size() - 3).split(" ")[0]);

        // Replay re-executes what the killed trace holds, verifies all of it, and says where it ends.
        final Result replay = pal("replay", trace.toString());
        assertEquals(2, replay.rc(), replay.toString());
        assertTrue(replay.err().contains("replay verified the " + read + " events it holds"), replay.err());
        assertEquals(1, replay.err().strip().lines().count(), "one line: " + replay.err());
    }

    @Test
    void interruptedRecordingIsClosedAndEveryEventReplays() throws Exception
    {
        final Path trace = tmp.resolve("interrupted");
        final Process p = recordingChild(trace);
        p.destroy(); // SIGTERM, handled as Ctrl-C is
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the interrupted recording exits");
        assertEquals(130, p.exitValue());

        final Result dump = pal("dump", trace.toString(), "--limit", "0");
        assertEquals(0, dump.rc(), dump.toString());
        assertTrue(dump.out().contains("trace complete: ") && dump.out().contains("ended interrupted"), dump.out());

        final Result replay = pal("replay", trace.toString());
        assertEquals(0, replay.rc(), replay.toString());
        assertTrue(replay.out().contains("events verified") && replay.out().contains("interrupted"), replay.out());
    }
}
