package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import javax.xml.parsers.DocumentBuilderFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * pal timeline on the 0xf0 run (text-poke-scribble on v2.6.25-git2, 2 cpus, suspend/resume, the
 * oops in __d_lookup), read back with a JSON parser and an XML parser.
 */
class TimelineCommandTest
{
    @TempDir
    static Path dir;

    static Path bad;
    static JsonNode whole;

    @BeforeAll
    static void recordTheBadRunAndItsTimeline() throws IOException
    {
        bad = dir.resolve("bad");
        final PalRunner.Result rec = PalRunner.pal("record", "--scenario", "text-poke-scribble", "--kernel", "v2.6.25-git2",
            "-o", bad.toString());
        assertEquals(1, rec.rc(), rec::toString);
        final Path json = dir.resolve("bad.json");
        final PalRunner.Result r = PalRunner.pal("timeline", bad.toString(), "-o", json.toString());
        assertEquals(0, r.rc(), r::toString);
        assertTrue(r.out().contains("https://ui.perfetto.dev"), r::toString);
        whole = new ObjectMapper().readTree(json.toFile());
    }

    private static List<JsonNode> events(final JsonNode doc)
    {
        final List<JsonNode> l = new ArrayList<>();
        doc.get("traceEvents").forEach(l::add);
        return l;
    }

    private static long firstInstant(final List<JsonNode> evs, final String namePrefix)
    {
        for (final JsonNode e : evs)
        {
            if ("i".equals(e.get("ph").asText()) && e.get("name").asText().startsWith(namePrefix))
            {
                return e.get("ts").asLong();
            }
        }
        return -1;
    }

    /** Slices nest on every track, timestamps never go back on a track, and every arrow has its two ends. */
    private static void wellFormed(final List<JsonNode> evs)
    {
        final Map<String, ArrayDeque<JsonNode>> open = new HashMap<>();
        final Map<String, Long> last = new HashMap<>();
        final Map<Long, Integer> starts = new HashMap<>();
        final Map<Long, Integer> finishes = new HashMap<>();
        for (final JsonNode e : evs)
        {
            final String ph = e.get("ph").asText();
            final String track = e.get("pid").asInt() + "/" + e.get("tid").asInt();
            if (!"M".equals(ph))
            {
                final long ts = e.get("ts").asLong();
                assertTrue(ts >= last.getOrDefault(track, 0L), "time goes back on " + track + " at " + e);
                last.put(track, ts);
            }
            switch (ph)
            {
                case "B":
                    open.computeIfAbsent(track, k -> new ArrayDeque<>()).push(e);
                    break;
                case "E":
                    assertNotNull(open.get(track), "E without B: " + e);
                    assertFalse(open.get(track).isEmpty(), "E without B: " + e);
                    open.get(track).pop();
                    break;
                case "s":
                    starts.merge(e.get("id").asLong(), 1, Integer::sum);
                    break;
                case "f":
                    assertTrue(starts.containsKey(e.get("id").asLong()), "f before its s: " + e);
                    assertEquals("e", e.get("bp").asText(), e.toString());
                    finishes.merge(e.get("id").asLong(), 1, Integer::sum);
                    break;
                default:
                    break;
            }
        }
        for (final Map.Entry<String, ArrayDeque<JsonNode>> o : open.entrySet())
        {
            assertTrue(o.getValue().isEmpty(), "left open on " + o.getKey() + ": " + o.getValue());
        }
        assertEquals(starts, finishes, "every arrow start has one finish");
        for (final int n : starts.values())
        {
            assertEquals(1, n);
        }
    }

