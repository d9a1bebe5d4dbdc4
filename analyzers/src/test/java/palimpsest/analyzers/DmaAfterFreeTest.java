package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.dma.DmaAfterFree;
import palimpsest.kernel.Layout;
import palimpsest.trace.EventKind;

class DmaAfterFreeTest
{
    static final int NIC = EventKind.deviceId(0);
    static final long RING = 0x311000;
    static final long BUF = Layout.PAGE_OFFSET + 0x7ff9000L;
    static final long STACK = Layout.PAGE_OFFSET + 0x500000L;

    @TempDir
    Path dir;

    private static List<Finding> dma(final Analysis.Result r)
    {
        return r.findings.stream().filter(f -> f.analyzer.equals(DmaAfterFree.NAME)).collect(Collectors.toList());
    }

    /** kmalloc-512 buffer, posted into the RX descriptor by e1000_post_rx. */
    static void post(final HandMade h)
    {
        h.alloc(0, BUF, 9, 512);
        h.frames(0, STACK, Kfn.pc("worker", 0x10));
        h.store(0, Kfn.pc("e1000_post_rx", 0x10), Layout.va(RING), RING, 8, Layout.pa(BUF), 0);
        h.store(0, Kfn.pc("e1000_post_rx", 0x14), Layout.va(RING + 8), RING + 8, 4, 512, 0);
    }

    /** The NIC reads the descriptor and fills the buffer. */
    static void receive(final HandMade h)
    {
        h.w.access(EventKind.DMA_READ, NIC, ++h.icount, 0, RING + 12, RING + 12, 2, 0, 0);
        h.w.access(EventKind.DMA_READ, NIC, ++h.icount, 0, RING, RING, 8, Layout.pa(BUF), 0);
        h.w.access(EventKind.DMA_READ, NIC, ++h.icount, 0, RING + 8, RING + 8, 4, 512, 0);
        for (long off = 0; off < 24; off += 8)
        {
            h.w.access(EventKind.DMA_WRITE, NIC, ++h.icount, 0, Layout.pa(BUF) + off, Layout.pa(BUF) + off, 8, 0x4500 + off, 0);
        }
        h.w.access(EventKind.DMA_WRITE, NIC, ++h.icount, 0, RING + 8, RING + 8, 4, 24, 512); // write-back of the length
    }

    @Test
    void dmaIntoABufferFreedAfterItWasPostedNamesThePosterAndTheFreer()
    {
        final Path t = dir.resolve("uaf");
        try (HandMade h = new HandMade(t))
        {
            post(h);
            h.frames(1, STACK + 0x2000, Kfn.pc("e1000_clean_rx", 0x30));
            h.free(1, BUF, 9, 512); // the driver's teardown frees the buffer the NIC still owns
            receive(h);
        }
        final List<Finding> f = dma(Kfn.analyze(t));
        assertEquals(1, f.size(), f::toString);
        final String rep = f.get(0).report;
        assertTrue(rep.startsWith("BUG: KASAN: use-after-free in DMA by nic0 (device 0x8000, node 0's NIC)\n"), rep);
        assertTrue(rep.contains("through the descriptor at phys 311000"), rep);
        assertTrue(rep.contains("posted (descriptor written) by task 0 on cpu0"), rep);
        assertTrue(rep.contains(" e1000_post_rx+0x10/0x100\n worker+0x10/0x100"), rep);
        assertTrue(rep.contains("freed, while the device still owned it, by task 0 on cpu1"), rep);
        assertTrue(rep.contains(" e1000_clean_rx+0x30/0x100"), rep);
        assertTrue(!rep.contains("cpu32768"), rep);
        assertEquals(Finding.Role.CAUSE, f.get(0).role);
    }

    @Test
    void dmaIntoALiveBufferAndIntoOneAllocatedBeforeARepostAreNotReported()
    {
        final Path t = dir.resolve("live");
        try (HandMade h = new HandMade(t))
        {
            post(h);
            receive(h);
            // the driver frees it after the NIC is done, allocates a new one and posts that
            h.free(0, BUF, 9, 512);
            post(h);
            receive(h);
        }
        final List<Finding> f = dma(Kfn.analyze(t));
        assertEquals(0, f.size(), f::toString);
    }

    @Test
    void dmaIntoABufferFreedAndAllocatedToSomeoneElseSincePostingIsReported()
    {
        final Path t = dir.resolve("realloc");
        try (HandMade h = new HandMade(t))
        {
            post(h);
            h.free(0, BUF, 9, 512);
            h.alloc(1, BUF, 9, 512); // someone else's now; the descriptor still points at it
            receive(h);
        }
        final List<Finding> f = dma(Kfn.analyze(t));
        assertEquals(1, f.size(), f::toString);
        assertTrue(f.get(0).report.contains("The buffer's memory was allocated by task 0 on cpu1"), f.get(0).report);
    }
}
