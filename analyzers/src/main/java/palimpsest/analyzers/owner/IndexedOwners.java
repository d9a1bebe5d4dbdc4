package palimpsest.analyzers.owner;

import java.util.function.IntFunction;
import java.util.function.LongFunction;

import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.kernel.Mark;

/**
 * {@link Owners} as it stood just before one event, answered from the who-wrote index's mark tables
 * (allocator marks by address, user page sightings) instead of a pass: the same rules (an
 * allocation at an address replaces the one before it, a freed block takes its slab objects with
 * it, an allocated page is no longer a user page), applied to the few rows near the address.
 * Origins (who allocated or freed, with the backtrace then) come from a resolver, which rebuilds
 * the state at that event from keyframes.
 */
public final class IndexedOwners implements OwnerView
{
    private static final int MAX_ORDER = 10;
    private final WhoWroteIndex idx;
    private final long before;
    private final LongFunction<Origin> origins;
    private final IntFunction<String> cacheNames;

    public IndexedOwners(final WhoWroteIndex idx, final long before, final LongFunction<Origin> origins,
        final IntFunction<String> cacheNames)
    {
        this.idx = idx;
        this.before = before;
        this.origins = origins;
        this.cacheNames = cacheNames;
    }

    /** Rows of the slab table with key in [from, to], newest key first: index of the last one, or -1. */
    private long lastSlabRow(final long to)
    {
        return WhoWroteIndex.lowerBound(idx.slabs(), idx::slabKey, idx::slabEvent, to + 1, Long.MIN_VALUE) - 1;
    }

    /**
     * The object at start k just before the event, given the rows of k end at row last: the newest
     * allocation there, unless a page free took it since. Returns null if none.
     */
    private SlabObject objectStarting(final long k, final long last)
    {
        long alloc = -1;
        for (long i = last; i >= 0 && idx.slabKey(i) == k; i--)
        {
            if (idx.slabEvent(i) < before && idx.slabKind(i) == Mark.SLAB_ALLOC)
            {
                alloc = i;
                break;
            }
        }
        if (alloc < 0 || removedByPageFree(k, idx.slabEvent(alloc)))
        {
            return null;
        }
        final long at = idx.slabEvent(alloc);
        final SlabObject o = new SlabObject(idx.slabVaddr(alloc), k, idx.slabSize(alloc), idx.slabCache(alloc), origins.apply(at));
        for (long i = alloc + 1; i <= last && idx.slabKey(i) == k; i++)
        {
            if (idx.slabKind(i) == Mark.SLAB_FREE && idx.slabEvent(i) < before)
            {
                o.freed = origins.apply(idx.slabEvent(i));
                break;
            }
        }
        return o;
    }

    /** Whether a PAGE_FREE (or, for pages, PAGE_ALLOC) covering key happened in (after, before). */
    private boolean blockMark(final long key, final long after, final int kind)
    {
        final long page = key & ~0xfffL;
        final long lowest = Math.max(0, page - (4096L << MAX_ORDER));
        final long first = WhoWroteIndex.lowerBound(idx.blocks(), idx::blockKey, idx::blockEvent, lowest, Long.MIN_VALUE);
        for (long i = first; i < idx.blocks() && idx.blockKey(i) <= page; i++)
        {
            final long ev = idx.blockEvent(i);
            final long s = idx.blockKey(i);
            if (idx.blockKind(i) == kind && ev > after && ev < before && key >= s && key < s + (4096L << idx.blockOrder(i)))
            {
                return true;
            }
        }
        return false;
    }

    private boolean removedByPageFree(final long k, final long allocated)
    {
        return blockMark(k, allocated, Mark.PAGE_FREE);
    }

    private SlabObject scanBack(final long key, final long window, final boolean mustHold)
    {
        long i = lastSlabRow(key);
        while (i >= 0)
        {
            final long k = idx.slabKey(i);
            if (k <= key - window || k < 0)
            {
                return null;
            }
            final SlabObject o = objectStarting(k, i);
            if (o != null)
            {
                return !mustHold || key < o.physKey + o.size ? o : null;
            }
            while (i >= 0 && idx.slabKey(i) == k)
            {
                i--;
            }
        }
        return null;
    }

    @Override
    public SlabObject objectAt(final long key)
    {
        return scanBack(key, idx.largestObject() + 8, true);
    }

    @Override
    public SlabObject objectBefore(final long key)
    {
        return scanBack(key, 2L * idx.largestObject() + 16, false);
    }

    @Override
    public PageBlock blockAt(final long key)
    {
        final long page = key & ~0xfffL;
        long i = WhoWroteIndex.lowerBound(idx.blocks(), idx::blockKey, idx::blockEvent, page + 1, Long.MIN_VALUE) - 1;
        while (i >= 0)
        {
            final long s = idx.blockKey(i);
            if (s <= page - (4096L << MAX_ORDER))
            {
                return null;
            }
            long alloc = -1;
            long j = i;
            for (; j >= 0 && idx.blockKey(j) == s; j--)
            {
                if (alloc < 0 && idx.blockEvent(j) < before && idx.blockKind(j) == Mark.PAGE_ALLOC)
                {
                    alloc = j;
                }
            }
            if (alloc >= 0 && key < s + (4096L << idx.blockOrder(alloc)))
            {
                final PageBlock b = new PageBlock(s, idx.blockOrder(alloc), origins.apply(idx.blockEvent(alloc)));
                for (long f = alloc + 1; f <= i; f++)
                {
                    if (idx.blockKind(f) == Mark.PAGE_FREE && idx.blockEvent(f) < before)
                    {
                        b.freed = origins.apply(idx.blockEvent(f));
                        break;
                    }
                }
                return b;
            }
            i = j;
        }
        return null;
    }

    @Override
    public String cacheName(final int id)
    {
        return cacheNames.apply(id);
    }

    private long userRow(final long ppage)
    {
        final long i = WhoWroteIndex.lowerBound(idx.users(), idx::userPage, idx::userEvent, ppage, before) - 1;
        if (i < 0 || idx.userPage(i) != ppage)
        {
            return -1;
        }
        // An allocation of the page since makes it the allocator's again (Owners forgets the mapping).
        final long key = (ppage >>> 36) << 48 | (ppage & ((1L << 36) - 1)) << 12;
        return blockMark(key, idx.userEvent(i), Mark.PAGE_ALLOC) ? -1 : i;
    }

    @Override
    public long userVpage(final long ppage)
    {
        final long i = userRow(ppage);
        return i < 0 ? -1 : idx.userVpage(i);
    }

    @Override
    public long userTask(final long ppage)
    {
        final long i = userRow(ppage);
        return i < 0 ? -1 : idx.userTask(i);
    }
}
