package palimpsest.analyzers;

import java.nio.file.Path;

import palimpsest.analyzers.core.Symbols;
import palimpsest.emulator.CodeMap;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.kernel.mm.Slab;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceWriter;

/**
 * Builds small traces by hand, event by event, with a tiny System.map: the kernel functions the
 * analyzers care about, at kernel text addresses. Direct-map virtual addresses translate as the
 * kernel's (pa = va - PAGE_OFFSET), image addresses as __START_KERNEL_map.
 */
final class HandMade implements AutoCloseable
{
    static final CodeMap CODE = new CodeMap();
    static final String[] FUNCTIONS = {"kmem_cache_alloc", "kmem_cache_free", "cache_grow", "text_poke", "alternatives_smp_lock",
        "alternatives_smp_switch", "cpu_up", "__d_lookup", "d_alloc", "victim_user", "page_fault", "__x86_indirect_thunk", "oops_begin"};

    static
    {
        for (int i = 0; i < FUNCTIONS.length; i++)
        {
            CODE.define(FUNCTIONS[i], fn(FUNCTIONS[i]), 0x100, null);
        }
    }

    static final Symbols SYMBOLS = new Symbols(CODE);

    static long fn(final String name)
    {
        for (int i = 0; i < FUNCTIONS.length; i++)
        {
            if (FUNCTIONS[i].equals(name))
            {
                return Layout.KERNEL_TEXT + 0x100L * i;
            }
        }
        throw new IllegalArgumentException(name);
    }

    static long pc(final String name, final int off)
    {
        return fn(name) + off;
    }

    final TraceWriter w;
    long icount;

    HandMade(final Path dir)
    {
        w = TraceWriter.create(dir, TraceHeader.builder().machine(1, 2, 128).scenario("hand-made").schedule("seeded", 0).kernel("head", java.util.List.of()).build());
    }

    static long pa(final long va)
    {
        if (Layout.isDirectMap(va))
        {
            return Layout.pa(va);
        }
        return va - Layout.START_KERNEL_MAP;
    }

    HandMade mark(final int cpu, final long pc, final int type, final long a, final long b)
    {
        w.event(EventKind.MARK, cpu, icount, pc, type, a, b);
        return this;
    }

    HandMade store(final int cpu, final long pc, final long va, final long pa, final int size, final long value, final long old)
    {
        w.access(EventKind.STORE, cpu, ++icount, pc, va, pa, size, value, old);
        return this;
    }

    HandMade store(final int cpu, final long pc, final long va, final int size, final long value)
    {
        return store(cpu, pc, va, pa(va), size, value, 0);
    }

    HandMade load(final int cpu, final long pc, final long va, final int size, final long value)
    {
        w.access(EventKind.LOAD, cpu, ++icount, pc, va, pa(va), size, value, 0);
        return this;
    }

    HandMade fetch(final int cpu, final long pc, final long va, final long pa)
    {
        w.access(EventKind.FETCH, cpu, ++icount, pc, va, pa, 1, 0xf0, 0);
        return this;
    }

    HandMade reg(final int cpu, final int reg, final long value)
    {
        w.event(EventKind.REG, cpu, ++icount, 0, reg, value, 0);
        return this;
    }

    HandMade event(final int kind, final int cpu, final long pc, final long a, final long b, final long c)
    {
        w.event(kind, cpu, ++icount, pc, a, b, c);
        return this;
    }

    /** The cache's struct kmem_cache name, written as kmem_cache_create does at boot. */
    HandMade cacheName(final int id, final String name)
    {
        for (int i = 0; i <= name.length(); i++)
        {
            store(0, pc("kmem_cache_alloc", 0), Slab.cacheAddr(id) + i, 1, i < name.length() ? name.charAt(i) : 0);
        }
        return this;
    }

    /** A frame chain on cpu's stack at direct-map address sp: fp -> callers, innermost first. */
    HandMade frames(final int cpu, final long sp, final long... returnAddresses)
    {
        long f = sp;
        for (int i = 0; i < returnAddresses.length; i++)
        {
            final long next = i + 1 < returnAddresses.length ? f + 0x40 : 0;
            store(cpu, pc("cpu_up", 0), f, 8, next);
            store(cpu, pc("cpu_up", 0), f + 8, 8, returnAddresses[i]);
            f = next;
        }
        return reg(cpu, Reg.FP, sp);
    }

    HandMade alloc(final int cpu, final long obj, final int cacheId, final int size)
    {
        return mark(cpu, pc("kmem_cache_alloc", 0x65), Mark.SLAB_ALLOC, obj, (long)cacheId << 32 | size);
    }

    /** kmem_cache_free: the mark, the poison over the object and the free pointer past it, all by the allocator. */
    HandMade free(final int cpu, final long obj, final int cacheId, final int size)
    {
        mark(cpu, pc("kmem_cache_free", 0x20), Mark.SLAB_FREE, obj, (long)cacheId << 32 | size);
        for (int i = 0; i < size; i += 8)
        {
            store(cpu, pc("kmem_cache_free", 0x30), obj + i, 8, i + 8 == size ? 0xa56b6b6b6b6b6b6bL : Slab.POISON_WORD);
        }
        return store(cpu, pc("kmem_cache_free", 0x60), obj + size, 8, 0);
    }

    @Override
    public void close()
    {
        w.close();
    }
}
