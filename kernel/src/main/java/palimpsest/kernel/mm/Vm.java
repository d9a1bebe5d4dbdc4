package palimpsest.kernel.mm;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Paging;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.kernel.Uses;
import palimpsest.kernel.sched.Task;
import palimpsest.kernel.user.Syscalls;

/**
 * Address spaces: mm_struct and its sorted vma list in memory, page faults (demand-zero and
 * copy-on-write), fork's copy of the address space, mmap / munmap / mremap, user-memory access
 * helpers, and vmalloc / module_alloc for the kernel's own virtual areas.
 *
 * <p>mmap_sem is a spinlock in the mm_struct (taken with interrupts on, so a holder that shoots
 * down TLBs can be answered).
 */
public final class Vm
{
    public static final long EFAULT = -14;
    public static final long ENOMEM = -12;
    public static final long EINVAL = -22;
    public static final long MREMAP_MAYMOVE = 1;

    private final Kernel k;
    private final int mmCache;
    private final int vmaCache;
    private final Fn mmAllocFn;
    private final Fn findVmaFn;
    private final Fn insertVmaFn;
    private final Fn unmappedAreaFn;
    private final Fn mmapFn;
    private final Fn munmapFn;
    private final Fn mremapFn;
    private final Fn movePtesFn;
    private final Fn faultFn;
    private final Fn anonFn;
    private final Fn wpFn;
    private final Fn dupMmFn;
    private final Fn copyRangeFn;
    private final Fn zapFn;
    private final Fn mmputFn;
    private final Fn filemapFaultFn;
    private final Fn vmallocFn;
    private final Fn vmapFn;
    private final Fn vunmapFn;
    private final Fn copyToUserFn;
    private final Fn copyFromUserFn;

    public Vm(final Kernel k)
    {
        this.k = k;
        this.mmCache = k.slab.define("mm_struct", MmStruct.SIZE);
        this.vmaCache = k.slab.define("vm_area_struct", MmStruct.VMA_SIZE);
        this.mmAllocFn = k.text.fn("mm_alloc", 0x80);
        this.findVmaFn = k.text.fn("find_vma", 0x40);
        this.insertVmaFn = k.text.fn("insert_vm_struct", 0x60);
        this.unmappedAreaFn = k.text.fn("arch_get_unmapped_area_topdown", 0x80);
        this.mmapFn = k.text.fn("do_mmap_pgoff", 0x100);
        this.munmapFn = k.text.fn("do_munmap", 0x140);
        this.mremapFn = k.text.fn("do_mremap", 0x180);
        this.movePtesFn = k.text.fn("move_page_tables", 0x80);
        this.faultFn = k.text.fn("handle_mm_fault", 0x180);
        this.anonFn = k.text.fn("do_anonymous_page", 0x80);
        this.wpFn = k.text.fn("do_wp_page", 0x100);
        this.dupMmFn = k.text.fn("dup_mm", 0x100);
        this.copyRangeFn = k.text.fn("copy_page_range", 0x100);
        this.zapFn = k.text.fn("zap_page_range", 0x80);
        this.mmputFn = k.text.fn("mmput", 0x80);
        this.filemapFaultFn = k.text.fn("filemap_fault", 0x40, this::filemapFaultBody);
        this.vmallocFn = k.text.fn("__vmalloc_area", 0x100);
        this.vmapFn = k.text.fn("vmap", 0x80);
        this.vunmapFn = k.text.fn("__vunmap", 0x100);
        this.copyToUserFn = k.text.fn("copy_to_user", 0x40);
        this.copyFromUserFn = k.text.fn("copy_from_user", 0x40);
    }

    public Fn filemapFault()
    {
        return filemapFaultFn;
    }

    public int vmaCache()
    {
        return vmaCache;
    }

    private static long pgdPhys(final Cpu cpu, final long mm)
    {
        return Layout.pa(cpu.load64(mm + MmStruct.PGD));
    }

    // ------------------------------------------------------------------ mm and vmas

