package palimpsest.kernel;

import palimpsest.emulator.Cpu;

/**
 * Doubly linked circular lists ({@code struct list_head { next; prev; }}) and hash lists
 * ({@code hlist_head { first; }}, {@code hlist_node { next; pprev; }}) in emulated memory.
 * A corrupted link is dereferenced like any pointer: it faults where Linux would.
 */
public final class Lists
{
    public static final int NEXT = 0;
    public static final int PREV = 8;

    private Lists()
    {
    }

    public static void init(final Cpu cpu, final long head)
    {
        cpu.store64(head + NEXT, head);
        cpu.store64(head + PREV, head);
    }

    public static boolean empty(final Cpu cpu, final long head)
    {
        return cpu.load64(head + NEXT) == head;
    }

    private static void insert(final Cpu cpu, final long node, final long prev, final long next)
    {
        cpu.store64(next + PREV, node);
        cpu.store64(node + NEXT, next);
        cpu.store64(node + PREV, prev);
        cpu.store64(prev + NEXT, node);
    }

    /** list_add: after head (stack order). */
    public static void add(final Cpu cpu, final long node, final long head)
    {
        insert(cpu, node, head, cpu.load64(head + NEXT));
    }

    /** list_add_tail: before head (queue order). */
    public static void addTail(final Cpu cpu, final long node, final long head)
    {
        insert(cpu, node, cpu.load64(head + PREV), head);
    }

    /** list_del: unlinks and poisons the links (LIST_POISON1/2, as Linux). */
    public static void del(final Cpu cpu, final long node)
    {
        final long next = cpu.load64(node + NEXT);
        final long prev = cpu.load64(node + PREV);
        cpu.store64(next + PREV, prev);
        cpu.store64(prev + NEXT, next);
        cpu.store64(node + NEXT, 0x00100100L);
        cpu.store64(node + PREV, 0x00200200L);
    }

    public static long first(final Cpu cpu, final long head)
    {
        final long n = cpu.load64(head + NEXT);
        return n == head ? 0 : n;
    }

    /** hlist_add_head(n, h). */
    public static void hlistAddHead(final Cpu cpu, final long node, final long head)
    {
        final long first = cpu.load64(head);
        cpu.store64(node + NEXT, first);
        if (first != 0)
        {
            cpu.store64(first + PREV, node + NEXT);
        }
        cpu.store64(head, node);
        cpu.store64(node + PREV, head);
    }

    /** hlist_del(n). */
    public static void hlistDel(final Cpu cpu, final long node)
    {
        final long next = cpu.load64(node + NEXT);
        final long pprev = cpu.load64(node + PREV);
        cpu.store64(pprev, next);
        if (next != 0)
        {
            cpu.store64(next + PREV, pprev);
        }
        cpu.store64(node + NEXT, 0x00100100L);
        cpu.store64(node + PREV, 0x00200200L);
    }
}
