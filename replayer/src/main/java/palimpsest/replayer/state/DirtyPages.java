package palimpsest.replayer.state;

/**
 * Which 4 KiB pages of each node were written since the last {@link #clear}: one bit a page, set
 * from the write events as they pass (no allocation), read at keyframe time.
 */
public final class DirtyPages
{
    private static final int PAGE_SHIFT = 12;
    private final long[][] bits;
    private final int pagesPerNode;

    public DirtyPages(final int nodes, final long bytesPerNode)
    {
        pagesPerNode = (int)(bytesPerNode >>> PAGE_SHIFT);
        bits = new long[nodes][(pagesPerNode + 63) >>> 6];
    }

    public void mark(final int node, final long paddr, final int size)
    {
        if (paddr < 0)
        {
            return;
        }
        final long first = paddr >>> PAGE_SHIFT;
        final long last = (paddr + size - 1) >>> PAGE_SHIFT;
        for (long p = first; p <= last && p < pagesPerNode; p++)
        {
            bits[node][(int)(p >>> 6)] |= 1L << p;
        }
    }

    public boolean isDirty(final int node, final int page)
    {
        return (bits[node][page >>> 6] & (1L << page)) != 0;
    }

    public int pagesPerNode()
    {
        return pagesPerNode;
    }

    public int nodes()
    {
        return bits.length;
    }

    /** @return the next dirty page of node at or after from, or -1. */
    public int nextDirty(final int node, final int from)
    {
        final long[] b = bits[node];
        int w = from >>> 6;
        if (w >= b.length)
        {
            return -1;
        }
        long word = b[w] & (-1L << from);
        while (true)
        {
            if (word != 0)
            {
                final int p = (w << 6) + Long.numberOfTrailingZeros(word);
                return p < pagesPerNode ? p : -1;
            }
            if (++w == b.length)
            {
                return -1;
            }
            word = b[w];
        }
    }

    public void clear()
    {
        for (final long[] b : bits)
        {
            java.util.Arrays.fill(b, 0);
        }
    }
}
