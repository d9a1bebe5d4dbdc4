package palimpsest.trace;

/**
 * XXH64 (xxHash, 64-bit), implemented here word-at-a-time over byte arrays without allocating.
 * Used for the chained chunk digest: {@code digest[n] = hash(payload[n], seed = digest[n-1])}.
 */
public final class Hash64
{
    private static final long P1 = 0x9E3779B185EBCA87L;
    private static final long P2 = 0xC2B2AE3D27D4EB4FL;
    private static final long P3 = 0x165667B19E3779F9L;
    private static final long P4 = 0x85EBCA77C2B2AE63L;
    private static final long P5 = 0x27D4EB2F165667C5L;

    private Hash64()
    {
    }

    public static long hash(final byte[] b, final int off, final int len, final long seed)
    {
        final int end = off + len;
        int p = off;
        long h;
        if (len >= 32)
        {
            long v1 = seed + P1 + P2;
            long v2 = seed + P2;
            long v3 = seed;
            long v4 = seed - P1;
            final int limit = end - 32;
            do
            {
                v1 = round(v1, Bits.getLong(b, p));
                v2 = round(v2, Bits.getLong(b, p + 8));
                v3 = round(v3, Bits.getLong(b, p + 16));
                v4 = round(v4, Bits.getLong(b, p + 24));
                p += 32;
            }
            while (p <= limit);
            h = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
            h = merge(h, v1);
            h = merge(h, v2);
            h = merge(h, v3);
            h = merge(h, v4);
        }
        else
        {
            h = seed + P5;
        }
        h += len;
        while (p + 8 <= end)
        {
            h ^= round(0, Bits.getLong(b, p));
            h = Long.rotateLeft(h, 27) * P1 + P4;
            p += 8;
        }
        if (p + 4 <= end)
        {
            h ^= (Bits.getInt(b, p) & 0xFFFFFFFFL) * P1;
            h = Long.rotateLeft(h, 23) * P2 + P3;
            p += 4;
        }
        while (p < end)
        {
            h ^= (b[p] & 0xFFL) * P5;
            h = Long.rotateLeft(h, 11) * P1;
            p++;
        }
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        h ^= h >>> 32;
        return h;
    }

    private static long round(long acc, final long input)
    {
        acc += input * P2;
        acc = Long.rotateLeft(acc, 31);
        return acc * P1;
    }

    private static long merge(long h, final long v)
    {
        h ^= round(0, v);
        return h * P1 + P4;
    }
}