    /** mm_alloc: an empty address space whose pgd shares the kernel half of swapper_pg_dir. */
    public long mmAlloc(final Cpu cpu)
    {
        mmAllocFn.enter(cpu);
        final long mm = k.slab.zalloc(cpu, mmCache);
        final long pgd = k.pages.getZeroedPage(cpu);
        final long swapper = Layout.va(k.pt.swapperPgd(cpu));
        mmAllocFn.at(cpu, 0x30);
        if (k.jos != null)
        {
            // JOS's env_alloc/env_setup_vm: the environment owns its page directory (e->env_pgdir
            // = page2kva(p)) before the directory is filled from kern_pgdir.
            cpu.store64(mm + MmStruct.USERS, 1);
            cpu.store64(mm + MmStruct.MMAP_BASE, Layout.MMAP_BASE);
            cpu.store64(mm + MmStruct.PGD, pgd);
            k.jos.env.setupVm(cpu, pgd);
            return mmAllocFn.leave(cpu, mm);
        }
        else
        {
            for (int i = 256; i < 512; i++)
            {
                final long e = cpu.load64(swapper + i * 8L);
                if (e != 0)
                {
                    cpu.store64(pgd + i * 8L, e);
                }
            }
        }
        cpu.store64(mm + MmStruct.PGD, pgd);
        cpu.store64(mm + MmStruct.USERS, 1);
        cpu.store64(mm + MmStruct.MMAP_BASE, Layout.MMAP_BASE);
        return mmAllocFn.leave(cpu, mm);
    }

    /** find_vma: the first vma with vm_end > addr (it may start above addr), or 0. */
    public long findVma(final Cpu cpu, final long mm, final long addr)
    {
        findVmaFn.enter(cpu);
        long v = cpu.load64(mm + MmStruct.MMAP);
        while (v != 0)
        {
            findVmaFn.at(cpu, 0x10);
            if (Long.compareUnsigned(addr, cpu.load64(v + MmStruct.VM_END)) < 0)
            {
                break;
            }
            v = cpu.load64(v + MmStruct.VM_NEXT);
        }
        return findVmaFn.leave(cpu, v);
    }

    /** Links a vma into the mm's list, sorted by address. */
    public void insertVma(final Cpu cpu, final long mm, final long vma)
    {
        insertVmaFn.enter(cpu);
        final long start = cpu.load64(vma + MmStruct.VM_START);
        long prevLink = mm + MmStruct.MMAP;
        long v = cpu.load64(prevLink);
        while (v != 0 && Long.compareUnsigned(cpu.load64(v + MmStruct.VM_START), start) < 0)
        {
            prevLink = v + MmStruct.VM_NEXT;
            v = cpu.load64(prevLink);
        }
        cpu.store64(vma + MmStruct.VM_NEXT, v);
        cpu.store64(prevLink, vma);
        cpu.store64(vma + MmStruct.VM_MM, mm);
        cpu.store64(mm + MmStruct.MAP_COUNT, cpu.load64(mm + MmStruct.MAP_COUNT) + 1);
        insertVmaFn.leave(cpu);
    }

    private void unlinkVma(final Cpu cpu, final long mm, final long vma)
    {
        long link = mm + MmStruct.MMAP;
        long v = cpu.load64(link);
        while (v != 0 && v != vma)
        {
            link = v + MmStruct.VM_NEXT;
            v = cpu.load64(link);
        }
        if (v == vma)
        {
            cpu.store64(link, cpu.load64(vma + MmStruct.VM_NEXT));
            cpu.store64(mm + MmStruct.MAP_COUNT, cpu.load64(mm + MmStruct.MAP_COUNT) - 1);
        }
    }

    /** A new anonymous vma (from the vm_area_struct cache, zeroed). */
    public long newVma(final Cpu cpu, final long mm, final long start, final long end, final long flags)
    {
        final long vma = k.slab.zalloc(cpu, vmaCache);
        cpu.store64(vma + MmStruct.VM_START, start);
        cpu.store64(vma + MmStruct.VM_END, end);
        cpu.store64(vma + MmStruct.VM_FLAGS, flags);
        cpu.store64(vma + MmStruct.VM_MM, mm);
        return vma;
    }

