package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class TraceHeaderTest
{
    @Test
    void roundTripWithSortedArgs()
    {
        final TraceHeader h = new TraceHeader(4, 2, 1024, "lock-storm", Map.of("z", "1", "a", "é∑", "m", ""), "chaos",
            Long.MIN_VALUE, "", List.of("a.patch", "b.patch"), "pal 0.1");
        final byte[] b = h.encode();
        final TraceHeader d = TraceHeader.decode(b, 0, b.length);
        assertEquals(h, d);
        assertEquals(List.of("a", "m", "z"), List.copyOf(d.scenarioArgs().keySet()));
        assertEquals(TraceFormat.VERSION, d.formatVersion());
        assertEquals(8, d.cpuCount());
        assertEquals("", d.kernelVersion());
        // Argument order does not change the bytes.
        final TraceHeader h2 = TraceHeader.builder().machine(4, 2, 1024).scenario("lock-storm").arg("m", "")
            .arg("z", "1").arg("a", "é∑").schedule("chaos", Long.MIN_VALUE).kernel("", List.of("a.patch", "b.patch"))
            .toolVersion("pal 0.1").build();
        assertArrayEquals(b, h2.encode());
        assertEquals("PALIMPST", new String(b, 0, 8, java.nio.charset.StandardCharsets.US_ASCII));
    }

    @Test
    void garbage()
    {
        final byte[] b = TestEvents.header().encode();
        b[26] = 0x7f; // the scenario name length becomes huge
        assertThrows(TraceException.class, () -> TraceHeader.decode(b, 0, b.length));
        assertThrows(TraceException.class, () -> TraceHeader.decode(new byte[4], 0, 4));
    }
}
