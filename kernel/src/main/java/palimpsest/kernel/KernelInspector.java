package palimpsest.kernel;

import palimpsest.emulator.Paging;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.kernel.fs.Vfs;
import palimpsest.kernel.mm.Page;
import palimpsest.kernel.mm.PageAlloc;
import palimpsest.kernel.mm.Slab;

/**
 * Reads kernel state straight from a node's physical memory, without executing anything (for
 * tests, analyzers and post-mortems): page-table walks, the kernel globals, the dentry cache.
 * Every answer comes from the bytes in RAM, so it sees exactly what the kernel would.
 */
public final class KernelInspector
{
    /**
     * The bytes an inspector reads: a node's RAM, or any reconstruction of it (an analyzer's shadow
     * of the memory a trace wrote). Out-of-range reads behave as {@link PhysicalMemory#read}.
     */
    public interface Memory
    {
        long read(long paddr, int size);

        long size();

        default long read64(final long paddr)
        {
            return read(paddr, 8);
        }

        default int read8(final long paddr)
        {
            return (int)read(paddr, 1);
        }
    }

    private final Memory mem;

    public KernelInspector(final PhysicalMemory mem)
    {
        this(new Memory()
        {
            @Override
            public long read(final long paddr, final int size)
            {
                return mem.read(paddr, size);
            }

            @Override
            public long size()
            {
                return mem.size();
            }
        });
    }

    public KernelInspector(final Memory mem)
    {
        this.mem = mem;
    }

    /** Reads a kernel global (an address from {@link Globals}). */
    public long global(final long addr)
    {
        return mem.read64(Globals.phys(addr));
    }

    public long swapperPgd()
    {
        return global(Globals.SWAPPER_PGD);
    }

    /** Physical address of a direct-map, kernel-image or vmemmap/vmalloc address (via the page tables). */
    public long phys(final long va)
    {
        if (Layout.isDirectMap(va))
        {
            return va - Layout.PAGE_OFFSET;
        }
        if (Layout.isKernelImage(va))
        {
            return va - Layout.START_KERNEL_MAP;
        }
        final long pte = walk(swapperPgd(), va);
        return pte == -1 ? -1 : (pte & Paging.ADDR_MASK) | (va & Layout.PAGE_MASK());
    }

    public long read64(final long va)
    {
        return mem.read64(phys(va));
    }

    public int read8(final long va)
    {
        return mem.read8(phys(va));
    }

    /** The leaf PTE for va under the pgd at pgdPhys, walked in raw memory; -1 if not present. */
    public long walk(final long pgdPhys, final long va)
    {
        long table = pgdPhys & Paging.ADDR_MASK;
        for (int level = 4; level >= 1; level--)
        {
            final long e = mem.read64(table + Paging.index(va, level) * 8L);
            if ((e & Paging.P) == 0)
            {
                return -1;
            }
            if (level == 1)
            {
                return e;
            }
            table = e & Paging.ADDR_MASK;
        }
        return -1;
    }

    /** Translates va to physical (-1 if unmapped), as the MMU would. */
    public long translate(final long pgdPhys, final long va)
    {
        final long pte = walk(pgdPhys, va);
        return pte == -1 ? -1 : (pte & Paging.ADDR_MASK) | (va & Layout.PAGE_MASK());
    }

    /**
     * Finds a dentry by its name by walking every hash chain of the dcache in raw memory.
     * Returns the address of the pointer that links to it (bucket head or predecessor's next),
     * or -1; {@link #lastDentry} then holds the dentry.
     */
    public long findDentryLink(final String name)
    {
        final long table = global(Globals.DENTRY_HASHTABLE);
        final long mask = global(Globals.D_HASH_MASK);
        for (long b = 0; b <= mask; b++)
        {
            long link = table + b * 8;
            long node = read64(link);
            int guard = 0;
            while (node != 0 && guard++ < 1000)
            {
                if (nameOf(node - Vfs.D_HASH_NEXT).equals(name))
                {
                    lastDentry = node - Vfs.D_HASH_NEXT;
                    return link;
                }
                link = node + Vfs.D_HASH_NEXT;
                node = read64(link);
            }
        }
        return -1;
    }

