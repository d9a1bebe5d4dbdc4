package palimpsest.kernel.mm;

/**
 * struct page: one per physical page frame, in the mem_map array (64 bytes each).
 *
 * <pre>
 *   +0   flags        PG_reserved | PG_buddy | PG_slab | PG_head | PG_slob_free
 *   +8   _count       reference count
 *   +12  _mapcount    (LegoOS's SLOB configuration: PAGE_BUDDY_MAPCOUNT_VALUE on a free block's head)
 *   +16  private      buddy: order of a free block (and of a compound allocation)
 *   +24  lru          list_head { next, prev }: buddy free list or slab partial list
 *   +40  slab_cache   kmem_cache * (slab pages)
 *   +48  freelist     first free object (slab pages)
 *   +56  inuse        objects in use (slab pages); free units (SLOB pages: sp->units)
 * </pre>
 */
public final class Page
{
    public static final int FLAGS = 0;
    public static final int COUNT = 8;
    public static final int MAPCOUNT = 12;
    public static final int PRIVATE = 16;
    public static final int LRU = 24;
    public static final int SLAB_CACHE = 40;
    public static final int FREELIST = 48;
    public static final int INUSE = 56;
    public static final int SIZE = 64;

    public static final long PG_RESERVED = 1;
    public static final long PG_BUDDY = 2;
    public static final long PG_SLAB = 4;
    public static final long PG_HEAD = 8;
    /** A SLOB page with free units, on one of SLOB's free lists (LegoOS, {@link Slob}). */
    public static final long PG_SLOB_FREE = 16;
    /** Linux 4's (and LegoOS's) PageBuddy: the _mapcount of a free block's head page. */
    public static final int PAGE_BUDDY_MAPCOUNT_VALUE = -128;

    private Page()
    {
    }

    /**
     * PageBuddy(): the head of a free block. The main line marks it with PG_buddy; LegoOS's SLOB
     * configuration as Linux 4 does, with _mapcount (the word at +8 holds _count, then _mapcount).
     */
    public static boolean isBuddy(final long flags, final long countWord)
    {
        return (flags & PG_BUDDY) != 0 || (int)(countWord >>> 32) == PAGE_BUDDY_MAPCOUNT_VALUE;
    }
}