    /**
     * get_unmapped_area, top-down first fit: the highest free range of len bytes below mmap_base
     * with a guard page on either side, found by walking the whole vma list (holes left by munmap
     * and mremap are reused, as Linux's search does). It reserves nothing: the range is only taken
     * once the caller links its vma, so two callers that search before either links get the same
     * range (the reason callers hold mmap_sem from the search to the link).
     */
    private long getUnmappedArea(final Cpu cpu, final long mm, final long len)
    {
        unmappedAreaFn.enter(cpu);
        final long top = cpu.load64(mm + MmStruct.MMAP_BASE);
        long best = ENOMEM;
        long floor = 0;
        long v = cpu.load64(mm + MmStruct.MMAP);
        while (true)
        {
            unmappedAreaFn.at(cpu, 0x20);
            final long vs = v == 0 ? top : cpu.load64(v + MmStruct.VM_START);
            final long gapEnd = Long.compareUnsigned(vs, top) < 0 ? vs : top;
            final long cand = (gapEnd - Layout.PAGE_SIZE - len) & ~(Layout.PAGE_SIZE - 1);
            if (floor != 0 && Long.compareUnsigned(gapEnd, floor) > 0 &&
                Long.compareUnsigned(cand, floor + Layout.PAGE_SIZE) >= 0 && Long.compareUnsigned(cand, gapEnd) < 0)
            {
                // Gaps come in address order: the last one that fits is the highest.
                best = cand;
            }
            if (v == 0 || Long.compareUnsigned(vs, top) >= 0)
            {
                break;
            }
            final long ve = cpu.load64(v + MmStruct.VM_END);
            if (Long.compareUnsigned(ve, floor) > 0)
            {
                floor = ve;
            }
            v = cpu.load64(v + MmStruct.VM_NEXT);
        }
        return unmappedAreaFn.leave(cpu, best);
    }

    private static long pageAlign(final long len)
    {
        return (len + Layout.PAGE_SIZE - 1) & ~(Layout.PAGE_SIZE - 1);
    }

    public void lockMm(final Cpu cpu, final long mm)
    {
        k.spin.lock(cpu, mm + MmStruct.SEM);
    }

    public void unlockMm(final Cpu cpu, final long mm)
    {
        k.spin.unlock(cpu, mm + MmStruct.SEM);
    }

    // ------------------------------------------------------------------ mmap, munmap, mremap

    public long doMmap(final Cpu cpu, final long mm, final long len, final long prot)
    {
        mmapFn.enter(cpu);
        if (len <= 0 || len > (1L << 36))
        {
            return mmapFn.leave(cpu, EINVAL);
        }
        final long size = pageAlign(len);
        lockMm(cpu, mm);
        final long addr = getUnmappedArea(cpu, mm, size);
        if (addr < 0)
        {
            unlockMm(cpu, mm);
            return mmapFn.leave(cpu, addr);
        }
        final long vma = newVma(cpu, mm, addr, addr + size, (prot & 7) == 0 ? MmStruct.VM_READ | MmStruct.VM_WRITE : prot & 7);
        insertVma(cpu, mm, vma);
        unlockMm(cpu, mm);
        return mmapFn.leave(cpu, addr);
    }

    public long doMunmap(final Cpu cpu, final long mm, final long start, final long len)
    {
        if ((start & Layout.PAGE_MASK()) != 0 || len <= 0)
        {
            return EINVAL;
        }
        lockMm(cpu, mm);
        unmapRange(cpu, mm, start, start + pageAlign(len));
        unlockMm(cpu, mm);
        return 0;
    }

    /** Removes [start, end) from the address space: trims or splits vmas, drops the pages, flushes TLBs. */
    private void unmapRange(final Cpu cpu, final long mm, final long start, final long end)
    {
        munmapFn.enter(cpu);
        long v = findVma(cpu, mm, start);
        while (v != 0 && Long.compareUnsigned(cpu.load64(v + MmStruct.VM_START), end) < 0)
        {
            munmapFn.at(cpu, 0x30);
            final long next = cpu.load64(v + MmStruct.VM_NEXT);
            final long vs = cpu.load64(v + MmStruct.VM_START);
            final long ve = cpu.load64(v + MmStruct.VM_END);
            final long zs = Math.max(vs, start);
            final long ze = Math.min(ve, end);
            zap(cpu, mm, zs, ze);
            if (zs == vs && ze == ve)
            {
                unlinkVma(cpu, mm, v);
                k.slab.kfree(cpu, v);
            }
            else if (zs == vs)
            {
                cpu.store64(v + MmStruct.VM_START, ze);
            }
            else if (ze == ve)
            {
                cpu.store64(v + MmStruct.VM_END, zs);
            }
            else
            {
                munmapFn.at(cpu, 0x80);
                final long tail = newVma(cpu, mm, ze, ve, cpu.load64(v + MmStruct.VM_FLAGS));
                cpu.store64(tail + MmStruct.VM_OPS, cpu.load64(v + MmStruct.VM_OPS));
                cpu.store64(v + MmStruct.VM_END, zs);
                insertVma(cpu, mm, tail);
            }
            v = next;
        }
        k.smp.flushTlbRange(cpu, pgdPhys(cpu, mm), start, end);
        munmapFn.leave(cpu);
    }

