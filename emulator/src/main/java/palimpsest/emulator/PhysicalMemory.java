package palimpsest.emulator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * One node's RAM: flat, byte-addressable, little-endian. Addresses at or beyond {@link #size()}
 * are unbacked: reads return all ones and writes are dropped, as on a PC bus.
 *
 * <p>The raw accessors here are not recorded. The CPU, MMU and NIC record what they do; only
 * loaders (before the machine starts) and tests that play "a stray DMA" or "a cosmic ray" call
 * these directly.
 */
public final class PhysicalMemory
{
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final byte[] bytes;

    public PhysicalMemory(final long sizeBytes)
    {
        if (sizeBytes <= 0 || sizeBytes > Integer.MAX_VALUE - 8 || (sizeBytes & 0xFFF) != 0)
        {
            throw new IllegalArgumentException("memory size must be a positive multiple of 4 KiB below 2 GiB: " + sizeBytes);
        }
        bytes = new byte[(int)sizeBytes];
    }

    public long size()
    {
        return bytes.length;
    }

    /** The backing array, for zero-copy payload hand-off to event sinks and keyframes. */
    public byte[] array()
    {
        return bytes;
    }

    public boolean backed(final long paddr, final int size)
    {
        return paddr >= 0 && paddr + size <= bytes.length;
    }

    /** Reads 1, 2, 4 or 8 bytes, zero-extended. */
    public long read(final long paddr, final int size)
    {
        if (paddr < 0 || paddr + size > bytes.length)
        {
            return size == 8 ? -1L : (1L << (size * 8)) - 1;
        }
        final int i = (int)paddr;
        switch (size)
        {
            case 1: return bytes[i] & 0xFFL;
            case 2: return ((short)SHORT.get(bytes, i)) & 0xFFFFL;
            case 4: return ((int)INT.get(bytes, i)) & 0xFFFF_FFFFL;
            case 8: return (long)LONG.get(bytes, i);
            default: throw new IllegalArgumentException("size " + size);
        }
    }

    /** Writes the low 1, 2, 4 or 8 bytes of value. */
    public void write(final long paddr, final int size, final long value)
    {
        if (paddr < 0 || paddr + size > bytes.length)
        {
            return;
        }
        final int i = (int)paddr;
        switch (size)
        {
            case 1: bytes[i] = (byte)value; break;
            case 2: SHORT.set(bytes, i, (short)value); break;
            case 4: INT.set(bytes, i, (int)value); break;
            case 8: LONG.set(bytes, i, value); break;
            default: throw new IllegalArgumentException("size " + size);
        }
    }

    public long read64(final long paddr)
    {
        return read(paddr, 8);
    }

    public void write64(final long paddr, final long value)
    {
        write(paddr, 8, value);
    }

    public int read8(final long paddr)
    {
        return (int)read(paddr, 1);
    }

    public void write8(final long paddr, final int value)
    {
        write(paddr, 1, value);
    }

    public void copyIn(final long paddr, final byte[] src, final int off, final int len)
    {
        System.arraycopy(src, off, bytes, (int)paddr, len);
    }

    public void copyOut(final long paddr, final byte[] dst, final int off, final int len)
    {
        System.arraycopy(bytes, (int)paddr, dst, off, len);
    }

    public void fill(final long paddr, final int len, final byte value)
    {
        java.util.Arrays.fill(bytes, (int)paddr, (int)paddr + len, value);
    }
}
