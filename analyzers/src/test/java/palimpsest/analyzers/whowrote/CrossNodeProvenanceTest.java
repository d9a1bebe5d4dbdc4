package palimpsest.analyzers.whowrote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.input.SeededInput;
import palimpsest.kernel.scenarios.LegoWordCountScenario;
import palimpsest.recorder.Recording;
import palimpsest.recorder.RecordingSummary;
import palimpsest.trace.EventKind;
import palimpsest.trace.EventSink;

/**
 * A byte the memory node wrote, loaded on the processor through the pcache: who-wrote on the
 * processor's address follows the copy out of the RX buffer, the DMA of the reply frame, the
 * frame's send and the copies on the memory node back to the memory node's own store.
 */
class CrossNodeProvenanceTest
{
    /** word_count's data page on the processor: .bss past its last variable, zeroed on M by lego_clear_user. */
    private static final long BSS_TAIL = 0x410800;
    /** The first bytes of the same page: the program's data, copied from the file on M by the loader. */
    private static final long DATA = 0x410001;

    @TempDir
    Path dir;

    @Test
    void aByteOnTheProcessorNamesTheMemoryNodesStoreThroughTheMessage()
    {
        final LegoWordCountScenario s = new LegoWordCountScenario();
        final MachineConfig cfg = new MachineConfig(2, 2, 32);
        final ScenarioContext ctx = new ScenarioContext(Map.of("words", "300", "threads", "2"), "head", List.of());
        final RecordingSummary sum = new Recording(s).config(cfg).context(ctx).schedule("seeded", 4).output(dir)
            .keyframeEvery(0).run();
        assertEquals(Verdict.Kind.GOOD, sum.verdict().kind, sum.verdict().toString());
        final Machine code = new Machine(cfg, EventSink.NULL, new SeededInput(0));
        s.load(code, ctx);
        final WhoWroteIndex idx = WhoWroteIndex.openOrBuild(dir, n -> { });

        final long key = idx.translate(BSS_TAIL, Long.MAX_VALUE, 0);
        assertEquals(0, key >>> 48, "the processor's own page");
        final List<WhoWroteIndex.Write> ws = idx.writers(key, 1, Long.MAX_VALUE, false);
        assertFalse(ws.isEmpty());
        final List<Provenance.Hop> hops = Provenance.follow(dir, idx, ws.get(0).event, key);
        assertTrue(Provenance.crossesNodes(hops), "the page came over the fabric");
        // The processor's copy out of its RX buffer, then the DMA of the frame into it.
        assertEquals(Provenance.Hop.Kind.COPY, hops.get(0).kind);
        assertEquals("ibapi_rx_interrupt", fn(code, hops.get(0).event.pc()));
        assertEquals(Provenance.Hop.Kind.DMA, hops.get(1).kind);
        assertEquals(EventKind.deviceId(0), hops.get(1).event.cpu(), "DMA by the processor's NIC");
        assertEquals(Provenance.Hop.Kind.SEND, hops.get(2).kind);
        assertEquals(EventKind.deviceId(1), hops.get(2).event.cpu(), "sent by the memory node's NIC");
        assertEquals(hops.get(1).from, hops.get(2).from, "the same frame");
        final Provenance.Hop origin = hops.get(hops.size() - 1);
        assertEquals(Provenance.Hop.Kind.ORIGIN, origin.kind);
        assertEquals(1, origin.phys >>> 48, "the byte was made on the memory node");
        assertEquals(1, origin.event.cpu() / cfg.cpusPerNode, "by one of its cpus");
        assertEquals(EventKind.STORE, origin.event.kind());
        assertEquals("lego_clear_user", fn(code, origin.event.pc()));

        // Data from the file: the chain runs through the memory node's loader to its ramfs page.
        final long dkey = idx.translate(DATA, Long.MAX_VALUE, 0);
        final List<Provenance.Hop> dh = Provenance.follow(dir, idx, idx.writers(dkey, 1, Long.MAX_VALUE, false).get(0).event, dkey);
        assertTrue(Provenance.crossesNodes(dh));
        boolean loader = false;
        for (final Provenance.Hop h : dh)
        {
            loader |= h.kind == Provenance.Hop.Kind.COPY && "load_pxe_binary".equals(fn(code, h.event.pc()));
        }
        assertTrue(loader, "copied into the user page by the memory node's loader");
    }

    private static String fn(final Machine m, final long pc)
    {
        final String s = m.code().symbolize(pc);
        return s == null ? "?" : s.substring(0, s.indexOf('+'));
    }
}
