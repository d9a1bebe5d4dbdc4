package palimpsest.analyzers.owner;

import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.kernel.Layout;

/**
 * The KASAN-shaped paragraph on what a physical address belonged to, from any {@link OwnerView}:
 * the live one a pass keeps ({@link Owners}) or one answered from the who-wrote index's tables.
 */
public final class OwnerText
{
    private OwnerText()
    {
    }

    /** A paragraph saying what memory this physical address was then, as the view knows it. */
    public static String describe(final OwnerView v, final Symbols symbols, final long key)
    {
        final StringBuilder sb = new StringBuilder();
        final long pa = MachineShadow.paddrOf(key);
        final SlabObject o = v.objectAt(key);
        if (o != null)
        {
            sb.append("The buggy address belongs to the object at ").append(Long.toHexString(o.vaddr))
                .append(" which belongs to the cache ").append(v.cacheName(o.cacheId)).append(" of size ").append(o.size)
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
        final long up = v.userVpage(key >>> 12);
        if (up >= 0)
        {
            sb.append("The address is in a user page of task ").append(v.userTask(key >>> 12)).append(", mapped at ")
                .append(Long.toHexString(up << 12 | (key & 0xfff))).append('\n');
        }
        final PageBlock b = v.blockAt(key);
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
            final SlabObject near = v.objectBefore(key);
            if (near != null && b.freed == null && near.physKey >= b.physKey)
            {
                sb.append("(a slab page of cache ").append(v.cacheName(near.cacheId)).append(", between objects)\n");
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
