package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** who-wrote of bytes a NIC wrote by DMA (net-echo): the device, its descriptor, the CPU store that posted it. */
class DmaWhoWroteTest
{
    @TempDir
    Path dir;

    @Test
    void aDmaWriterIsTheDeviceWithItsDescriptorAndPoster()
    {
        final Path t = dir.resolve("ne");
        assertEquals(0, PalRunner.pal("record", "--scenario", "net-echo", "-o", t.toString()).rc());
        final PalRunner.Result r = PalRunner.pal("who-wrote", t.toString(), "--addr", "340000", "--phys");
        assertEquals(0, r.rc(), r::toString);
        assertTrue(r.out().contains("nic0 (device 0x8000, node 0's NIC) dma-write.8 phys 340000"), r::toString);
        assertTrue(r.out().contains("through the descriptor at phys 311000"), r::toString);
        assertTrue(r.out().contains("posted by #"), r::toString);
        assertTrue(r.out().contains("nic_setup"), r::toString);
        assertFalse(r.out().contains("cpu32768"), r::toString);
        assertFalse(r.out().contains(" 0x0\n"), r::toString);
    }
}
