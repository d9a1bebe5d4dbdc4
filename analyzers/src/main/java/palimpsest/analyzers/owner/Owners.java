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
public final class Owners
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
        final StringBuilder sb = new StringBuilder();
        final long pa = MachineShadow.paddrOf(key);
        final SlabObject o = objectAt(key);
        if (o != null)
        {
            sb.append("The buggy address belongs to the object at ").append(Long.toHexString(o.vaddr))
                .append(" which belongs to the cache ").append(cacheName(o.cacheId)).append(" of size ").append(o.size)
                .append("\nThe buggy address is located ").append(key - o.physKey).append(" bytes inside of\n ")
                .append(o.size).append("-byte region [").append(Long.toHexString(o.vaddr)).append(", ")
                .append(Long.toHexString(o.vaddr + o.size)).append(")\n")
                .append(o.live() ? "The object is live (allocated, not freed)\n" : "The object is FREED\n");
            sb.append("Allocated by");
            o.allocated.describe(sb, symbols);
            if (!o.live())
            {
                sb.append("Freed by");
                o.freed.describe(sb, symbols);
            }
            return sb.toString();
        }
        final long textPhys = Layout.KERNEL_TEXT - Layout.START_KERNEL_MAP;
        if (pa >= textPhys && pa < textPhys + Layout.TEXT_MAX)
        {
            final long va = pa + Layout.START_KERNEL_MAP;
            return "The address is kernel text: " + symbols.sym(va) + " (" + Long.toHexString(va) + ")\n";
        }
        final long dataPhys = Layout.KERNEL_DATA - Layout.START_KERNEL_MAP;
        if (pa >= dataPhys && pa < dataPhys + Layout.DATA_MAX)
        {
            return "The address is kernel data at " + Long.toHexString(pa + Layout.START_KERNEL_MAP) + "\n";
        }
        final long up = userVpage.get(key >>> 12);
        if (up >= 0)
        {
            sb.append("The address is in a user page of task ").append(userTask.get(key >>> 12)).append(", mapped at ")
                .append(Long.toHexString(up << 12 | (key & 0xfff))).append('\n');
        }
        final PageBlock b = blockAt(key);
        if (b != null)
        {
            sb.append("The address is in an order-").append(b.order).append(" page block at phys ")
                .append(Long.toHexString(MachineShadow.paddrOf(b.physKey)));
            if (b.freed != null)
            {
                sb.append(", FREE (back in the page allocator) since event ").append(b.freed.event).append('\n');
                sb.append("Allocated by");
                b.allocated.describe(sb, symbols);
                sb.append("Freed by");
                b.freed.describe(sb, symbols);
            }
            else
            {
                sb.append(", allocated\nAllocated by");
                b.allocated.describe(sb, symbols);
            }
            final SlabObject near = objectBefore(key);
            if (near != null && b.freed == null && near.physKey >= b.physKey)
            {
                sb.append("(a slab page of cache ").append(cacheName(near.cacheId)).append(", between objects)\n");
            }
            return sb.toString();
        }
        if (sb.length() == 0)
        {
            sb.append("The trace says nothing of who owned phys ").append(Long.toHexString(pa))
                .append(" (never allocated by a marked allocator during the trace)\n");
        }
        return sb.toString();
    }
}