    @Test
    void theJsonHasEveryCpuTrackTheSuspendResumeAndTextPokeBeforeTheOopsAndPairedArrows()
    {
        final List<JsonNode> evs = events(whole);
        final Set<String> threads = new TreeSet<>();
        final Set<String> processes = new TreeSet<>();
        for (final JsonNode e : evs)
        {
            if ("M".equals(e.get("ph").asText()) && "thread_name".equals(e.get("name").asText()))
            {
                threads.add(e.get("pid").asInt() + ":" + e.get("args").get("name").asText() + ":" + e.get("tid").asInt());
            }
            if ("M".equals(e.get("ph").asText()) && "process_name".equals(e.get("name").asText()))
            {
                processes.add(e.get("args").get("name").asText());
            }
        }
        assertEquals(Set.of("0:cpu0:0", "0:cpu1:1"), threads);
        assertEquals(Set.of("node0"), processes);
        // Both cpus run tasks and take interrupts and exceptions, as nested slices.
        final Set<String> slices = new HashSet<>();
        for (final JsonNode e : evs)
        {
            if ("B".equals(e.get("ph").asText()))
            {
                slices.add(e.get("tid").asInt() + ":" + e.get("cat").asText());
            }
        }
        assertTrue(slices.containsAll(Set.of("0:task", "1:task", "0:exception", "1:exception", "0:irq-software", "1:irq-ipi")), slices::toString);
        wellFormed(evs);

        final long suspend = firstInstant(evs, "suspend");
        final long resume = firstInstant(evs, "resume");
        final long oops = firstInstant(evs, "oops in __d_lookup");
        assertTrue(suspend > 0 && resume > suspend && oops > resume, suspend + " " + resume + " " + oops);
        // The module the pokes hit was loaded before; cpu1 went down and came back up between suspend and resume.
        final long load = firstInstant(evs, "module-load e1000");
        assertTrue(load > 0 && load < suspend, "module-load " + load);
        long down = -1;
        long up = -1;
        for (final JsonNode e : evs)
        {
            if ("i".equals(e.get("ph").asText()) && e.get("tid").asInt() == 1 && e.get("ts").asLong() > suspend)
            {
                down = down < 0 && e.get("name").asText().equals("cpu-down 1") ? e.get("ts").asLong() : down;
                up = up < 0 && e.get("name").asText().equals("cpu-up 1") ? e.get("ts").asLong() : up;
            }
        }
        assertTrue(down > suspend && up > down && resume > up, down + " " + up);
        // The 0xf0 text_poke into the e1000 site (the dentry's byte) between resume's start and the oops.
        long poke = -1;
        for (final JsonNode e : evs)
        {
            if ("i".equals(e.get("ph").asText()) && e.get("name").asText().startsWith("text_poke 0xf0 at e1000_")
                && e.get("ts").asLong() > suspend)
            {
                poke = e.get("ts").asLong();
                break;
            }
        }
        assertTrue(poke > suspend && poke < oops, poke + " " + oops);
        // The IPIs of the run are arrows from cpu0 to cpu1 (INIT/SIPI at boot and resume, call-function vectors).
        int ipis = 0;
        for (final JsonNode e : evs)
        {
            if ("s".equals(e.get("ph").asText()) && "ipi".equals(e.get("cat").asText()))
            {
                ipis++;
            }
        }
        assertTrue(ipis >= 6, "ipis " + ipis);
        // The analyzers' findings are markers at their event: the oops chain's at the oops.
        boolean chain = false;
        for (final JsonNode e : evs)
        {
            if ("finding".equals(e.path("cat").asText()) && e.get("name").asText().startsWith("[oops] oops at"))
            {
                chain = e.get("ts").asLong() == oops;
            }
        }
        assertTrue(chain, "the oops finding is at the oops");
        assertTrue(whole.get("otherData").get("traceStatus").asText().startsWith("trace complete"), "trace status");
    }

    @Test
    void aWindowCutsTheSameTimelineAndStillNestsAndPairs() throws IOException
    {
        final Path json = dir.resolve("window.json");
        final PalRunner.Result r = PalRunner.pal("timeline", bad.toString(), "-o", json.toString(), "--from", "1270000", "--to",
            "1280000", "--no-findings");
        assertEquals(0, r.rc(), r::toString);
        final JsonNode doc = new ObjectMapper().readTree(json.toFile());
        assertTrue(doc.get("otherData").get("traceStatus").asText().startsWith("trace complete"), doc.get("otherData").toString());
        assertEquals("1270000..1280000", doc.get("otherData").get("events").asText());
        final List<JsonNode> evs = events(doc);
        wellFormed(evs);
        for (final JsonNode e : evs)
        {
            if (!"M".equals(e.get("ph").asText()))
            {
                final long ts = e.get("ts").asLong();
                assertTrue(ts >= 1270000 && ts <= 1280001, e.toString());
            }
        }
        assertTrue(firstInstant(evs, "suspend") > 0 && firstInstant(evs, "resume") > 0);
        assertEquals(-1, firstInstant(evs, "oops"));
        // The IPI sent just after resume is delivered after the window: its arrow ends at the window's end, saying so.
        assertTrue(evs.stream().anyMatch(e -> "X".equals(e.get("ph").asText()) && e.get("name").asText().equals("ipi fixed 0xfd not delivered")
            && e.get("ts").asLong() == 1280001 && e.get("tid").asInt() == 1), "undelivered ipi at the window's end");
        assertEquals(-1, firstInstant(evs, "["), "no findings with --no-findings");
    }

    @Test
    void theSvgParsesAndHasOneGroupPerCpuInItsNode() throws Exception
    {
        final Path svg = dir.resolve("bad.svg");
        final PalRunner.Result r = PalRunner.pal("timeline", bad.toString(), "-o", svg.toString(), "--format", "svg", "--no-findings");
        assertEquals(0, r.rc(), r::toString);
        final Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(svg.toFile());
        assertEquals("svg", d.getDocumentElement().getTagName());
        final NodeList groups = d.getElementsByTagName("g");
        final List<String> tracks = new ArrayList<>();
        final List<String> markers = new ArrayList<>();
        int lines = 0;
        for (int i = 0; i < groups.getLength(); i++)
        {
            final Element g = (Element)groups.item(i);
            if ("track".equals(g.getAttribute("class")))
            {
                assertEquals("node0", ((Element)g.getParentNode()).getAttribute("id"));
                tracks.add(g.getAttribute("id"));
                assertTrue(g.getElementsByTagName("rect").getLength() > 3, "slices drawn on " + g.getAttribute("id"));
            }
            if ("marker".equals(g.getAttribute("class")))
            {
                markers.add(g.getElementsByTagName("title").item(0).getTextContent());
            }
            if ("arrows".equals(g.getAttribute("class")))
            {
                lines = g.getElementsByTagName("line").getLength();
            }
        }
        assertEquals(List.of("cpu0", "cpu1"), tracks);
        assertTrue(markers.contains("suspend") && markers.contains("resume") && markers.contains("oops in __d_lookup"), markers::toString);
        assertTrue(lines >= 4, "arrows " + lines);
        // Bounded: 1.8 M events, yet a picture of a few tens of kilobytes.
        assertTrue(Files.size(svg) < 400_000, "svg size " + Files.size(svg));
    }