    public long lastDentry;

    public String nameOf(final long dentry)
    {
        final long len = mem.read(phys(dentry + Vfs.D_LEN), 4);
        final long p = read64(dentry + Vfs.D_NAME);
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < len && i < 64; i++)
        {
            sb.append((char)read8(p + i));
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ pages and modules

    /** What a physical page is used for, from its struct page: "slab:dentry", "buddy", "reserved", "page". */
    public String pageOwner(final long phys)
    {
        final long page = palimpsest.kernel.mm.PageAlloc.pfnToPage(phys >>> Layout.PAGE_SHIFT);
        final long flags = read64(page + palimpsest.kernel.mm.Page.FLAGS);
        if ((flags & palimpsest.kernel.mm.Page.PG_SLAB) != 0 && read64(page + palimpsest.kernel.mm.Page.SLAB_CACHE) == 0)
        {
            return "slob";
        }
        if ((flags & palimpsest.kernel.mm.Page.PG_SLAB) != 0)
        {
            return "slab:" + cString(read64(page + palimpsest.kernel.mm.Page.SLAB_CACHE), 24);
        }
        if (palimpsest.kernel.mm.Page.isBuddy(flags, read64(page + palimpsest.kernel.mm.Page.COUNT)))
        {
            return "buddy";
        }
        if ((flags & palimpsest.kernel.mm.Page.PG_RESERVED) != 0)
        {
            return "reserved";
        }
        return "page";
    }

    private String cString(final long va, final int max)
    {
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < max; i++)
        {
            final int c = read8(va + i);
            if (c == 0)
            {
                break;
            }
            sb.append((char)c);
        }
        return sb.toString();
    }

    /** The loaded modules' struct module addresses, in load order (walks the list in RAM). */
    public java.util.List<Long> modules()
    {
        final java.util.List<Long> out = new java.util.ArrayList<>();
        long node = global(Globals.MODULES);
        int guard = 0;
        while (node != Globals.MODULES && node != 0 && guard++ < 256)
        {
            out.add(node);
            node = read64(node);
        }
        return out;
    }

    public String moduleName(final long mod)
    {
        return cString(mod + palimpsest.kernel.module.Modules.M_NAME, palimpsest.kernel.module.Modules.M_NAME_LEN);
    }

    /** One function of a module as its symtab/strtab say: start, size, name, module name. */
    public record ModuleSymbol(long start, long size, String name, String module)
    {
        /** {@code name+0xoff/0xsize [module]} if addr is inside, else null. */
        public String symbolize(final long addr)
        {
            return Long.compareUnsigned(addr - start, size) < 0 ?
                name + "+0x" + Long.toHexString(addr - start) + "/0x" + Long.toHexString(size) + " [" + module + "]" : null;
        }
    }

    /** Every function of the module at mod (struct module), read from memory: for keeping names past its unload. */
    public java.util.List<ModuleSymbol> moduleSymbols(final long mod)
    {
        final java.util.List<ModuleSymbol> out = new java.util.ArrayList<>();
        final long n = read64(mod + palimpsest.kernel.module.Modules.M_NUM_SYMTAB);
        final long symtab = read64(mod + palimpsest.kernel.module.Modules.M_SYMTAB);
        final long strtab = read64(mod + palimpsest.kernel.module.Modules.M_STRTAB);
        final String name = moduleName(mod);
        for (long i = 0; i < n && i < 4096; i++)
        {
            final long e = symtab + i * palimpsest.kernel.module.Modules.SYM_SIZE;
            out.add(new ModuleSymbol(read64(e), read64(e + 8), cString(strtab + read64(e + 16), 64), name));
        }
        return out;
    }