    /** zap_page_range: clears the ptes of [start, end) and drops the page references. */
    private void zap(final Cpu cpu, final long mm, final long start, final long end)
    {
        zapFn.enter(cpu);
        final long pgd = pgdPhys(cpu, mm);
        for (long a = start; a < end; a += Layout.PAGE_SIZE)
        {
            final long ptep = k.pt.pte(cpu, pgd, a, Layout.PAGE_OFFSET, false, true);
            if (ptep == 0)
            {
                a = (a | 0x1F_FFFFL);
                a -= Layout.PAGE_SIZE - 1;
                continue;
            }
            if ((cpu.load64(ptep) & Paging.P) != 0)
            {
                final long pte = k.pt.getAndClear(cpu, ptep);
                k.pages.putPage(cpu, k.pages.physToPage(pte & Paging.ADDR_MASK));
            }
        }
        zapFn.leave(cpu);
    }

    /**
     * mremap: shrink, grow in place when the next vma leaves room, or (MREMAP_MAYMOVE) move the
     * pages to a new area by moving their ptes, then flush the old range everywhere.
     */
    public long doMremap(final Cpu cpu, final long mm, final long old, final long oldLen, final long newLen, final long flags)
    {
        mremapFn.enter(cpu);
        if ((old & Layout.PAGE_MASK()) != 0 || newLen <= 0)
        {
            return mremapFn.leave(cpu, EINVAL);
        }
        final long oldSize = pageAlign(oldLen);
        final long newSize = pageAlign(newLen);
        final boolean locked = k.patches.enabled("mremap-lock");
        if (locked)
        {
            lockMm(cpu, mm);
        }
        long result;
        final long vma = findVma(cpu, mm, old);
        if (vma == 0 || Long.compareUnsigned(cpu.load64(vma + MmStruct.VM_START), old) > 0 ||
            Long.compareUnsigned(old + oldSize, cpu.load64(vma + MmStruct.VM_END)) > 0)
        {
            result = EFAULT;
        }
        else if (newSize <= oldSize)
        {
            if (newSize < oldSize)
            {
                unmapRange(cpu, mm, old + newSize, old + oldSize);
            }
            result = old;
        }
        else
        {
            mremapFn.at(cpu, 0x60);
            final long next = cpu.load64(vma + MmStruct.VM_NEXT);
            if (cpu.load64(vma + MmStruct.VM_END) == old + oldSize &&
                (next == 0 || Long.compareUnsigned(cpu.load64(next + MmStruct.VM_START), old + newSize) >= 0))
            {
                cpu.store64(vma + MmStruct.VM_END, old + newSize);
                result = old;
            }
            else if ((flags & MREMAP_MAYMOVE) == 0)
            {
                result = ENOMEM;
            }
            else
            {
                mremapFn.at(cpu, 0xa0);
                final long to = getUnmappedArea(cpu, mm, newSize);
                if (to < 0)
                {
                    result = to;
                }
                else
                {
                    final long nv = newVma(cpu, mm, to, to + newSize, cpu.load64(vma + MmStruct.VM_FLAGS));
                    insertVma(cpu, mm, nv);
                    movePageTables(cpu, mm, old, to, oldSize);
                    unmapRange(cpu, mm, old, old + oldSize);
                    result = to;
                }
            }
        }
        if (locked)
        {
            unlockMm(cpu, mm);
        }
        return mremapFn.leave(cpu, result);
    }

    private void movePageTables(final Cpu cpu, final long mm, final long from, final long to, final long len)
    {
        movePtesFn.enter(cpu);
        final long pgd = pgdPhys(cpu, mm);
        for (long off = 0; off < len; off += Layout.PAGE_SIZE)
        {
            final long optep = k.pt.pte(cpu, pgd, from + off, Layout.PAGE_OFFSET, false, true);
            if (optep == 0 || (cpu.load64(optep) & Paging.P) == 0)
            {
                continue;
            }
            movePtesFn.at(cpu, 0x30);
            final long pte = k.pt.getAndClear(cpu, optep);
            final long nptep = k.pt.pte(cpu, pgd, to + off, Layout.PAGE_OFFSET, true, true);
            k.pt.set(cpu, nptep, pte);
        }
        movePtesFn.leave(cpu);
    }

