package palimpsest.analyzers.core;

import java.util.ArrayList;
import java.util.List;

/**
 * Physical memory as far as a trace shows it: every byte some write event put there (stores,
 * read-modify-writes, DMA writes), page by page, allocated lazily. Bytes nobody wrote during the
 * trace (the boot loader's image, untouched RAM) read as 0 and {@link #known} says so. That is
 * enough for what the analyzers read back: stack frames (always pushed by recorded stores), slab
 * poison and kernel descriptors written at run time.
 *
 * <p>Physical addresses of different nodes are kept apart by the caller, which passes
 * {@code node << 48 | paddr}.
 */
public final class SparseMemory
{
    private static final int PAGE_SHIFT = 12;
    private static final int PAGE = 1 << PAGE_SHIFT;

    private final LongLongMap pageSlots = new LongLongMap(1024, -1);
    private final List<byte[]> pages = new ArrayList<>();
    private final List<long[]> knownBits = new ArrayList<>();
    private long lastPage = -1;
    private int lastSlot = -1;

    private int slot(final long page, final boolean create)
    {
        if (page == lastPage)
        {
            return lastSlot;
        }
        long s = pageSlots.get(page);
        if (s < 0)
        {
            if (!create)
            {
                return -1;
            }
            s = pages.size();
            pages.add(new byte[PAGE]);
            knownBits.add(new long[PAGE / 64]);
            pageSlots.put(page, s);
        }
        lastPage = page;
        lastSlot = (int)s;
        return lastSlot;
    }

    /** Writes size (1, 2, 4, 8) bytes little-endian; an access never crosses a page in this machine, but is split if it does. */
    public void write(final long addr, final int size, final long value)
    {
        final int off = (int)(addr & (PAGE - 1));
        if (off + size > PAGE)
        {
            for (int i = 0; i < size; i++)
            {
                write(addr + i, 1, value >>> (8 * i));
            }
            return;
        }
        final int s = slot(addr >>> PAGE_SHIFT, true);
        final byte[] p = pages.get(s);
        final long[] k = knownBits.get(s);
        if (size == 8)
        {
            LE64.set(p, off, value);
        }
        else
        {
            for (int i = 0; i < size; i++)
            {
                p[off + i] = (byte)(value >>> (8 * i));
            }
        }
        final int bit = off & 63;
        if (bit + size <= 64)
        {
            // The usual case (aligned access): one mask into one word of known bits.
            k[off >>> 6] |= (size == 64 ? -1L : (1L << size) - 1) << bit;
        }
        else
        {
            for (int i = 0; i < size; i++)
            {
                k[(off + i) >>> 6] |= 1L << (off + i);
            }
        }
    }

    private static final java.lang.invoke.VarHandle LE64 =
        java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    public int read8(final long addr)
    {
        final int s = slot(addr >>> PAGE_SHIFT, false);
        return s < 0 ? 0 : pages.get(s)[(int)(addr & (PAGE - 1))] & 0xff;
    }

    public long read64(final long addr)
    {
        final int off = (int)(addr & (PAGE - 1));
        if (off + 8 <= PAGE)
        {
            final int s = slot(addr >>> PAGE_SHIFT, false);
            return s < 0 ? 0 : (long)LE64.get(pages.get(s), off);
        }
        long v = 0;
        for (int i = 7; i >= 0; i--)
        {
            v = v << 8 | read8(addr + i);
        }
        return v;
    }

    /** Whether some write event of the trace so far put this byte there. */
    public boolean known(final long addr)
    {
        final int s = slot(addr >>> PAGE_SHIFT, false);
        if (s < 0)
        {
            return false;
        }
        final int off = (int)(addr & (PAGE - 1));
        return (knownBits.get(s)[off >>> 6] & (1L << off)) != 0;
    }

    public int pageCount()
    {
        return pages.size();
    }
}
