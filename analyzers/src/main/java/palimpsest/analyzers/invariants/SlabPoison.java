package palimpsest.analyzers.invariants;

import palimpsest.kernel.Globals;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Lists;
import palimpsest.kernel.mm.Page;
import palimpsest.kernel.mm.Slab;

/**
 * slab-poison: every object on a slab's freelist keeps the poison {@code kmem_cache_free} wrote
 * (0x6b bytes, the last 0xa5) until it is allocated again. Holds only for kernels with the
 * slab-poison patch. A write lands in a slab page: only the object it hit is checked.
 */
public final class SlabPoison implements Invariant
{
    @Override
    public String name()
    {
        return "slab-poison";
    }

    @Override
    public String description()
    {
        return "freed slab objects keep their poison (0x6b..., last byte 0xa5) until reallocated";
    }

    @Override
    public boolean applies(final KernelState s)
    {
        return s.patches.enabled("slab-poison");
    }

    @Override
    public boolean touches(final KernelState s, final long pa, final int size)
    {
        return s.inspector.slabPageOf(pa) != 0;
    }

    @Override
    public String checkWrite(final KernelState s, final long pa, final int size)
    {
        final long page = s.inspector.slabPageOf(pa);
        if (page == 0)
        {
            return null;
        }
        final long cache = s.inspector.slabCache(page);
        final int stride = s.inspector.cacheStride(cache);
        final long base = s.inspector.phys(palimpsest.kernel.mm.PageAlloc.pageAddress(page));
        if (stride <= 0 || pa < base)
        {
            return null;
        }
        final long objPhys = base + (pa - base) / stride * stride;
        return checkObject(s, page, cache, Layout.va(objPhys));
    }

    @Override
    public String check(final KernelState s)
    {
        final long n = s.memory.read64(Globals.phys(Globals.NR_CACHES));
        for (int id = 0; id < n && id < Globals.MAX_CACHES; id++)
        {
            final long cache = Slab.cacheAddr(id);
            final long head = cache + 48;
            long link = s.memory.read64(Globals.phys(head));
            for (int guard = 0; link != head && link != 0 && guard < 100_000; guard++)
            {
                final long page = link - Page.LRU;
                final int size = s.inspector.cacheObjectSize(cache);
                long obj = s.inspector.read64(page + Page.FREELIST);
                for (int i = 0; obj != 0 && i <= s.inspector.cacheObjects(cache); i++)
                {
                    final String v = poison(s, cache, obj, size);
                    if (v != null)
                    {
                        return v;
                    }
                    obj = s.inspector.read64(obj + size);
                }
                link = s.inspector.read64(link + Lists.NEXT);
            }
        }
        return null;
    }

    private static String checkObject(final KernelState s, final long page, final long cache, final long obj)
    {
        if (!s.inspector.onFreelist(page, obj))
        {
            return null;
        }
        return poison(s, cache, obj, s.inspector.cacheObjectSize(cache));
    }

    private static String poison(final KernelState s, final long cache, final long obj, final int size)
    {
        final long p = Layout.pa(obj);
        for (int i = 0; i < size; i++)
        {
            final int want = i == size - 1 ? Slab.POISON_END : Slab.POISON_FREE;
            final int have = s.memory.read8(p + i);
            if (have != want)
            {
                return String.format("freed %s object %x (size %d) has byte +%d = %02x where the poison is %02x",
                    s.inspector.cacheName(cache), obj, size, i, have, want);
            }
        }
        return null;
    }
}
