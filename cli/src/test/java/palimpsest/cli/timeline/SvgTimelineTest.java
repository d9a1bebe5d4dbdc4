package palimpsest.cli.timeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.io.StringWriter;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.xml.sax.InputSource;

/** The SVG's size does not grow with the number of slices, markers or arrows. */
class SvgTimelineTest
{
    @Test
    void aHundredThousandSlicesMarkersAndArrowsStayWithinTheirBounds() throws Exception
    {
        final StringWriter w = new StringWriter();
        final long events = 200_000;
        final SvgTimeline svg = new SvgTimeline(w, "a <busy> & long run", 0, events - 1);
        svg.track(0, 0, "cpu0");
        svg.track(0, 1, "cpu1");
        svg.begin(0, 0, 0, "task 1", "task", "task", "1");
        svg.begin(0, 1, 0, "task 2", "task", "task", "2");
        for (long ts = 1; ts + 2 < events; ts += 2)
        {
            // A one-event interrupt on each cpu every other event, an instant and an arrow with each.
            svg.begin(0, 0, ts, "timer 0xef", "irq-timer", "vector", "0xef");
            svg.end(0, 0, ts + 1);
            svg.begin(0, 1, ts, "#PF", "exception", "vector", "14");
            svg.end(0, 1, ts + 1);
            svg.instant(0, (int)(ts & 1), ts, "text_poke " + (ts % 7), "text_poke");
            svg.flow(true, ts, 0, 0, ts, "ipi", "ipi");
            svg.flow(false, ts, 0, 1, ts + 1, "ipi", "ipi");
        }
        svg.end(0, 0, events);
        svg.end(0, 1, events);
        svg.finish(0, events, "trace complete");
        final String s = w.toString();
        final Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new InputSource(new StringReader(s)));
        final int rects = d.getElementsByTagName("rect").getLength();
        assertTrue(rects <= 2 * 4 * SvgTimeline.WIDTH + 50, "rects " + rects);
        assertTrue(d.getElementsByTagName("line").getLength() <= 1000 + 400 + 20, "lines");
        assertTrue(s.length() < 2_000_000, "svg of " + s.length() + " chars");
        assertTrue(s.contains("not drawn: "), "says what it left out");
        assertEquals("a <busy> & long run", d.getElementsByTagName("text").item(0).getTextContent());
    }
}