    /**
     * Symbolizes a module text address from memory alone (module list, symtab, strtab), as
     * Linux's oops does: {@code e1000_watchdog+0xd/0x80 [e1000]}; null if no module holds it.
     */
    public String symbolizeModule(final long addr)
    {
        for (final long mod : modules())
        {
            final long core = read64(mod + palimpsest.kernel.module.Modules.M_CORE);
            final long size = read64(mod + palimpsest.kernel.module.Modules.M_CORE_SIZE);
            if (Long.compareUnsigned(addr, core) < 0 || Long.compareUnsigned(addr, core + size) >= 0)
            {
                continue;
            }
            final long n = read64(mod + palimpsest.kernel.module.Modules.M_NUM_SYMTAB);
            final long symtab = read64(mod + palimpsest.kernel.module.Modules.M_SYMTAB);
            final long strtab = read64(mod + palimpsest.kernel.module.Modules.M_STRTAB);
            for (long i = 0; i < n; i++)
            {
                final long e = symtab + i * palimpsest.kernel.module.Modules.SYM_SIZE;
                final long v = read64(e);
                final long sz = read64(e + 8);
                if (Long.compareUnsigned(addr, v) >= 0 && Long.compareUnsigned(addr, v + sz) < 0)
                {
                    return cString(strtab + read64(e + 16), 64) + "+0x" + Long.toHexString(addr - v) + "/0x" +
                        Long.toHexString(sz) + " [" + moduleName(mod) + "]";
                }
            }
            return "0x" + Long.toHexString(addr) + " [" + moduleName(mod) + "]";
        }
        return null;
    }

    // ------------------------------------------------------------------ slab (for invariants)

    /** Physical address of the struct page of a physical frame. */
    public long pagePhys(final long phys)
    {
        return phys(PageAlloc.pfnToPage(phys >>> Layout.PAGE_SHIFT));
    }

    /**
     * The struct page (virtual, in vmemmap) of the slab holding physical address pa, or 0 when pa is
     * not in a slab page (order-1 slabs: the head page of the pair carries the slab's metadata).
     */
    public long slabPageOf(final long pa)
    {
        final long pfn = pa >>> Layout.PAGE_SHIFT;
        for (long p = pfn; p >= 0 && p >= pfn - 1; p--)
        {
            final long page = PageAlloc.pfnToPage(p);
            final long pp = phys(page);
            if (pp < 0 || pp + Page.SIZE > mem.size())
            {
                return 0;
            }
            if ((mem.read64(pp + Page.FLAGS) & Page.PG_SLAB) != 0)
            {
                final long cache = mem.read64(pp + Page.SLAB_CACHE);
                final long order = cache == 0 ? 0 : mem.read(Globals.phys(cache) + Slab.C_ORDER_OFFSET, 4);
                return p == pfn || order > 0 ? page : 0;
            }
        }
        return 0;
    }

    /** The struct kmem_cache address of a slab page. */
    public long slabCache(final long slabPage)
    {
        return mem.read64(phys(slabPage) + Page.SLAB_CACHE);
    }

    public int cacheObjectSize(final long cache)
    {
        return (int)mem.read(Globals.phys(cache) + Slab.C_SIZE_OFFSET, 4);
    }

    public int cacheStride(final long cache)
    {
        return (int)mem.read(Globals.phys(cache) + Slab.C_STRIDE_OFFSET, 4);
    }

    public int cacheObjects(final long cache)
    {
        return (int)mem.read(Globals.phys(cache) + Slab.C_OBJECTS_OFFSET, 4);
    }

    public String cacheName(final long cache)
    {
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 24; i++)
        {
            final int c = mem.read8(Globals.phys(cache) + i);
            if (c == 0)
            {
                break;
            }
            sb.append((char)c);
        }
        return sb.toString();
    }

    /** Whether obj (virtual, direct map) is on its slab's freelist (bounded by the objects per slab). */
    public boolean onFreelist(final long slabPage, final long obj)
    {
        final long cache = slabCache(slabPage);
        final int size = cacheObjectSize(cache);
        final int max = cacheObjects(cache);
        long o = mem.read64(phys(slabPage) + Page.FREELIST);
        for (int i = 0; i <= max && o != 0; i++)
        {
            if (o == obj)
            {
                return true;
            }
            final long op = phys(o + size);
            if (op < 0 || op + 8 > mem.size())
            {
                return false;
            }
            o = mem.read64(op);
        }
        return false;
    }
}
