package palimpsest.trace;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Little-endian fixed-width access, LEB128 varints and zigzag on byte arrays. Allocation-free. */
final class Bits
{
    static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    /** Longest LEB128 encoding of a 64-bit value. */
    static final int MAX_VARINT = 10;

    private Bits()
    {
    }

    static long getLong(final byte[] b, final int i)
    {
        return (long)LONG.get(b, i);
    }

    static void putLong(final byte[] b, final int i, final long v)
    {
        LONG.set(b, i, v);
    }

    static int getInt(final byte[] b, final int i)
    {
        return (int)INT.get(b, i);
    }

    static void putInt(final byte[] b, final int i, final int v)
    {
        INT.set(b, i, v);
    }

    static int getUShort(final byte[] b, final int i)
    {
        return ((short)SHORT.get(b, i)) & 0xFFFF;
    }

    static void putShort(final byte[] b, final int i, final int v)
    {
        SHORT.set(b, i, (short)v);
    }

    static long zigzag(final long v)
    {
        return (v << 1) ^ (v >> 63);
    }

    static long unzigzag(final long v)
    {
        return (v >>> 1) ^ -(v & 1);
    }

    /** Writes v as an unsigned LEB128 varint at b[pos]; returns the new position. */
    static int putVarint(final byte[] b, int pos, long v)
    {
        while ((v & ~0x7FL) != 0)
        {
            b[pos++] = (byte)(v | 0x80);
            v >>>= 7;
        }
        b[pos++] = (byte)v;
        return pos;
    }

    /**
     * Writes a 64-bit value v and a small selector sel (bits bits wide, 1 or 2) as one varint: the first
     * byte holds the selector in its low bits and the low 7 - bits bits of v, then LEB128 of the rest.
     */
    static int putTagged(final byte[] b, int pos, final long v, final int sel, final int bits)
    {
        final int low = 7 - bits;
        final long rest = v >>> low;
        final int first = sel | (int)((v & ((1L << low) - 1)) << bits);
        if (rest == 0)
        {
            b[pos++] = (byte)first;
            return pos;
        }
        b[pos++] = (byte)(first | 0x80);
        return putVarint(b, pos, rest);
    }

    static int varintLength(long v)
    {
        int n = 1;
        while ((v & ~0x7FL) != 0)
        {
            n++;
            v >>>= 7;
        }
        return n;
    }
}
