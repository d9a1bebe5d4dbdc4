package palimpsest.analyzers.owner;

/** What memory belonged to at one moment: what {@link OwnerText} needs to describe an address. */
public interface OwnerView
{
    /** The slab object (live or freed) whose bytes hold this physical key, or null. */
    SlabObject objectAt(long key);

    /** The nearest object starting at or before key (even if key is past its end), or null. */
    SlabObject objectBefore(long key);

    /** The page-allocator block (allocated or last freed) covering the key, or null. */
    PageBlock blockAt(long key);

    /** Name of a slab cache. */
    String cacheName(int id);

    /** The user virtual page last seen mapping this physical page (node << 36 | pfn), or -1. */
    long userVpage(long ppage);

    /** The task of that sighting. */
    long userTask(long ppage);
}