    // ------------------------------------------------------------------ faults

    /**
     * handle_mm_fault for a user address: true if handled (the access is retried), false if the
     * address is bad (SIGSEGV for user mode, an oops for the kernel). ip: the faulting instruction.
     */
    public boolean handleFault(final Cpu cpu, final long addr, final long err, final long ip)
    {
        final long t = k.current(cpu);
        final long mm = cpu.load64(t + Task.MM);
        if (mm == 0)
        {
            return false;
        }
        if ((err & Paging.PF_USER) == 0 && Long.compareUnsigned(ip - faultFn.addr, faultFn.size) < 0)
        {
            // A fault by handle_mm_fault itself, which holds the mm lock: Linux's trylock of
            // mmap_sem fails and a kernel-mode fault without an exception-table fixup is
            // bad_area_nosemaphore, an oops (never a wait on our own lock).
            return false;
        }
        if (k.lego != null && k.lego.isProcessor(cpu))
        {
            // LegoOS processor: no vmas here; the pcache fills the page from the memory component.
            return k.lego.pcache.handleFault(cpu, mm, addr, err);
        }
        return handleMmFault(cpu, mm, addr, err);
    }

    /** handle_mm_fault on a given address space (LegoOS's memory component faults in its processes' pages). */
    public boolean handleMmFault(final Cpu cpu, final long mm, final long addr, final long err)
    {
        faultFn.enter(cpu);
        lockMm(cpu, mm);
        final long vma = findVma(cpu, mm, addr);
        final boolean write = (err & Paging.PF_WRITE) != 0;
        if (vma == 0 || Long.compareUnsigned(cpu.load64(vma + MmStruct.VM_START), addr) > 0)
        {
            unlockMm(cpu, mm);
            return faultFn.leave(cpu, 0) != 0;
        }
        faultFn.at(cpu, 0x40);
        final long flags = cpu.load64(vma + MmStruct.VM_FLAGS);
        if ((write && (flags & MmStruct.VM_WRITE) == 0) || ((err & Paging.PF_FETCH) != 0 && (flags & MmStruct.VM_EXEC) == 0))
        {
            unlockMm(cpu, mm);
            return faultFn.leave(cpu, 0) != 0;
        }
        faultFn.at(cpu, 0x60);
        // if (vma->vm_ops): a branch on a field of the vma (KMSAN checks it here).
        final long ops = Uses.branch64(cpu, vma + MmStruct.VM_OPS);
        if (ops != 0)
        {
            // A file-backed vma: ask its vm_ops->fault (LegoOS: garbage vm_ops from kmalloc).
            faultFn.at(cpu, 0x68);
            final long fault = cpu.load64(ops + MmStruct.VMOPS_FAULT);
            if (fault != 0)
            {
                k.callIndirect(cpu, fault, vma, addr, 0);
            }
        }
        final long pgd = pgdPhys(cpu, mm);
        final long ptep = k.pt.pte(cpu, pgd, addr, Layout.PAGE_OFFSET, true, true);
        final long pte = cpu.load64(ptep);
        faultFn.at(cpu, 0x90);
        if ((pte & Paging.P) == 0)
        {
            doAnonymousPage(cpu, ptep, flags);
        }
        else if (write && (pte & Paging.W) == 0)
        {
            doWpPage(cpu, pgd, ptep, pte, addr);
        }
        else
        {
            // Spurious: another cpu already fixed the pte; our TLB may still hold the old entry.
            cpu.invlpg(addr);
        }
        unlockMm(cpu, mm);
        faultFn.leave(cpu);
        return true;
    }

    private static long userPteFlags(final long vmFlags)
    {
        return Paging.P | Paging.U | ((vmFlags & MmStruct.VM_WRITE) != 0 ? Paging.W : 0) |
            ((vmFlags & MmStruct.VM_EXEC) != 0 ? 0 : Paging.NX);
    }

    private void doAnonymousPage(final Cpu cpu, final long ptep, final long vmFlags)
    {
        anonFn.enter(cpu);
        final long va = k.pages.getZeroedPage(cpu);
        if (va == 0)
        {
            k.oops.panic(cpu, "Out of memory: no page for an anonymous fault");
        }
        k.pt.set(cpu, ptep, Layout.pa(va) | userPteFlags(vmFlags));
        anonFn.leave(cpu);
    }

