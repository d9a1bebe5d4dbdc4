package palimpsest.analyzers.owner;

/** One slab object's life as the SLAB_ALLOC/SLAB_FREE marks tell it: where, which cache, who allocated and freed it. */
public final class SlabObject
{
    public final long vaddr;
    public final long physKey;
    public final int size;
    public final int cacheId;
    public final Origin allocated;
    public Origin freed;
    /** A use-after-free or corruption of this object was reported already. */
    public boolean reported;

    public SlabObject(final long vaddr, final long physKey, final int size, final int cacheId, final Origin allocated)
    {
        this.vaddr = vaddr;
        this.physKey = physKey;
        this.size = size;
        this.cacheId = cacheId;
        this.allocated = allocated;
    }

    public boolean live()
    {
        return freed == null;
    }
}
