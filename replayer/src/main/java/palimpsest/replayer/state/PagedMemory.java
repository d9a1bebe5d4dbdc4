package palimpsest.replayer.state;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One node's RAM as a query sees it: only the pages it touches, each filled on first touch from a
 * {@link Source} (the nearest keyframe's copy, else the loaded image, else zeros), so a state at
 * event 100 M costs the pages read and the gap rolled, not the machine's RAM. Same semantics as
 * {@link palimpsest.emulator.PhysicalMemory}: little-endian, and addresses at or beyond
 * {@link #size()} read as all ones and drop writes. Allocates only a page on its first touch. Not
 * thread-safe.
 */
final class PagedMemory
{
    static final int PAGE = 4096;
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    /** Where a page's bytes come from before the events of the gap change them. */
    interface Source
    {
        /** Fills dst (all zero on entry) with the page's bytes. */
        void fill(int node, long page, byte[] dst);
    }

    private final int node;
    private final long size;
    private final Source source;
    /** Open addressing, page number + 1 as the key (0 = empty). */
    private long[] keys = new long[64];
    private byte[][] pages = new byte[64][];
    private int count;
    private long lastPage = -1;
    private byte[] last;

    PagedMemory(final int node, final long size, final Source source)
    {
        this.node = node;
        this.size = size;
        this.source = source;
    }

    long size()
    {
        return size;
    }

    boolean backed(final long paddr, final int n)
    {
        return paddr >= 0 && paddr + n <= size;
    }

    /** Pages touched so far (filled from the source). */
    int pagesTouched()
    {
        return count;
    }

    private byte[] page(final long p)
    {
        if (p == lastPage)
        {
            return last;
        }
        if (2 * (count + 1) > keys.length)
        {
            grow();
        }
        final int mask = keys.length - 1;
        int i = (int)mix(p) & mask;
        while (keys[i] != 0)
        {
            if (keys[i] == p + 1)
            {
                lastPage = p;
                last = pages[i];
                return last;
            }
            i = (i + 1) & mask;
        }
        final byte[] b = new byte[PAGE];
        source.fill(node, p, b);
        keys[i] = p + 1;
        pages[i] = b;
        count++;
        lastPage = p;
        last = b;
        return b;
    }

    private void grow()
    {
        final long[] oldKeys = keys;
        final byte[][] oldPages = pages;
        keys = new long[oldKeys.length * 2];
        pages = new byte[oldKeys.length * 2][];
        final int mask = keys.length - 1;
        for (int j = 0; j < oldKeys.length; j++)
        {
            if (oldKeys[j] != 0)
            {
                int i = (int)mix(oldKeys[j] - 1) & mask;
                while (keys[i] != 0)
                {
                    i = (i + 1) & mask;
                }
                keys[i] = oldKeys[j];
                pages[i] = oldPages[j];
            }
        }
        lastPage = -1;
        last = null;
    }

    private static long mix(final long p)
    {
        final long h = p * 0x9E3779B97F4A7C15L;
        return h ^ (h >>> 29);
    }

    /** Reads 1, 2, 4 or 8 bytes, zero-extended. */
    long read(final long paddr, final int n)
    {
        if (paddr < 0 || paddr + n > size)
        {
            return n == 8 ? -1L : (1L << (n * 8)) - 1;
        }
        final int off = (int)(paddr & (PAGE - 1));
        if (off + n > PAGE)
        {
            long v = 0;
            for (int i = n - 1; i >= 0; i--)
            {
                v = v << 8 | page((paddr + i) >>> 12)[(int)((paddr + i) & (PAGE - 1))] & 0xFFL;
            }
            return v;
        }
        final byte[] b = page(paddr >>> 12);
        switch (n)
        {
            case 1: return b[off] & 0xFFL;
            case 2: return ((short)SHORT.get(b, off)) & 0xFFFFL;
            case 4: return ((int)INT.get(b, off)) & 0xFFFF_FFFFL;
            case 8: return (long)LONG.get(b, off);
            default: throw new IllegalArgumentException("size " + n);
        }
    }

    /** Writes the low 1, 2, 4 or 8 bytes of value. */
    void write(final long paddr, final int n, final long value)
    {
        if (paddr < 0 || paddr + n > size)
        {
            return;
        }
        final int off = (int)(paddr & (PAGE - 1));
        if (off + n > PAGE)
        {
            for (int i = 0; i < n; i++)
            {
                page((paddr + i) >>> 12)[(int)((paddr + i) & (PAGE - 1))] = (byte)(value >>> (8 * i));
            }
            return;
        }
        final byte[] b = page(paddr >>> 12);
        switch (n)
        {
            case 1: b[off] = (byte)value; break;
            case 2: SHORT.set(b, off, (short)value); break;
            case 4: INT.set(b, off, (int)value); break;
            case 8: LONG.set(b, off, value); break;
            default: throw new IllegalArgumentException("size " + n);
        }
    }

    /** Forgets every page (the next touch fills it from the source again). */
    void clear()
    {
        Arrays.fill(keys, 0);
        Arrays.fill(pages, null);
        count = 0;
        lastPage = -1;
        last = null;
    }
}
