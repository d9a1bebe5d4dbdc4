package palimpsest.analyzers.owner;

import java.util.HashMap;
import java.util.Map;

import palimpsest.analyzers.core.LongLongMap;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.kernel.mm.Slab;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * Who owned each piece of physical memory at the current event: slab objects (live or freed, from
 * SLAB_ALLOC/SLAB_FREE), page-allocator blocks (PAGE_ALLOC/PAGE_FREE), user pages (the last user
 * mapping an access showed, with the task), and the kernel image. Fed in event order by a pass;
 * {@link #describe} answers "what was this address then" for reports.
 *
 * <p>Slab objects are keyed by the physical address of their first byte, blocks by that of their
 * first page; a lookup walks back at most one object size or 2^10 pages, which is fine at report
 * time only.
 */
public final class Owners implements OwnerView
{
    private static final int MAX_ORDER = 10;

    private final MachineShadow shadow;
    private final Symbols symbols;
    private final Map<Long, SlabObject> objects = new HashMap<>();
    private final Map<Long, PageBlock> blocks = new HashMap<>();
    private final LongLongMap userVpage = new LongLongMap(1024, -1);
    private final LongLongMap userTask = new LongLongMap(1024, -1);
    private final long[] lastUserPage;
    private int maxObjectSize = 8;

    public Owners(final MachineShadow shadow, final Symbols symbols)
    {
        this.shadow = shadow;
        this.symbols = symbols;
        this.lastUserPage = new long[shadow.cpus()];
        java.util.Arrays.fill(lastUserPage, -1);
    }

    /** Looks at one event (before the shadow applies it). */
    public void onEvent(final Event e)
    {
        final int kind = e.kind();
        if (kind == EventKind.MARK)
        {
            onMark(e);
        }
        else if (kind < EventKind.FETCH && e.vaddr() >= 0 && e.vaddr() < Layout.USER_TOP && e.cpu() < lastUserPage.length)
        {
            final long ppage = shadow.physKey(e.cpu(), e.paddr()) >>> 12;
            if (ppage != lastUserPage[e.cpu()])
            {
                lastUserPage[e.cpu()] = ppage;
                userVpage.put(ppage, e.vaddr() >>> 12);
                userTask.put(ppage, shadow.task(e.cpu()));
            }
        }
    }

    private Origin origin(final Event e)
    {
        return new Origin(e.index(), e.cpu(), shadow.task(e.cpu()), e.pc(), shadow.backtrace(e.cpu()));
    }

    private void onMark(final Event e)
    {
        final int type = (int)e.a();
        switch (type)
        {
            case Mark.SLAB_ALLOC:
            {
                final long key = shadow.translate(e.cpu(), e.b());
                final int size = (int)e.c();
                final SlabObject o = new SlabObject(e.b(), key, size, (int)(e.c() >>> 32), origin(e));
                objects.put(key, o);
                maxObjectSize = Math.max(maxObjectSize, size);
                break;
            }
            case Mark.SLAB_FREE:
            {
                final SlabObject o = objects.get(shadow.translate(e.cpu(), e.b()));
                if (o != null && o.live())
                {
                    o.freed = origin(e);
                }
                break;
            }
            case Mark.PAGE_ALLOC:
            {
                final long key = shadow.physKey(e.cpu(), e.b());
                blocks.put(key, new PageBlock(key, (int)e.c(), origin(e)));
                for (long p = key; p < key + (4096L << (int)e.c()); p += 4096)
                {
                    userVpage.remove(p >>> 12);
                    userTask.remove(p >>> 12);
                }
                break;
            }
            case Mark.PAGE_FREE:
            {
                final long key = shadow.physKey(e.cpu(), e.b());
                final PageBlock b = blocks.get(key);
                if (b != null && b.freed == null)
                {
                    b.freed = origin(e);
                }
                // Objects of a slab returned to the buddy allocator are gone.
                objects.values().removeIf(o -> o.physKey >= key && o.physKey < key + (4096L << (int)e.c()));
                break;
            }
            default:
                break;
        }
    }

    /** The slab object (live or freed) whose bytes [start, start + size) hold this address, or null. */
    @Override
    public SlabObject objectAt(final long key)
    {
        for (long k = key; k > key - maxObjectSize - 8 && k >= 0; k--)
        {
            final SlabObject o = objects.get(k);
            if (o != null)
            {
                return key < o.physKey + o.size ? o : null;
            }
        }
        return null;
    }

    /** The nearest object starting at or before key (even if key is past its end), or null. */
    @Override
    public SlabObject objectBefore(final long key)
    {
        for (long k = key; k > key - 2 * maxObjectSize - 16 && k >= 0; k--)
        {
            final SlabObject o = objects.get(k);
            if (o != null)
            {
                return o;
            }
        }
        return null;
    }

    public SlabObject objectStartingAt(final long key)
    {
        return objects.get(key);
    }

    /** The page-allocator block (allocated or last freed) covering the address, or null. */
    @Override
    public PageBlock blockAt(final long key)
    {
        final long page = key & ~0xfffL;
        for (int i = 0; i < (1 << MAX_ORDER); i++)
        {
            final PageBlock b = blocks.get(page - 4096L * i);
            if (b != null && b.contains(key))
            {
                return b;
            }
        }
        return null;
    }

    /** Name of a slab cache, read from its struct kmem_cache as the trace wrote it at boot. */
    @Override
    public String cacheName(final int id)
    {
        final long key = shadow.translate(0, Slab.cacheAddr(id));
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; key >= 0 && i < 23; i++)
        {
            final int c = shadow.memory().read8(key + i);
            if (c == 0 || !shadow.memory().known(key + i))
            {
                break;
            }
            sb.append((char)c);
        }
        return sb.length() > 0 ? sb.toString() : "cache#" + id;
    }

    /** A paragraph saying what memory this physical address was at the current event. */
    public String describe(final long key)
    {
        return OwnerText.describe(this, symbols, key);
    }

    @Override
    public long userVpage(final long ppage)
    {
        return userVpage.get(ppage);
    }

    @Override
    public long userTask(final long ppage)
    {
        return userTask.get(ppage);
    }
}
