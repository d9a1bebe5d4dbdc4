package palimpsest.replayer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.trace.DecodeAhead;
import palimpsest.trace.Event;
import palimpsest.trace.SyntheticTrace;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceStatus;
import palimpsest.trace.TraceWriter;

/** The verifier over a decode-ahead recording, fed by hand: agreement, divergence (which stops the decode thread). */
class VerifierTest
{
    @TempDir
    Path tmp;

    private static final long EVENTS = 100_000;

    private void write()
    {
        try (TraceWriter w = TraceWriter.create(tmp, TraceHeader.builder().machine(1, 4, 128).scenario("synthetic")
            .schedule("seeded", 1).build()))
        {
            new SyntheticTrace(9, 4).generate(w, EVENTS);
        }
    }

    @Test
    void theSameEventsVerifyToTheEnd()
    {
        write();
        try (DecodeAhead d = DecodeAhead.open(tmp); TraceReader r = TraceReader.open(tmp))
        {
            final Verifier v = new Verifier(d, true);
            final Event e = new Event();
            while (r.next(e))
            {
                e.writeTo(v);
            }
            assertNull(v.divergence());
            assertEquals(EVENTS, v.verified());
            assertFalse(v.recordingHasMore());
            assertEquals(TraceStatus.COMPLETE, d.status());
        }
    }

    @Test
    void aDivergenceIsReportedWithContextAndStopsTheDecodeThread()
    {
        write();
        final long at = 50_000;
        try (DecodeAhead d = DecodeAhead.open(tmp, DecodeAhead.Mode.ALL, 1024, 4); TraceReader r = TraceReader.open(tmp))
        {
            final Verifier v = new Verifier(d, false);
            final Event e = new Event();
            Event recorded = null;
            while (r.next(e))
            {
                if (e.index() == at)
                {
                    recorded = new Event().copyFrom(e);
                    // The same event with another pc.
                    if (e.isAccess())
                    {
                        v.access(e.kind(), e.cpu(), e.icount(), e.pc() + 1, e.vaddr(), e.paddr(), e.size(), e.value(), e.oldValue());
                    }
                    else
                    {
                        v.event(e.kind(), e.cpu(), e.icount(), e.pc() + 1, e.a(), e.b(), e.c());
                    }
                    assertNotNull(v.divergence());
                    assertFalse(d.decoding(), "the decode thread stopped at the divergence");
                    continue;
                }
                e.writeTo(v);
            }
            final Divergence div = v.divergence();
            assertEquals(at, div.index);
            assertEquals(at, v.verified());
            assertTrue(recorded.sameAs(div.recorded), "the recorded event is kept");
            assertEquals(recorded.pc() + 1, div.replayed.pc());
            assertEquals(Verifier.CONTEXT, div.before.size());
            assertEquals(at - 1, div.before.get(div.before.size() - 1).index());
            assertEquals(EVENTS - at - 1, v.afterDivergence(), "what-if: the rest is counted, not compared");
            assertFalse(v.recordingHasMore());
        }
    }
}
