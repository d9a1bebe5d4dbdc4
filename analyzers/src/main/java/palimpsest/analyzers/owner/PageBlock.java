package palimpsest.analyzers.owner;

/** A block of 2^order pages from the page allocator (PAGE_ALLOC/PAGE_FREE marks). */
public final class PageBlock
{
    public final long physKey;
    public final int order;
    public final Origin allocated;
    public Origin freed;

    public PageBlock(final long physKey, final int order, final Origin allocated)
    {
        this.physKey = physKey;
        this.order = order;
        this.allocated = allocated;
    }

    public boolean contains(final long key)
    {
        return key >= physKey && key < physKey + (4096L << order);
    }
}
