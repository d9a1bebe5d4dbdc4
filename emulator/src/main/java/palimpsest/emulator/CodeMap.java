package palimpsest.emulator;

import java.util.Arrays;

/**
 * Which code lives at which text address: the machine's view of "instructions in memory". Each
 * entry is a symbol (name, start, size) and optionally the {@link Routine} that runs when control
 * is transferred to its start (through an IDT vector, a SIPI page, or a new fiber).
 *
 * <p>It doubles as the symbol table ({@code System.map}): {@link #symbolize(long)} turns a PC into
 * {@code name+0xoff/0xsize}. Shared by all nodes; the software that registers code knows nothing
 * of how the machine runs it.
 */
public final class CodeMap
{
    // Kernel text lives at the top of the address space (negative as a signed long) and user or
    // low-memory code near zero: all ordering is unsigned. starts[] holds addresses XOR the sign
    // bit, which makes signed order equal unsigned address order for Arrays.binarySearch.
    private long[] starts = new long[64];
    private long[] sizes = new long[64];
    private String[] names = new String[64];
    private Routine[] routines = new Routine[64];
    private int count;

    /** Registers a symbol; ranges must not overlap. Returns start for chaining into constants. */
    public synchronized long define(final String name, final long start, final long size, final Routine routine)
    {
        if (size <= 0)
        {
            throw new IllegalArgumentException("symbol " + name + " has no size");
        }
        final long key = start ^ Long.MIN_VALUE;
        int i = Arrays.binarySearch(starts, 0, count, key);
        if (i >= 0)
        {
            throw new IllegalArgumentException("symbol " + name + " at " + Long.toHexString(start) + " overlaps " + names[i]);
        }
        i = -i - 1;
        if ((i > 0 && Long.compareUnsigned(start - (starts[i - 1] ^ Long.MIN_VALUE), sizes[i - 1]) < 0) ||
            (i < count && Long.compareUnsigned((starts[i] ^ Long.MIN_VALUE) - start, size) < 0))
        {
            throw new IllegalArgumentException("symbol " + name + " at " + Long.toHexString(start) + " overlaps another");
        }
        if (count == starts.length)
        {
            final int n = count * 2;
            starts = Arrays.copyOf(starts, n);
            sizes = Arrays.copyOf(sizes, n);
            names = Arrays.copyOf(names, n);
            routines = Arrays.copyOf(routines, n);
        }
        System.arraycopy(starts, i, starts, i + 1, count - i);
        System.arraycopy(sizes, i, sizes, i + 1, count - i);
        System.arraycopy(names, i, names, i + 1, count - i);
        System.arraycopy(routines, i, routines, i + 1, count - i);
        starts[i] = key;
        sizes[i] = size;
        names[i] = name;
        routines[i] = routine;
        count++;
        return start;
    }

    /** Removes the symbol starting at start (module unload). */
    public synchronized void undefine(final long start)
    {
        final int i = Arrays.binarySearch(starts, 0, count, start ^ Long.MIN_VALUE);
        if (i >= 0)
        {
            System.arraycopy(starts, i + 1, starts, i, count - i - 1);
            System.arraycopy(sizes, i + 1, sizes, i, count - i - 1);
            System.arraycopy(names, i + 1, names, i, count - i - 1);
            System.arraycopy(routines, i + 1, routines, i, count - i - 1);
            count--;
        }
    }

    private int indexOf(final long addr)
    {
        int i = Arrays.binarySearch(starts, 0, count, addr ^ Long.MIN_VALUE);
        if (i < 0)
        {
            i = -i - 2;
        }
        if (i >= 0 && Long.compareUnsigned(addr - (starts[i] ^ Long.MIN_VALUE), sizes[i]) < 0)
        {
            return i;
        }
        return -1;
    }

    /** The routine entered at exactly this address, or null. */
    public synchronized Routine routineAt(final long addr)
    {
        final int i = Arrays.binarySearch(starts, 0, count, addr ^ Long.MIN_VALUE);
        return i >= 0 ? routines[i] : null;
    }

    public synchronized String nameAt(final long addr)
    {
        final int i = indexOf(addr);
        return i < 0 ? null : names[i];
    }

    public synchronized long startOf(final long addr)
    {
        final int i = indexOf(addr);
        return i < 0 ? -1 : starts[i] ^ Long.MIN_VALUE;
    }

    /** @return the address of a symbol by name, or -1. */
    public synchronized long addressOf(final String name)
    {
        for (int i = 0; i < count; i++)
        {
            if (names[i].equals(name))
            {
                return starts[i] ^ Long.MIN_VALUE;
            }
        }
        return -1;
    }

    /** {@code name+0xoff/0xsize}, or null when no symbol covers pc. */
    public synchronized String symbolize(final long pc)
    {
        final int i = indexOf(pc);
        if (i < 0)
        {
            return null;
        }
        return names[i] + "+0x" + Long.toHexString(pc - (starts[i] ^ Long.MIN_VALUE)) + "/0x" + Long.toHexString(sizes[i]);
    }

    public synchronized int size()
    {
        return count;
    }

    /** Receives symbols from {@link #forEachSymbol}. */
    public interface SymbolVisitor
    {
        void symbol(String name, long start, long size);
    }

    /** Visits every symbol (name, start, size) in address order: symbol files are written from it. */
    public synchronized void forEachSymbol(final SymbolVisitor visitor)
    {
        for (int i = 0; i < count; i++)
        {
            visitor.symbol(names[i], starts[i] ^ Long.MIN_VALUE, sizes[i]);
        }
    }

    /** System.map-style listing: one {@code address T name} line per symbol. */
    public synchronized String systemMap()
    {
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            sb.append(String.format("%016x T %s%n", starts[i] ^ Long.MIN_VALUE, names[i]));
        }
        return sb.toString();
    }
}