    @Test
    void aTruncatedTraceGivesTheTimelineOfWhatWasReadAndExitsTwo() throws IOException
    {
        final Path cut = dir.resolve("cut");
        Files.createDirectories(cut);
        Files.copy(bad.resolve("metadata.cq4t"), cut.resolve("metadata.cq4t"));
        try (InputStream in = Files.newInputStream(bad.resolve("19700101L.cq4"));
             OutputStream out = Files.newOutputStream(cut.resolve("19700101L.cq4")))
        {
            out.write(in.readNBytes(3_000_000));
        }
        final Path json = dir.resolve("cut.json");
        final PalRunner.Result r = PalRunner.pal("timeline", cut.toString(), "-o", json.toString());
        assertEquals(2, r.rc(), r::toString);
        assertTrue(r.out().contains("-- this answer covers only events 0.."), r::toString);
        assertTrue(r.err().startsWith("pal: ") && r.err().contains("truncated at chunk"), r::toString);
        final JsonNode doc = new ObjectMapper().readTree(json.toFile());
        wellFormed(events(doc));
        assertTrue(doc.get("otherData").get("traceStatus").asText().contains("truncated"), doc.get("otherData").toString());
    }

    @Test
    void framesBetweenNodesAreArrowsFromOneNicToTheOther() throws IOException
    {
        final Path echo = dir.resolve("echo");
        final PalRunner.Result rec = PalRunner.pal("record", "--scenario", "net-echo", "--arg", "frames=8", "-o", echo.toString());
        assertEquals(0, rec.rc(), rec::toString);
        final Path json = dir.resolve("echo.json");
        final PalRunner.Result r = PalRunner.pal("timeline", echo.toString(), "-o", json.toString());
        assertEquals(0, r.rc(), r::toString);
        final List<JsonNode> evs = events(new ObjectMapper().readTree(json.toFile()));
        wellFormed(evs);
        final Map<Long, String> from = new HashMap<>();
        final List<String> arrows = new ArrayList<>();
        for (final JsonNode e : evs)
        {
            if ("net".equals(e.path("cat").asText()) && "s".equals(e.get("ph").asText()))
            {
                from.put(e.get("id").asLong(), e.get("pid").asInt() + "/" + e.get("tid").asInt());
            }
            if ("net".equals(e.path("cat").asText()) && "f".equals(e.get("ph").asText()))
            {
                arrows.add(from.get(e.get("id").asLong()) + " -> " + e.get("pid").asInt() + "/" + e.get("tid").asInt());
            }
        }
        // 8 frames out, 8 echoes back, each from one node's NIC thread to the other's.
        assertEquals(16, arrows.size(), arrows::toString);
        final int nic0 = palimpsest.trace.EventKind.deviceId(0);
        final int nic1 = palimpsest.trace.EventKind.deviceId(1);
        assertEquals(8, arrows.stream().filter(a -> a.equals("0/" + nic0 + " -> 1/" + nic1)).count(), arrows::toString);
        assertEquals(8, arrows.stream().filter(a -> a.equals("1/" + nic1 + " -> 0/" + nic0)).count(), arrows::toString);
    }

    @Test
    void badInputIsOneLine()
    {
        final PalRunner.Result fmt = PalRunner.pal("timeline", bad.toString(), "-o", dir.resolve("x").toString(), "--format", "png");
        assertEquals(2, fmt.rc(), fmt::toString);
        assertTrue(fmt.err().startsWith("pal: --format png"), fmt::toString);
        final PalRunner.Result exists = PalRunner.pal("timeline", bad.toString(), "-o", bad.resolve("metadata.cq4t").toString());
        assertEquals(2, exists.rc(), exists::toString);
        final PalRunner.Result window = PalRunner.pal("timeline", bad.toString(), "-o", dir.resolve("y").toString(), "--from", "9", "--to", "3");
        assertEquals(2, window.rc(), window::toString);
        assertEquals(1, window.err().lines().count(), window::toString);
        final PalRunner.Result beyond = PalRunner.pal("timeline", bad.toString(), "-o", dir.resolve("z").toString(), "--from", "99999999");
        assertEquals(2, beyond.rc(), beyond::toString);
        assertTrue(beyond.err().startsWith("pal: --from 99999999 is beyond the last event "), beyond::toString);
        assertFalse(Files.exists(dir.resolve("z")), "nothing written");
    }
}
