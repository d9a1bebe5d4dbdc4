package palimpsest.analyzers.invariants;

import palimpsest.kernel.Globals;
import palimpsest.kernel.Layout;
import palimpsest.kernel.fs.Vfs;

/**
 * dcache-hash: every link of every dentry hash chain is null or points at the d_hash node of a live
 * dentry: an allocated (not free) object of the "dentry" slab cache. Writes that can break it land
 * in the hash table or in dentry slab pages; after those the chains are walked again.
 */
public final class DcacheHash implements Invariant
{
    private static final int MAX_CHAIN = 10_000;

    @Override
    public String name()
    {
        return "dcache-hash";
    }

    @Override
    public String description()
    {
        return "dentry hash chains are well formed: every link is null or a live dentry";
    }

    @Override
    public boolean applies(final KernelState s)
    {
        return true;
    }

    @Override
    public boolean touches(final KernelState s, final long pa, final int size)
    {
        final long table = s.memory.read64(Globals.phys(Globals.DENTRY_HASHTABLE));
        if (table == 0)
        {
            return false;
        }
        final long mask = s.memory.read64(Globals.phys(Globals.D_HASH_MASK));
        final long tablePhys = s.inspector.phys(table);
        if (pa + size > tablePhys && pa < tablePhys + (mask + 1) * 8)
        {
            return true;
        }
        final long page = s.inspector.slabPageOf(pa);
        return page != 0 && "dentry".equals(s.inspector.cacheName(s.inspector.slabCache(page)));
    }

    @Override
    public String check(final KernelState s)
    {
        final long table = s.memory.read64(Globals.phys(Globals.DENTRY_HASHTABLE));
        if (table == 0)
        {
            return null; // before vfs_caches_init
        }
        final long mask = s.memory.read64(Globals.phys(Globals.D_HASH_MASK));
        for (long b = 0; b <= mask; b++)
        {
            long link = table + b * 8;
            long node = s.inspector.read64(link);
            for (int n = 0; node != 0; n++)
            {
                final String bad = n > MAX_CHAIN ? "is a cycle" : live(s, node - Vfs.D_HASH_NEXT);
                if (bad != null)
                {
                    return String.format("dcache hash chain %d: link at %x points to %x, which %s", b, link, node, bad);
                }
                link = node + Vfs.D_HASH_NEXT;
                node = s.inspector.read64(link);
            }
        }
        return null;
    }

    /** Null if d is a live dentry, else what is wrong with it. */
    private static String live(final KernelState s, final long d)
    {
        if (!Layout.isDirectMap(d) || Layout.pa(d) >= s.memory.size())
        {
            return "is not a kernel direct-map address";
        }
        final long pa = Layout.pa(d);
        final long page = s.inspector.slabPageOf(pa);
        if (page == 0)
        {
            return "is not in a slab page";
        }
        final long cache = s.inspector.slabCache(page);
        if (!"dentry".equals(s.inspector.cacheName(cache)))
        {
            return "is in a " + s.inspector.cacheName(cache) + " slab, not a dentry";
        }
        final long base = s.inspector.phys(palimpsest.kernel.mm.PageAlloc.pageAddress(page));
        final int stride = s.inspector.cacheStride(cache);
        if (stride <= 0 || (pa - base) % stride != 0)
        {
            return "is not at a dentry boundary";
        }
        if (s.inspector.onFreelist(page, d))
        {
            return "is a freed dentry";
        }
        return null;
    }
}
