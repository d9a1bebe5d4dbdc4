package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.nio.file.Path;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;

/** The tools on a two-node LegoOS trace: node prefixes, --node for dump, state and who-wrote, cross-node hops. */
class LegoCliTest
{
    @TempDir
    static Path tmp;
    static Path trace;
    static Result rec;

    @BeforeAll
    static void record()
    {
        trace = tmp.resolve("lego");
        rec = pal("record", "--scenario", "lego-word-count", "--nodes", "2", "--cpus", "2", "--arg", "words=400", "-o", trace.toString());
    }

    @Test
    void bothNodesBootAndTheRecordingIsGood()
    {
        assertEquals(0, rec.rc(), rec.toString());
        assertTrue(rec.out().contains("[P0] ") && rec.out().contains("Memory-component manager is up and running."), rec.out());
        assertTrue(rec.out().contains("[M1] ") && rec.out().contains("handle_p2m_execve(): pid:1,argc:2,envc:2,file:/bin/word_count"));
    }

    @Test
    void dumpShowsTheRpcsAndSelectsANode()
    {
        final Result d = pal("dump", trace.toString(), "--kind", "net-send,net-deliver", "--limit", "20");
        assertEquals(0, d.rc(), d.toString());
        assertTrue(d.out().contains("roles=P0,M1"), d.out());
        assertTrue(d.out().contains("nic0") && d.out().contains("net-send dst=node1") && d.out().contains("net-deliver src=node0"), d.out());
        assertTrue(d.out().contains("ibapi REQ EXECVE msg 0x1 pid=1") && d.out().contains("ibapi REQ PCACHE_MISS") &&
            d.out().contains("ibapi REPLY msg 0x1 status=0"), d.out());
        final Result m = pal("dump", trace.toString(), "--node", "1", "--kind", "net-send", "--limit", "5");
        assertEquals(0, m.rc(), m.toString());
        assertTrue(m.out().contains("nic1 "), m.out());
        assertFalse(m.out().contains(" nic0 "), m.out());
        assertEquals(2, pal("dump", trace.toString(), "--node", "2").rc());
    }

    @Test
    void stateOfOneNode()
    {
        final Result s = pal("state", trace.toString(), "--at", "200000", "--node", "1");
        assertEquals(0, s.rc(), s.toString());
        assertTrue(s.out().contains("cpu2 ") && s.out().contains("cpu3 "), s.out());
        assertFalse(s.out().contains("cpu0 ") || s.out().contains("cpu1 "), s.out());
    }

    @Test
    void whoWroteOnTheProcessorNamesTheMemoryNodesStore()
    {
        final Result w = pal("who-wrote", trace.toString(), "--addr", "410800", "--node", "0");
        assertEquals(0, w.rc(), w.toString());
        assertTrue(w.out().contains("by ibapi_rx_interrupt"), w.out());
        assertTrue(w.out().contains("where the byte came from"), w.out());
        assertTrue(w.out().contains("DMA by P0's NIC"), w.out());
        assertTrue(w.out().contains("M1's NIC sent frame #"), w.out());
        assertTrue(w.out().contains("<- the origin: M1's store at event "), w.out());
        assertTrue(w.out().contains(" in lego_clear_user+"), w.out());
    }
}