    /** Copy-on-write: reuse the page if we hold the only reference, else copy it. */
    private void doWpPage(final Cpu cpu, final long pgd, final long ptep, final long pte, final long addr)
    {
        wpFn.enter(cpu);
        final long oldPage = k.pages.physToPage(pte & Paging.ADDR_MASK);
        if (k.pages.pageCount(cpu, oldPage) == 1)
        {
            wpFn.at(cpu, 0x20);
            k.pt.set(cpu, ptep, pte | Paging.W);
            cpu.invlpg(addr);
            wpFn.leave(cpu);
            return;
        }
        wpFn.at(cpu, 0x40);
        final long page = k.pages.allocPage(cpu);
        if (page == 0)
        {
            k.oops.panic(cpu, "Out of memory in do_wp_page");
        }
        k.pages.copyPage(cpu, PageAlloc.pageAddress(page), Layout.va(pte & Paging.ADDR_MASK));
        k.pt.set(cpu, ptep, PageAlloc.pagePhys(page) | (pte & ~Paging.ADDR_MASK) | Paging.W);
        k.pages.putPage(cpu, oldPage);
        k.smp.flushTlbPage(cpu, pgd, addr);
        wpFn.leave(cpu);
    }

    /** The vm_operations fault of file mappings: nothing to read in, the anonymous path fills the page. */
    private void filemapFaultBody(final Cpu cpu)
    {
        filemapFaultFn.prologue(cpu);
        cpu.setReg(Syscalls.RAX, 0);
        filemapFaultFn.leave(cpu);
    }

    // ------------------------------------------------------------------ fork and exit

    /** dup_mm: copies the vmas, shares every page copy-on-write (both ptes read-only, refcount + 1). */
    public long dupMm(final Cpu cpu, final long oldMm)
    {
        dupMmFn.enter(cpu);
        final long mm = mmAlloc(cpu);
        lockMm(cpu, oldMm);
        cpu.store64(mm + MmStruct.MMAP_BASE, cpu.load64(oldMm + MmStruct.MMAP_BASE));
        cpu.store64(mm + MmStruct.START_CODE, cpu.load64(oldMm + MmStruct.START_CODE));
        cpu.store64(mm + MmStruct.END_DATA, cpu.load64(oldMm + MmStruct.END_DATA));
        cpu.store64(mm + MmStruct.START_STACK, cpu.load64(oldMm + MmStruct.START_STACK));
        final long oldPgd = pgdPhys(cpu, oldMm);
        final long newPgd = pgdPhys(cpu, mm);
        for (long v = cpu.load64(oldMm + MmStruct.MMAP); v != 0; v = cpu.load64(v + MmStruct.VM_NEXT))
        {
            dupMmFn.at(cpu, 0x40);
            final long nv = k.slab.alloc(cpu, vmaCache);
            for (int off = 0; off < MmStruct.VMA_SIZE; off += 8)
            {
                cpu.store64(nv + off, cpu.load64(v + off));
            }
            cpu.store64(nv + MmStruct.VM_NEXT, 0);
            insertVma(cpu, mm, nv);
            copyPageRange(cpu, oldPgd, newPgd, v);
        }
        unlockMm(cpu, oldMm);
        // LegoOS's processor has no vmas: with fork_dup_pcache (lego-pcache-fork-cow) the page
        // range is shared there, not here, and this flush of nothing write-protected goes.
        final boolean legoCow = k.lego != null && k.patches.enabled("lego-pcache-fork-cow") && k.lego.isProcessor(cpu);
        if (k.patches.enabled("fork-flush-tlb") && !legoCow)
        {
            // The parent's ptes just lost W: without this flush its TLB keeps writing the shared page.
            k.smp.flushTlbRange(cpu, oldPgd, 0, Layout.USER_TOP);
        }
        return dupMmFn.leave(cpu, mm);
    }

