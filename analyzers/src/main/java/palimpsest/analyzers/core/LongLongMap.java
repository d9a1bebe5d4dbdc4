package palimpsest.analyzers.core;

import java.util.Arrays;

/**
 * An open-addressing map from long keys to long values, for the per-event paths of the analyzers:
 * no boxing and no allocation per operation (only when the table grows). Key {@link #EMPTY} is
 * reserved; absent keys read as the {@code missing} value given at construction.
 */
public final class LongLongMap
{
    public static final long EMPTY = Long.MIN_VALUE;

    private final long missing;
    private long[] keys;
    private long[] values;
    private int mask;
    private int size;
    /** The last key looked up and its value (missing if absent): runs of accesses to one page ask the same key. */
    private long lastKey = EMPTY;
    private long lastValue;
    private boolean lastPresent;

    public LongLongMap(final int expected, final long missing)
    {
        this.missing = missing;
        int cap = 16;
        while (cap < expected * 2)
        {
            cap <<= 1;
        }
        keys = new long[cap];
        values = new long[cap];
        Arrays.fill(keys, EMPTY);
        mask = cap - 1;
    }

    private static int hash(final long key)
    {
        final long h = key * 0x9E3779B97F4A7C15L;
        return (int)(h ^ (h >>> 29));
    }

    public long get(final long key)
    {
        if (key == lastKey && key != EMPTY)
        {
            return lastValue;
        }
        int i = hash(key) & mask;
        while (true)
        {
            final long k = keys[i];
            if (k == key)
            {
                return remember(key, values[i], true);
            }
            if (k == EMPTY)
            {
                return remember(key, missing, false);
            }
            i = (i + 1) & mask;
        }
    }

    private long remember(final long key, final long value, final boolean present)
    {
        lastKey = key;
        lastValue = value;
        lastPresent = present;
        return value;
    }

    public boolean containsKey(final long key)
    {
        if (key == lastKey && key != EMPTY)
        {
            return lastPresent;
        }
        get(key);
        return lastPresent;
    }

    public void put(final long key, final long value)
    {
        if (key == lastKey)
        {
            lastKey = EMPTY; // only this key's cached answer changes (growing moves slots, not values)
        }
        int i = hash(key) & mask;
        while (true)
        {
            final long k = keys[i];
            if (k == key)
            {
                values[i] = value;
                return;
            }
            if (k == EMPTY)
            {
                keys[i] = key;
                values[i] = value;
                if (++size * 2 > keys.length)
                {
                    grow();
                }
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /** Removes a key (backward-shift deletion keeps probe chains intact). */
    public void remove(final long key)
    {
        if (key == lastKey)
        {
            lastKey = EMPTY;
        }
        int i = hash(key) & mask;
        while (true)
        {
            final long k = keys[i];
            if (k == EMPTY)
            {
                return;
            }
            if (k == key)
            {
                break;
            }
            i = (i + 1) & mask;
        }
        size--;
        int hole = i;
        int j = (i + 1) & mask;
        while (keys[j] != EMPTY)
        {
            final int home = hash(keys[j]) & mask;
            if (((j - home) & mask) >= ((j - hole) & mask))
            {
                keys[hole] = keys[j];
                values[hole] = values[j];
                hole = j;
            }
            j = (j + 1) & mask;
        }
        keys[hole] = EMPTY;
    }

    public int size()
    {
        return size;
    }

    /** Calls the visitor for every entry, in table order (not sorted). */
    public void forEach(final Visitor v)
    {
        for (int i = 0; i < keys.length; i++)
        {
            if (keys[i] != EMPTY)
            {
                v.visit(keys[i], values[i]);
            }
        }
    }

    @FunctionalInterface
    public interface Visitor
    {
        void visit(long key, long value);
    }

    private void grow()
    {
        final long[] oldKeys = keys;
        final long[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new long[oldKeys.length * 2];
        Arrays.fill(keys, EMPTY);
        mask = keys.length - 1;
        size = 0;
        for (int i = 0; i < oldKeys.length; i++)
        {
            if (oldKeys[i] != EMPTY)
            {
                put(oldKeys[i], oldValues[i]);
            }
        }
    }
}
