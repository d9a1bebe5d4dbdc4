package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.algo.XxHash;
import org.junit.jupiter.api.Test;

class Hash64Test
{
    private static long hash(final String s, final long seed)
    {
        final byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        return Hash64.hash(b, 0, b.length, seed);
    }

    @Test
    void knownXxh64Vectors()
    {
        assertEquals(0xEF46DB3751D8E999L, hash("", 0));
        assertEquals(0xD24EC4F1A98C6E5BL, hash("a", 0));
        assertEquals(0x44BC2CF5AD770999L, hash("abc", 0));
    }

    /** Same results as Chronicle's own XXH64 for every length 0..300 and random seeds, at any offset. */
    @Test
    void matchesChronicleXxHash()
    {
        final Random r = new Random(7);
        final byte[] data = new byte[400];
        r.nextBytes(data);
        for (int len = 0; len <= 300; len++)
        {
            final long seed = r.nextLong();
            final int off = r.nextInt(50);
            final Bytes<byte[]> bytes = Bytes.wrapForRead(java.util.Arrays.copyOfRange(data, off, off + len));
            final long expected = new XxHash(seed).applyAsLong(bytes, len);
            assertEquals(expected, Hash64.hash(data, off, len, seed), "length " + len);
        }
    }

    @Test
    void seedAndEveryByteMatter()
    {
        final byte[] b = new byte[100];
        final long h = Hash64.hash(b, 0, 100, 1);
        assertNotEquals(h, Hash64.hash(b, 0, 100, 2));
        for (int i = 0; i < 100; i++)
        {
            b[i] = 1;
            assertNotEquals(h, Hash64.hash(b, 0, 100, 1), "byte " + i);
            b[i] = 0;
        }
    }
}