    private void copyPageRange(final Cpu cpu, final long oldPgd, final long newPgd, final long vma)
    {
        copyRangeFn.enter(cpu);
        final long start = cpu.load64(vma + MmStruct.VM_START);
        final long end = cpu.load64(vma + MmStruct.VM_END);
        final boolean cow = (cpu.load64(vma + MmStruct.VM_FLAGS) & MmStruct.VM_WRITE) != 0;
        for (long a = start; a < end; a += Layout.PAGE_SIZE)
        {
            final long optep = k.pt.pte(cpu, oldPgd, a, Layout.PAGE_OFFSET, false, true);
            if (optep == 0)
            {
                continue;
            }
            long pte = cpu.load64(optep);
            if ((pte & Paging.P) == 0)
            {
                continue;
            }
            copyRangeFn.at(cpu, 0x40);
            if (cow && (pte & Paging.W) != 0)
            {
                pte &= ~Paging.W;
                k.pt.set(cpu, optep, pte);
            }
            k.pages.getPage(cpu, k.pages.physToPage(pte & Paging.ADDR_MASK));
            final long nptep = k.pt.pte(cpu, newPgd, a, Layout.PAGE_OFFSET, true, true);
            k.pt.set(cpu, nptep, pte);
        }
        copyRangeFn.leave(cpu);
    }

    /** mmput: drops a user; the last one tears the address space down. */
    public void mmput(final Cpu cpu, final long mm)
    {
        mmputFn.enter(cpu);
        final long old = cpu.xadd(k.spin.atomicSite(), mm + MmStruct.USERS, 8, -1);
        if (old == 1)
        {
            if (k.lego != null && k.lego.isProcessor(cpu))
            {
                // pcache_exit_process: the lines and rmaps of this address space go first.
                k.lego.pcache.exitProcess(cpu, mm);
            }
            mmputFn.at(cpu, 0x20);
            long v = cpu.load64(mm + MmStruct.MMAP);
            while (v != 0)
            {
                final long next = cpu.load64(v + MmStruct.VM_NEXT);
                zap(cpu, mm, cpu.load64(v + MmStruct.VM_START), cpu.load64(v + MmStruct.VM_END));
                k.slab.kfree(cpu, v);
                v = next;
            }
            cpu.store64(mm + MmStruct.MMAP, 0);
            final long pgd = pgdPhys(cpu, mm);
            k.pt.freeUserTables(cpu, pgd);
            k.pages.freePage(cpu, k.pages.physToPage(pgd));
            k.slab.free(cpu, mm);
        }
        mmputFn.leave(cpu);
    }

    public void mmget(final Cpu cpu, final long mm)
    {
        cpu.xadd(k.spin.atomicSite(), mm + MmStruct.USERS, 8, 1);
    }

    // ------------------------------------------------------------------ user memory

    /** access_ok + vma check: [addr, addr+len) lies in vmas that allow the access. */
    public boolean accessOk(final Cpu cpu, final long mm, final long addr, final long len, final boolean write)
    {
        if (mm == 0 || len < 0 || !Layout.isUser(addr) || !Layout.isUser(addr + len))
        {
            return false;
        }
        if (k.lego != null && k.lego.isProcessor(cpu))
        {
            // A LegoOS processor has no vmas: access_ok is the range check (faults go to the pcache).
            return true;
        }
        long a = addr;
        final long end = addr + Math.max(len, 1);
        while (a < end)
        {
            final long v = findVma(cpu, mm, a);
            if (v == 0 || Long.compareUnsigned(cpu.load64(v + MmStruct.VM_START), a) > 0)
            {
                return false;
            }
            if (write && (cpu.load64(v + MmStruct.VM_FLAGS) & MmStruct.VM_WRITE) == 0)
            {
                return false;
            }
            a = cpu.load64(v + MmStruct.VM_END);
        }
        return true;
    }

    public void putUser(final Cpu cpu, final long addr, final int size, final long value)
    {
        cpu.store(addr, size, value);
    }

    public long getUser(final Cpu cpu, final long addr, final int size)
    {
        return cpu.load(addr, size);
    }

    public void copyToUser(final Cpu cpu, final long to, final long from, final long len)
    {
        copyToUserFn.enter(cpu);
        copy(cpu, to, from, len);
        copyToUserFn.leave(cpu);
    }

    public void copyFromUser(final Cpu cpu, final long to, final long from, final long len)
    {
        copyFromUserFn.enter(cpu);
        copy(cpu, to, from, len);
        copyFromUserFn.leave(cpu);
    }

    private static void copy(final Cpu cpu, final long to, final long from, final long len)
    {
        long i = 0;
        if (((to | from) & 7) == 0)
        {
            for (; i + 8 <= len; i += 8)
            {
                cpu.store64(to + i, cpu.load64(from + i));
            }
        }
        for (; i < len; i++)
        {
            cpu.store8(to + i, cpu.load8(from + i));
        }
    }

