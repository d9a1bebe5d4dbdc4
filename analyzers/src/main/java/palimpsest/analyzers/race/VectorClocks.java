package palimpsest.analyzers.race;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import palimpsest.analyzers.core.LongLongMap;

/**
 * Vector clocks of the happens-before relation, FastTrack style, over dense thread slots. A
 * thread's own entry is the event index of its last release, so an access at event {@code e} by
 * thread {@code t} happens before thread {@code u}'s present iff {@code e < clock(u)[t]}: the
 * epoch of an access is its event index and needs no separate counter.
 *
 * <p>Synchronization objects (a lock, an atomic word, a cpu's IPI mailbox, a cpu's hand-off at a
 * task switch) each hold a clock, joined into by releases and joined from by acquires. All clocks
 * have the same capacity, grown (for every clock at once) only when a new thread appears: no
 * allocation per event, O(threads) per synchronization.
 */
final class VectorClocks
{
    static final int MAX_SLOTS = 1 << 16;

    private final LongLongMap slotOfThread = new LongLongMap(256, -1);
    private final List<long[]> threads = new ArrayList<>();
    private final LongLongMap syncIndex = new LongLongMap(1024, -1);
    private final List<long[]> syncs = new ArrayList<>();
    private int capacity = 64;

    /** Slot of a thread key (created on first sight). */
    int slot(final long thread)
    {
        final long s = slotOfThread.get(thread);
        if (s >= 0)
        {
            return (int)s;
        }
        final int n = threads.size();
        if (n >= MAX_SLOTS)
        {
            return MAX_SLOTS - 1; // beyond 65535 threads the last slot is shared: fewer races seen, none invented
        }
        if (n == capacity)
        {
            capacity *= 2;
            for (int i = 0; i < threads.size(); i++)
            {
                threads.set(i, Arrays.copyOf(threads.get(i), capacity));
            }
            for (int i = 0; i < syncs.size(); i++)
            {
                syncs.set(i, Arrays.copyOf(syncs.get(i), capacity));
            }
        }
        threads.add(new long[capacity]);
        slotOfThread.put(thread, n);
        return n;
    }

    /** Whether an access at event {@code event} by slot {@code by} happens before slot {@code now}'s present. */
    boolean happensBefore(final int by, final long event, final int now)
    {
        return by == now || event < threads.get(now)[by];
    }

    /** Slot releases into the sync object at event: its accesses so far become visible to later acquirers. */
    void release(final int slot, final long sync, final long event)
    {
        final long[] c = threads.get(slot);
        if (c[slot] < event)
        {
            c[slot] = event;
        }
        join(syncClock(sync), c);
    }

    void acquire(final int slot, final long sync)
    {
        final long i = syncIndex.get(sync);
        if (i >= 0)
        {
            join(threads.get(slot), syncs.get((int)i));
        }
    }

    /** A full barrier on one object (a LOCK-prefixed read-modify-write): acquire, then release. */
    void acquireRelease(final int slot, final long sync, final long event)
    {
        acquire(slot, sync);
        release(slot, sync, event);
    }

    boolean isSync(final long sync)
    {
        return syncIndex.containsKey(sync);
    }

    private long[] syncClock(final long sync)
    {
        final long i = syncIndex.get(sync);
        if (i >= 0)
        {
            return syncs.get((int)i);
        }
        final long[] c = new long[capacity];
        syncIndex.put(sync, syncs.size());
        syncs.add(c);
        return c;
    }

    private static void join(final long[] into, final long[] from)
    {
        for (int i = 0; i < into.length; i++)
        {
            if (from[i] > into[i])
            {
                into[i] = from[i];
            }
        }
    }

    int threadCount()
    {
        return threads.size();
    }
}
