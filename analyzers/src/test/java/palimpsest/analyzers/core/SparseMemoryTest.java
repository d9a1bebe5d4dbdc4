package palimpsest.analyzers.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The shadow memory's word-at-a-time paths agree with a byte-by-byte model (unaligned and page-crossing accesses too). */
class SparseMemoryTest
{
    @Test
    void writesAndReadsAgreeWithAByteModel()
    {
        final SparseMemory m = new SparseMemory();
        final Map<Long, Integer> model = new HashMap<>();
        final SplittableRandom r = new SplittableRandom(17);
        final int[] sizes = {1, 2, 4, 8};
        for (int i = 0; i < 20_000; i++)
        {
            final long addr = 0x7000L + r.nextInt(3 * 4096);
            final int size = sizes[r.nextInt(4)];
            final long v = r.nextLong();
            m.write(addr, size, v);
            for (int b = 0; b < size; b++)
            {
                model.put(addr + b, (int)(v >>> (8 * b)) & 0xff);
            }
        }
        for (long a = 0x6ff0L; a < 0x7000L + 3 * 4096 + 16; a++)
        {
            assertEquals(model.getOrDefault(a, 0), m.read8(a), "byte " + Long.toHexString(a));
            assertEquals(model.containsKey(a), m.known(a), "known " + Long.toHexString(a));
            long w = 0;
            for (int b = 7; b >= 0; b--)
            {
                w = w << 8 | model.getOrDefault(a + b, 0);
            }
            assertEquals(w, m.read64(a), "word " + Long.toHexString(a));
        }
    }
}