    // ------------------------------------------------------------------ vmalloc and modules

    /** vmalloc: pages from the buddy allocator mapped at the next vmalloc address (plus a guard page). */
    public long vmalloc(final Cpu cpu, final long size)
    {
        return vmap(cpu, Globals.VMALLOC_NEXT, size, palimpsest.kernel.mm.PageTable.PAGE_KERNEL);
    }

    /**
     * module_alloc: like vmalloc, in the module area. virt_to_page() of the result is NOT the page
     * that backs it (__pa() of a module address is computed as if it were kernel image).
     */
    public long moduleAlloc(final Cpu cpu, final long size, final long pteFlags)
    {
        return vmap(cpu, Globals.MODULES_NEXT, size, pteFlags);
    }

    private long vmap(final Cpu cpu, final long cursorVar, final long size, final long pteFlags)
    {
        vmallocFn.enter(cpu);
        final long len = pageAlign(size);
        final boolean f = k.spin.lockIrqSave(cpu, Globals.VMALLOC_LOCK);
        final long addr = cpu.load64(cursorVar);
        cpu.store64(cursorVar, addr + len + Layout.PAGE_SIZE);
        k.spin.unlockIrqRestore(cpu, Globals.VMALLOC_LOCK, f);
        final long swapper = k.pt.swapperPgd(cpu);
        for (long off = 0; off < len; off += Layout.PAGE_SIZE)
        {
            final long page = k.pages.allocPage(cpu);
            if (page == 0)
            {
                k.oops.panic(cpu, "vmalloc: out of memory");
            }
            k.pt.map(cpu, swapper, addr + off, PageAlloc.pagePhys(page), pteFlags, false);
        }
        cpu.mark(Mark.VMALLOC, addr, len);
        return vmallocFn.leave(cpu, addr);
    }

    /**
     * vmap(pages, n, PAGE_KERNEL): maps the given struct pages (not allocated here) at fresh
     * virtually contiguous vmalloc addresses; returns the address of the first.
     */
    public long vmapPages(final Cpu cpu, final long[] pages, final int n, final long pteFlags)
    {
        vmapFn.enter(cpu);
        final long len = n * Layout.PAGE_SIZE;
        final boolean f = k.spin.lockIrqSave(cpu, Globals.VMALLOC_LOCK);
        final long addr = cpu.load64(Globals.VMALLOC_NEXT);
        cpu.store64(Globals.VMALLOC_NEXT, addr + len + Layout.PAGE_SIZE);
        k.spin.unlockIrqRestore(cpu, Globals.VMALLOC_LOCK, f);
        final long swapper = k.pt.swapperPgd(cpu);
        for (int i = 0; i < n; i++)
        {
            vmapFn.at(cpu, 0x40);
            k.pt.map(cpu, swapper, addr + i * Layout.PAGE_SIZE, PageAlloc.pagePhys(pages[i]), pteFlags, false);
        }
        return vmapFn.leave(cpu, addr);
    }

    /**
     * vunmap / vfree: clears the ptes of [addr, addr + len) in swapper_pg_dir, flushes them from
     * every cpu's TLB, and (for vfree) gives the backing pages back to the buddy allocator.
     */
    public void vunmap(final Cpu cpu, final long addr, final long size, final boolean freePages)
    {
        vunmapFn.enter(cpu);
        final long len = pageAlign(size);
        final long swapper = k.pt.swapperPgd(cpu);
        for (long off = 0; off < len; off += Layout.PAGE_SIZE)
        {
            final long ptep = k.pt.pte(cpu, swapper, addr + off, Layout.PAGE_OFFSET, false, false);
            if (ptep == 0)
            {
                continue;
            }
            final long old = k.pt.getAndClear(cpu, ptep);
            vunmapFn.at(cpu, 0x60);
            if (freePages && (old & Paging.P) != 0)
            {
                k.pages.freePage(cpu, k.pages.physToPage(old & Paging.ADDR_MASK));
            }
        }
        k.smp.flushTlbRange(cpu, swapper, addr, addr + len);
        if (freePages)
        {
            cpu.mark(Mark.VFREE, addr, len);
        }
        vunmapFn.leave(cpu);
    }

    /** vfree: unmaps a vmalloc/module_alloc area and frees its pages. */
    public void vfree(final Cpu cpu, final long addr, final long size)
    {
        vunmap(cpu, addr, size, true);
    }
}
