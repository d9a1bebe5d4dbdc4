package palimpsest.kernel.lego;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Paging;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Lists;
import palimpsest.kernel.Once;
import palimpsest.kernel.mm.MmStruct;
import palimpsest.kernel.mm.PageAlloc;
import palimpsest.kernel.sched.Task;

/**
 * The processor component's pcache: a set-associative cache of remote pages in this node's DRAM.
 * User page tables on the processor map pcache lines; a miss ({@link #handleFault}) allocates a
 * line in the set of the user address, fills it from the memory component
 * (__pcache_do_fill_page: the reply's page body is DMA'd and copied straight into the line) and
 * maps it. Every line has flags and an rmap: the (mm, uva, ptep) triples that map it. A full set
 * evicts a line: its ptes are cleared and flushed; a dirty line goes to the victim cache, which the
 * {@code kvictim_flushd} thread writes back to the memory component; a miss looks in the victim
 * cache first. Reads map a line read-only; the first write marks it dirty and makes it writable
 * (the MMU sets no dirty bits).
 *
 * <pre>
 * control (memblock page, Globals.LEGO_PCACHE)
 *   +0 lines phys  +8 meta  +16 nr_sets  +24 ways  +32 set locks  +40 victim_lock  +48 victim pages
 *   +56 clock hand  +64 fills  +72 evictions  +80 kvictim_flushd  +88 writebacks  +96 victim hits
 *   +104 csum errors  +112 flush passes  +120 victim ring's next slot (lego-victim-page-alloc)  +128 victim[8] { flags (1 valid, 2 flushing, 4 reserved), tgid, uva,
 *   page (lego-victim-page-alloc; else 0) }  +384 flushd's timer
 *   +512 moving[16] { tgid, start, end } (per cpu: the range its mremap is moving; under victim_lock)
 *   +896 kpcache_sweepd  +904 sweeps  +912 sweepd's timer (40 bytes)
 *   +960 victim_flush_list (lego-victim-flush-info; under victim_lock)
 * victim_flush_info (kmalloc 64, lego-victim-flush-info)  +0 list  +16 slot  +24 tgid  +32 uva  +40 wait  +48 done
 * pcache_meta (64 bytes per line)  +0 flags (1 valid, 2 dirty, 4 locked, 8 writable, 16 cow) +8 rmap +16 mm +24 uva +32 tgid
 * pcache_rmap (kmalloc 32)  +0 next  +8 mm  +16 uva  +24 ptep
 * line of set s, way w: lines + (s * ways + w) * 4096; set of uva: (uva >> 12) % nr_sets
 * </pre>
 */
public final class Pcache
{
    public static final long VALID = 1;
    public static final long DIRTY = 2;
    public static final long LOCKED = 4;
    public static final long WRITABLE = 8;
    /** Shared copy-on-write with a forked child (patch lego-pcache-fork-cow): a write fault breaks it. */
    public static final long COW = 16;
    public static final int VICTIMS = 8;
    /**
     * A victim slot's flags: reserved, by an eviction from before it unmaps its line until the copy
     * is in (or by victim_release_range while it gives the slot's page back).
     */
    public static final long V_RESERVED = 4;

    public static final int C_LINES = 0;
    public static final int C_META = 8;
    public static final int C_SETS = 16;
    public static final int C_WAYS = 24;
    public static final int C_LOCKS = 32;
    static final int C_VLOCK = 40;
    static final int C_VPAGES = 48;
    static final int C_HAND = 56;
    public static final int C_FILLS = 64;
    public static final int C_EVICTIONS = 72;
    static final int C_FLUSHD = 80;
    public static final int C_WRITEBACKS = 88;
    public static final int C_VICTIM_HITS = 96;
    public static final int C_CSUM_ERRORS = 104;
    /** victim_flush_func passes (patch lego-pcache-victim-stats). */
    static final int C_FLUSH_PASSES = 112;
    /** The victim ring's next slot (patch lego-victim-page-alloc; under victim_lock). */
    static final int C_VRING = 120;
    public static final int C_VICTIM = 128;
    /** kvictim_flushd's sleep timer (after the victim slots). */
    static final int C_TIMER = C_VICTIM + VICTIMS * 32;
    public static final int META = 64;
    /** The ranges mremaps are moving, one slot per cpu (after the timer). */
    static final int C_MOVING = 512;
    static final int MOVING_SLOTS = 16;
    /** kpcache_sweepd's task, its pass count and its sleep timer (--arg pcache-sweep, after the moving slots). */
    static final int C_SWEEPD = 896;
    public static final int C_SWEEPS = 904;
    static final int C_SWEEP_TIMER = 912;
    /** The header of a flush message that carries its page (LegoOS's SLOB configuration). */
    static final int FLUSH_MSG = 64;
    /** victim_flush_list: the victim_flush_info jobs victim_submit_flush queued for kvictim_flushd (after sweepd's timer). */
    static final int C_FLUSH_LIST = 960;
    /** sizeof(struct victim_flush_info): list, slot, tgid, uva, wait, completion. */
    static final int FLUSH_INFO = 64;
    /**
     * sizeof(struct pcache_rmap) under SLOB: page_table, flags, owner_mm, owner_process, address and
     * the list (56 bytes; this model reads next, mm, uva and ptep at +0..+24). Without SLOB the slab's
     * 32-byte cache holds it, as before.
     */
    static final int RMAP_SIZE = 56;
    public static final String FLUSH_INFO_PATCH = "lego-victim-flush-info";

    private final Kernel k;
    private final Lego lego;
    private final Fn faultFn;
    private final Fn fillFn;
    private final Fn allocFn;
    private final Fn evictFn;
    private final Fn victimFillFn;
    private final Fn flushdFn;
    private final Fn flushOneFn;
    private final Fn movePteFn;
    private final Fn zapFn;
    private final Fn exitFn;
    private final Fn flushMmFn;
    private final Fn dupFn;
    private final Fn cowFn;
    private final Fn releaseFn;
    /** kpcache_sweepd and its per-line rmap walk; null without --arg pcache-sweep (no thread, no function). */
    private final Fn sweepdFn;
    private final Fn referencedFn;
    /** Victim pages come from the buddy allocator, one per slot when first needed (patch lego-victim-page-alloc). */
    private final boolean victimPagesAllocated;
    /**
     * LegoOS's victim_submit_flush (patch lego-victim-flush-info): each eviction into the victim
     * cache kmallocs a victim_flush_info and queues it; kvictim_flushd flushes and kfree()s it.
     */
    private final boolean flushInfo;

    Pcache(final Kernel k, final Lego lego)
    {
        this.k = k;
        this.lego = lego;
        this.faultFn = k.text.fn("pcache_handle_fault", 0x6c0);
        this.fillFn = k.text.fn("__pcache_do_fill_page", 0x180);
        this.allocFn = k.text.fn("pcache_alloc", 0x100);
        this.evictFn = k.text.fn("pcache_evict_line", 0x180);
        this.victimFillFn = k.text.fn("victim_try_fill_pcache", 0x390);
        this.flushdFn = k.text.fn("kvictim_flushd", 0x100, this::flushdBody);
        this.flushOneFn = k.text.fn("victim_flush_func", 0x1e0);
        this.movePteFn = k.text.fn("pcache_move_pte", 0x100);
        this.zapFn = k.text.fn("pcache_zap_range", 0x100);
        this.exitFn = k.text.fn("pcache_exit_process", 0x100);
        this.flushMmFn = k.text.fn("pcache_flush_mm", 0x100);
        this.dupFn = k.text.fn("fork_dup_pcache", 0x140);
        this.cowFn = k.text.fn("pcache_do_wp_page", 0xc0);
        this.releaseFn = k.patches.enabled("lego-victim-page-alloc") ? k.text.fn("victim_release_range", 0x120) : null;
        this.victimPagesAllocated = releaseFn != null;
        final boolean sweep = lego.config.sweepJiffies > 0;
        this.sweepdFn = sweep ? k.text.fn("kpcache_sweepd", 0x100, this::sweepdBody) : null;
        this.referencedFn = sweep ? k.text.fn("pcache_referenced", 0x120) : null;
        this.flushInfo = k.patches.enabled(FLUSH_INFO_PATCH);
    }

    long base(final Cpu cpu)
    {
        return cpu.load64(Globals.LEGO_PCACHE);
    }

    /** At boot, before the buddy allocator takes the rest of RAM: lines, metadata, set locks, victim pages. */
    void reserve(final Cpu cpu, final int kib, final int ways)
    {
        final int lines = kib / 4;
        final long c = Layout.va(k.memblockAllocPhys(cpu, 1, false));
        cpu.store64(Globals.LEGO_PCACHE, c);
        cpu.store64(c + C_LINES, k.memblockAllocPhys(cpu, lines, false, false));
        cpu.store64(c + C_META, Layout.va(k.memblockAllocPhys(cpu, (lines * META + 4095) / 4096, false)));
        cpu.store64(c + C_SETS, lines / ways);
        cpu.store64(c + C_WAYS, ways);
        cpu.store64(c + C_LOCKS, Layout.va(k.memblockAllocPhys(cpu, (lines / ways * 8 + 4095) / 4096, false)));
        cpu.store64(c + C_VPAGES, Layout.va(k.memblockAllocPhys(cpu, VICTIMS, false, false)));
        if (flushInfo)
        {
            Lists.init(cpu, c + C_FLUSH_LIST);
        }
        k.printk.printk(cpu, "pcache: " + kib + " KiB, " + ways + "-way, " + lines / ways + " sets" +
            (k.patches.enabled("lego-pcache-banner") ? " of 4096-byte lines" : "") + "; victim cache: " + VICTIMS + " entries");
    }

    void startFlushd(final Cpu cpu)
    {
        cpu.store64(base(cpu) + C_FLUSHD, k.sched.kernelThread(cpu, "kvictim_flushd", flushdFn.addr, 0, false));
    }

    /** kpcache_sweepd, when the cluster has one (pcache-sweep: its period in jiffies). */
    void startSweepd(final Cpu cpu)
    {
        if (sweepdFn != null)
        {
            cpu.store64(base(cpu) + C_SWEEPD, k.sched.kernelThread(cpu, "kpcache_sweepd", sweepdFn.addr, 0, false));
        }
    }

    /**
     * kpcache_sweepd (LegoOS's LRU configuration): every pcache-sweep jiffies it walks each set
     * under its lock and, for every valid line not being filled, the line's rmap, as
     * pcache_referenced does through rmap_get_locked_pte: each entry's pte must map the line. So
     * a disagreement is found while the program runs, by the kernel, not only when the process
     * exits. A pte that is not present is not referenced and is passed over (eviction, zap and
     * exit still report a stale entry whose pte is gone); an entry whose pte maps another line is
     * reported and unlinked: it can never unmap this line, and the next pass would report it
     * again.
     */
    private void sweepdBody(final Cpu cpu)
    {
        sweepdFn.prologue(cpu);
        final long c = base(cpu);
        while (true)
        {
            sweepdFn.at(cpu, 0x20);
            lego.ibapi.sleepTimeout(cpu, c + C_SWEEP_TIMER, lego.config.sweepJiffies);
            sweepdFn.at(cpu, 0x40);
            final long sets = cpu.load64(c + C_SETS);
            final long ways = cpu.load64(c + C_WAYS);
            for (long s = 0; s < sets; s++)
            {
                final long lock = setLock(cpu, c, s);
                sweepdFn.at(cpu, 0x50);
                k.spin.lock(cpu, lock);
                for (long w = 0; w < ways; w++)
                {
                    sweepdFn.at(cpu, 0x60);
                    final long m = meta(cpu, c, s * ways + w);
                    final long flags = cpu.load64(m);
                    if ((flags & VALID) != 0 && (flags & LOCKED) == 0)
                    {
                        referenced(cpu, c, m);
                    }
                }
                sweepdFn.at(cpu, 0x80);
                k.spin.unlock(cpu, lock);
            }
            cpu.xadd(k.spin.atomicSite(), c + C_SWEEPS, 8, 1);
        }
    }

    /** pcache_referenced's rmap walk, under the set lock: stale entries are reported and unlinked. */
    private void referenced(final Cpu cpu, final long c, final long m)
    {
        referencedFn.enter(cpu);
        long prev = m + 8;
        for (long r = cpu.load64(prev); r != 0; )
        {
            referencedFn.at(cpu, 0x30);
            final long next = cpu.load64(r);
            if ((cpu.load64(cpu.load64(r + 24)) & Paging.P) == 0 || rmapMatchesPte(cpu, c, m, r))
            {
                // Not present: not referenced, nothing to test (an unmap clears the rest).
                prev = r;
            }
            else
            {
                cpu.store64(prev, next);
                k.slab.kfree(cpu, r);
            }
            r = next;
        }
        referencedFn.leave(cpu);
    }

    private long meta(final Cpu cpu, final long c, final long line)
    {
        return cpu.load64(c + C_META) + line * META;
    }

    private long linePhys(final Cpu cpu, final long c, final long line)
    {
        return cpu.load64(c + C_LINES) + line * Layout.PAGE_SIZE;
    }

    private long lineOfPhys(final Cpu cpu, final long c, final long pa)
    {
        return ((pa & Paging.ADDR_MASK) - cpu.load64(c + C_LINES)) >>> Layout.PAGE_SHIFT;
    }

    private long setLock(final Cpu cpu, final long c, final long set)
    {
        return cpu.load64(c + C_LOCKS) + set * 8;
    }

    private static long tgid(final Cpu cpu, final Kernel k)
    {
        return cpu.load64(k.current(cpu) + Task.TGID);
    }

    private static long pgdPhys(final Cpu cpu, final long mm)
    {
        return Layout.pa(cpu.load64(mm + MmStruct.PGD));
    }

    // ------------------------------------------------------------------ the fault path

    /** pcache_handle_fault: true if the access may be retried, false for a bad address (SIGSEGV / oops). */
    public boolean handleFault(final Cpu cpu, final long mm, final long addr, final long err)
    {
        faultFn.enter(cpu);
        final long c = base(cpu);
        final long va = addr & ~(Layout.PAGE_SIZE - 1);
        final boolean write = (err & Paging.PF_WRITE) != 0;
        final long sets = cpu.load64(c + C_SETS);
        final long ways = cpu.load64(c + C_WAYS);
        final long set = (va >>> Layout.PAGE_SHIFT) % sets;
        final long lock = setLock(cpu, c, set);
        final long pgd = pgdPhys(cpu, mm);
        while (true)
        {
            faultFn.at(cpu, 0x40);
            k.spin.lock(cpu, lock);
            final long ptep = walk(cpu, pgd, va);
            final long pte = cpu.load64(ptep);
            if ((pte & Paging.P) != 0)
            {
                faultFn.at(cpu, 0x69);
                final long present = lineOfPhys(cpu, c, pte);
                final long lineLock = setLock(cpu, c, present / ways);
                if (lineLock != lock)
                {
                    // A line mremap moved here lives in its old set: its flags are that set's lock's.
                    k.spin.unlock(cpu, lock);
                    k.spin.lock(cpu, lineLock);
                    if (cpu.load64(ptep) != pte)
                    {
                        k.spin.unlock(cpu, lineLock);
                        continue;
                    }
                }
                final long m = meta(cpu, c, present);
                if ((cpu.load64(m) & LOCKED) != 0)
                {
                    // fork_dup_pcache is writing this line home: the memory component's copy is
                    // not the line's yet, so a COW break now would fault in stale data. Wait.
                    k.spin.unlock(cpu, lineLock);
                    k.sched.yield(cpu);
                    continue;
                }
                boolean ok = true;
                if (write && (pte & Paging.W) == 0 && (cpu.load64(m) & COW) != 0 && !cowBreak(cpu, m, mm, va, ptep))
                {
                    // Shared with the other side of a fork: this mm lets go of the line and
                    // faults its own copy in from the memory component (a write miss there
                    // breaks M's copy-on-write as well).
                    k.spin.unlock(cpu, lineLock);
                    cpu.invlpg(va);
                    continue;
                }
                if (write && (pte & Paging.W) == 0)
                {
                    if ((cpu.load64(m) & WRITABLE) == 0)
                    {
                        ok = false;
                    }
                    else
                    {
                        cpu.store64(m, cpu.load64(m) | DIRTY);
                        k.pt.set(cpu, ptep, pte | Paging.W);
                    }
                }
                k.spin.unlock(cpu, lineLock);
                cpu.invlpg(va);
                return faultFn.leave(cpu, ok ? 1 : 0) != 0;
            }
            // A fill of this page by another thread of the process in flight: wait for it.
            boolean busy = false;
            for (long w = 0; w < ways && !busy; w++)
            {
                final long m = meta(cpu, c, set * ways + w);
                busy = (cpu.load64(m) & LOCKED) != 0 && cpu.load64(m + 16) == mm && cpu.load64(m + 24) == va;
            }
            final long line = busy ? -1 : allocLine(cpu, c, set, ways);
            if (line < 0)
            {
                k.spin.unlock(cpu, lock);
                wakeFlushd(cpu, c);
                k.sched.yield(cpu);
                continue;
            }
            final long m = meta(cpu, c, line);
            final long tg = tgid(cpu, k);
            cpu.store64(m, VALID | LOCKED);
            cpu.store64(m + 16, mm);
            cpu.store64(m + 24, va);
            cpu.store64(m + 32, tg);
            k.spin.unlock(cpu, lock);
            faultFn.at(cpu, 0xb3);
            final long lineVa = Layout.va(linePhys(cpu, c, line));
            long flags = victimTryFill(cpu, c, tg, va, lineVa);
            if (flags == 0)
            {
                flags = fill(cpu, c, tg, va, lineVa, write);
            }
            k.spin.lock(cpu, lock);
            if (flags < 0 || (write && (flags & WRITABLE) == 0))
            {
                cpu.store64(m, 0);
                k.spin.unlock(cpu, lock);
                return faultFn.leave(cpu, 0) != 0;
            }
            final boolean dirty = write || (flags & DIRTY) != 0;
            final long ptep2 = walk(cpu, pgd, va);
            k.pt.set(cpu, ptep2, linePhys(cpu, c, line) | Paging.P | Paging.U | (dirty ? Paging.W : 0));
            addRmap(cpu, m, mm, va, ptep2);
            cpu.store64(m, VALID | (flags & WRITABLE) | (dirty ? DIRTY : 0));
            k.spin.unlock(cpu, lock);
            cpu.invlpg(va);
            cpu.xadd(k.spin.atomicSite(), c + C_FILLS, 8, 1);
            return faultFn.leave(cpu, 1) != 0;
        }
    }

    /**
     * The fault path's page-table walk: LegoOS's pcache_handle_fault does pgd_offset, pud_alloc,
     * pmd_alloc and pte_alloc itself (patch lego-pcache-walk-inline, the code of the diary's
     * 03/08 entry), so a bad upper-level entry faults in pcache_handle_fault; otherwise the
     * shared pte_offset_alloc.
     */
    private long walk(final Cpu cpu, final long pgd, final long va)
    {
        return k.patches.enabled("lego-pcache-walk-inline") ? k.pt.pteInline(cpu, faultFn, 0x50, pgd, va) :
            k.pt.pte(cpu, pgd, va, Layout.PAGE_OFFSET, true, true);
    }

    /**
     * pcache_do_wp_page, under the set lock, on a write to a COW line: the last mapper takes the
     * line over (true: upgrade it in place); otherwise this mm's mapping goes (false: fault again).
     */
    private boolean cowBreak(final Cpu cpu, final long m, final long mm, final long va, final long ptep)
    {
        cowFn.enter(cpu);
        long others = 0;
        for (long r = cpu.load64(m + 8); r != 0; )
        {
            final long next = cpu.load64(r);
            others += cpu.load64(r + 8) == mm && cpu.load64(r + 16) == va ? 0 : 1;
            r = next;
        }
        if (others == 0)
        {
            cpu.store64(m, cpu.load64(m) & ~COW);
            cpu.store64(m + 16, mm);
            cpu.store64(m + 24, va);
            cpu.store64(m + 32, cpu.load64(mm + MmStruct.LEGO_TGID));
            return cowFn.leave(cpu, 1) != 0;
        }
        cowFn.at(cpu, 0x40);
        // Other threads of this mm may hold the translation too: shoot it down everywhere.
        dropRmaps(cpu, m, mm, true);
        if (lego.config.pageCsum)
        {
            // What this mm saw in the shared line; its own copy's fill prints the memory node's next.
            final long c = base(cpu);
            final long lineVa = Layout.va(linePhys(cpu, c, (m - cpu.load64(c + C_META)) / META));
            long sum = 0;
            for (long o = 0; o < Layout.PAGE_SIZE; o += 8)
            {
                sum = Lego.csumStep(sum, cpu.load64(lineVa + o));
            }
            k.printk.printk(cpu, String.format("pcache_do_wp_page(): pid:%d tgid:%d address:0x%x shared line csum:0x%x",
                cpu.load64(k.current(cpu) + Task.PID), cpu.load64(mm + MmStruct.LEGO_TGID), va, Lego.fold(sum)));
        }
        return cowFn.leave(cpu, 0) != 0;
    }

    /**
     * Removes mm's rmap entries of a line (clearing their ptes, flushing them if asked); if the
     * owner let go and others still map it, the first of them owns it now. Returns how many remain.
     */
    private long dropRmaps(final Cpu cpu, final long m, final long mm, final boolean flush)
    {
        long prev = m + 8;
        long remaining = 0;
        for (long r = cpu.load64(prev); r != 0; )
        {
            final long next = cpu.load64(r);
            if (cpu.load64(r + 8) == mm)
            {
                k.pt.getAndClear(cpu, cpu.load64(r + 24));
                if (flush)
                {
                    k.smp.flushTlbPage(cpu, pgdPhys(cpu, mm), cpu.load64(r + 16));
                }
                cpu.store64(prev, next);
                k.slab.kfree(cpu, r);
            }
            else
            {
                remaining++;
                prev = r;
            }
            r = next;
        }
        final long first = cpu.load64(m + 8);
        if (first != 0 && cpu.load64(m + 16) == mm)
        {
            final long owner = cpu.load64(first + 8);
            cpu.store64(m + 16, owner);
            cpu.store64(m + 24, cpu.load64(first + 16));
            cpu.store64(m + 32, cpu.load64(owner + MmStruct.LEGO_TGID));
        }
        return remaining;
    }

    private void addRmap(final Cpu cpu, final long m, final long mm, final long uva, final long ptep)
    {
        final long r = k.slab.kmalloc(cpu, lego.slob != null ? RMAP_SIZE : 32);
        cpu.store64(r, cpu.load64(m + 8));
        cpu.store64(r + 8, mm);
        cpu.store64(r + 16, uva);
        cpu.store64(r + 24, ptep);
        cpu.store64(m + 8, r);
    }

    /**
     * __pcache_do_fill_page: asks the memory component for the page; its body lands in the line.
     * Returns WRITABLE if the vma allows writes (0 if not), or -1 for a bad address.
     */
    private long fill(final Cpu cpu, final long c, final long tgid, final long va, final long lineVa, final boolean write)
    {
        fillFn.enter(cpu);
        if (k.patches.enabled("lego-pcache-fill-stats"))
        {
            cpu.load64(Globals.LEGO_NR_MEMORY);
        }
        final long reply = lego.replyBuf(cpu);
        final long st = lego.ibapi.call(cpu, lego.home(cpu, tgid), McManager.OP_PCACHE_MISS, tgid, va, write ? 1 : 0, 0, 0, 0,
            reply, lineVa, Layout.PAGE_SIZE, 0);
        final long vmFlags = cpu.load64(reply + 8);
        final long csum = cpu.load64(reply + 16);
        lego.replyDone(cpu, reply);
        if (st != 0)
        {
            return fillFn.leave(cpu, -1);
        }
        if (lego.config.pageCsum)
        {
            fillFn.at(cpu, 0x100);
            long mine = 0;
            for (long o = 0; o < Layout.PAGE_SIZE; o += 8)
            {
                mine = Lego.csumStep(mine, cpu.load64(lineVa + o));
            }
            final boolean ok = mine == csum;
            if (!ok)
            {
                cpu.xadd(k.spin.atomicSite(), c + C_CSUM_ERRORS, 8, 1);
            }
            k.printk.printk(cpu, String.format("__pcache_do_fill_page(): O pid:%d tgid:%d address:0x%x flags:0x%x ret:%s csum:0x%x%s",
                cpu.load64(k.current(cpu) + Task.PID), tgid, va, write ? 0x51 : 0x50, ok ? "0(OKAY)" : "-74(EBADMSG)",
                Lego.fold(mine), ok ? "" : " expected:0x" + Long.toHexString(Lego.fold(csum))));
        }
        return fillFn.leave(cpu, (vmFlags & MmStruct.VM_WRITE) != 0 ? WRITABLE : 0);
    }

    /** A free way of the set, or a victim evicted to make one; -1 if every way is busy or dirty with no victim slot. */
    private long allocLine(final Cpu cpu, final long c, final long set, final long ways)
    {
        allocFn.enter(cpu);
        for (long w = 0; w < ways; w++)
        {
            if (cpu.load64(meta(cpu, c, set * ways + w)) == 0)
            {
                return allocFn.leave(cpu, set * ways + w);
            }
        }
        // One hand for every set, and each set has its own lock: an atomic increment.
        final long hand = cpu.xadd(k.spin.atomicSite(), c + C_HAND, 8, 1);
        for (long i = 0; i < ways; i++)
        {
            final long line = set * ways + (hand + i) % ways;
            if ((cpu.load64(meta(cpu, c, line)) & LOCKED) == 0 && evict(cpu, c, line))
            {
                return allocFn.leave(cpu, line);
            }
        }
        return allocFn.leave(cpu, -1);
    }

    /** Under the set lock: unmaps the line everywhere (rmap walk, TLB flush); a dirty one moves to the victim cache. */
    private boolean evict(final Cpu cpu, final long c, final long line)
    {
        evictFn.enter(cpu);
        final long m = meta(cpu, c, line);
        final long flags = cpu.load64(m);
        if (lego.sys.serializesMremap() && moving(cpu, c, cpu.load64(m + 32), cpu.load64(m + 24)))
        {
            // An mremap of this page is under way: its data must reach the memory component by
            // the move (or stay in the line), not by a writeback to the old address afterwards.
            return evictFn.leave(cpu, 0) != 0;
        }
        if ((flags & DIRTY) != 0)
        {
            final boolean f = k.spin.lockIrqSave(cpu, c + C_VLOCK);
            long slot = -1;
            // With its pages from the buddy allocator (lego-victim-page-alloc) the victim cache
            // is a ring: each eviction takes the first free slot after the last one taken, so
            // every slot, and its page, is used in turn. Otherwise the first free slot.
            final long from = victimPagesAllocated ? cpu.load64(c + C_VRING) : 0;
            for (int j = 0; j < VICTIMS && slot < 0; j++)
            {
                final long i = (from + j) % VICTIMS;
                if (cpu.load64(c + C_VICTIM + i * 32L) == 0)
                {
                    slot = i;
                }
            }
            if (victimPagesAllocated && slot >= 0)
            {
                cpu.store64(c + C_VRING, (slot + 1) % VICTIMS);
            }
            if (slot < 0)
            {
                k.spin.unlockIrqRestore(cpu, c + C_VLOCK, f);
                return evictFn.leave(cpu, 0) != 0;
            }
            final long v = c + C_VICTIM + slot * 32;
            // Reserved (4) while the TLBs are shot down: that waits for every cpu, so not with
            // interrupts off under the victim lock another cpu may be spinning on. A fault on the
            // page from now until the copy is in must wait for it (victimTryFill).
            cpu.store64(v, V_RESERVED);
            k.spin.unlockIrqRestore(cpu, c + C_VLOCK, f);
            final long dst = victimPage(cpu, c, (int)slot, true);
            final long src = Layout.va(linePhys(cpu, c, line));
            // Unmap first, so no write can slip in after the copy.
            unmapLine(cpu, m);
            evictFn.at(cpu, 0x80);
            for (long o = 0; o < Layout.PAGE_SIZE; o += 8)
            {
                cpu.store64(dst + o, cpu.load64(src + o));
            }
            // victim_submit_flush: the job for kvictim_flushd, which frees it.
            final long info = flushInfo ? k.slab.kmalloc(cpu, FLUSH_INFO) : 0;
            final boolean g = k.spin.lockIrqSave(cpu, c + C_VLOCK);
            cpu.store64(v + 8, cpu.load64(m + 32));
            cpu.store64(v + 16, cpu.load64(m + 24));
            cpu.store64(v, 1);
            if (info != 0)
            {
                cpu.store64(info + 16, slot);
                cpu.store64(info + 24, cpu.load64(m + 32));
                cpu.store64(info + 32, cpu.load64(m + 24));
                cpu.store64(info + 40, 0);
                Lists.addTail(cpu, info, c + C_FLUSH_LIST);
            }
            k.spin.unlockIrqRestore(cpu, c + C_VLOCK, g);
        }
        else
        {
            unmapLine(cpu, m);
        }
        cpu.store64(m, 0);
        cpu.xadd(k.spin.atomicSite(), c + C_EVICTIONS, 8, 1);
        return evictFn.leave(cpu, 1) != 0;
    }

    /** Whether (tgid, uva) lies in a range an mremap is moving (under the victim lock). */
    private boolean moving(final Cpu cpu, final long c, final long tgid, final long uva)
    {
        final boolean f = k.spin.lockIrqSave(cpu, c + C_VLOCK);
        boolean in = false;
        for (int i = 0; i < MOVING_SLOTS && !in; i++)
        {
            final long s = c + C_MOVING + i * 24L;
            in = cpu.load64(s) == tgid && tgid != 0 && Long.compareUnsigned(uva, cpu.load64(s + 8)) >= 0 &&
                Long.compareUnsigned(uva, cpu.load64(s + 16)) < 0;
        }
        k.spin.unlockIrqRestore(cpu, c + C_VLOCK, f);
        return in;
    }

    /**
     * mremap on P, before asking M to move [start, end): no line of the range leaves for the
     * victim cache from now on, and the range's victims are written back (those a flush already
     * has in flight included): everything the range holds is on M before M moves it.
     */
    void beginMove(final Cpu cpu, final long tgid, final long start, final long end)
    {
        final long c = base(cpu);
        final long slot = c + C_MOVING + (cpu.apicId() % MOVING_SLOTS) * 24L;
        final boolean f = k.spin.lockIrqSave(cpu, c + C_VLOCK);
        cpu.store64(slot + 8, start);
        cpu.store64(slot + 16, end);
        cpu.store64(slot, tgid);
        k.spin.unlockIrqRestore(cpu, c + C_VLOCK, f);
        while (true)
        {
            flushVictims(cpu, c, tgid, start, end);
            boolean busy = false;
            final boolean g = k.spin.lockIrqSave(cpu, c + C_VLOCK);
            for (int i = 0; i < VICTIMS && !busy; i++)
            {
                final long v = c + C_VICTIM + i * 32L;
                // A slot reserved by an eviction that began before the range was registered: its
                // owner is written after the copy, so wait for it whoever it is.
                final long flags = cpu.load64(v);
                busy = flags == V_RESERVED || flags != 0 && cpu.load64(v + 8) == tgid && Long.compareUnsigned(cpu.load64(v + 16), start) >= 0 &&
                    Long.compareUnsigned(cpu.load64(v + 16), end) < 0;
            }
            k.spin.unlockIrqRestore(cpu, c + C_VLOCK, g);
            if (!busy)
            {
                return;
            }
            k.sched.yield(cpu);
        }
    }

    /** The move is done (ptes and rmaps at the new address): the range's lines may be evicted again. */
    void endMove(final Cpu cpu)
    {
        final long c = base(cpu);
        final long slot = c + C_MOVING + (cpu.apicId() % MOVING_SLOTS) * 24L;
        final boolean f = k.spin.lockIrqSave(cpu, c + C_VLOCK);
        cpu.store64(slot, 0);
        k.spin.unlockIrqRestore(cpu, c + C_VLOCK, f);
    }

    private void unmapLine(final Cpu cpu, final long m)
    {
        final long c = base(cpu);
        long r = cpu.load64(m + 8);
        while (r != 0)
        {
            evictFn.at(cpu, 0x140);
            final long next = cpu.load64(r);
            if (rmapMatchesPte(cpu, c, m, r))
            {
                k.pt.getAndClear(cpu, cpu.load64(r + 24));
                k.smp.flushTlbPage(cpu, pgdPhys(cpu, cpu.load64(r + 8)), cpu.load64(r + 16));
            }
            k.slab.kfree(cpu, r);
            r = next;
        }
        cpu.store64(m + 8, 0);
    }

    /**
     * The rmap walk's check (rmap_get_locked_pte): the pte the rmap entry names must map this
     * line. If it maps another line (or nothing), the entry is stale: say so, as LegoOS does, and
     * leave that pte alone (it is not ours to clear).
     */
    private boolean rmapMatchesPte(final Cpu cpu, final long c, final long m, final long r)
    {
        final long ptep = cpu.load64(r + 24);
        final long pte = cpu.load64(ptep);
        final long line = (m - cpu.load64(c + C_META)) / META;
        final long pcachePfn = linePhys(cpu, c, line) >>> Layout.PAGE_SHIFT;
        final long ptePfn = (pte & Paging.ADDR_MASK) >>> Layout.PAGE_SHIFT;
        if ((pte & Paging.P) != 0 && ptePfn == pcachePfn)
        {
            return true;
        }
        final long mm = cpu.load64(r + 8);
        final long uva = cpu.load64(r + 16);
        final long walked = k.pt.pte(cpu, pgdPhys(cpu, mm), uva, Layout.PAGE_OFFSET, false, true);
        String comm = k.sched.comm(cpu, owner(cpu, mm));
        if (comm.length() > 15)
        {
            comm = comm.substring(0, 15);
        }
        k.printk.printk(cpu, "****    ERROR: mismatched PTE and rmap");
        k.printk.printk(cpu, String.format("****    rmap->owner_process: %s uva: 0x%x ptep: %x, rmap->page_table: %x", comm, uva,
            walked, ptep));
        k.printk.printk(cpu, String.format("****    pcache_pfn: 0x%x, pte_pfn: 0x%x", pcachePfn, ptePfn));
        return false;
    }

    /**
     * The rmap's owner process (LegoOS keeps it in the rmap; ours has no room for it): the
     * current task if it uses mm (an exit, an eviction by a fault), else the first task on the
     * task list that does (the sweep thread's walk).
     */
    private long owner(final Cpu cpu, final long mm)
    {
        final long me = k.current(cpu);
        if (cpu.load64(me + Task.MM) == mm)
        {
            return me;
        }
        final boolean f = k.spin.lockIrqSave(cpu, Globals.TASKLIST_LOCK);
        long found = me;
        for (long n = cpu.load64(Globals.TASK_LIST); n != Globals.TASK_LIST; n = cpu.load64(n))
        {
            if (cpu.load64(n - Task.TASKS + Task.MM) == mm)
            {
                found = n - Task.TASKS;
                break;
            }
        }
        k.spin.unlockIrqRestore(cpu, Globals.TASKLIST_LOCK, f);
        return found;
    }

    /**
     * victim_try_fill_pcache: a dirty page evicted but not yet written back is taken back from the
     * victim cache. LegoOS inserts a victim in two steps, its hit entries (owner, address) before
     * the line is unmapped and its data after (victim_prepare_insert, victim_finish_insert), and a
     * fill that hits a victim without data waits for it (wait_victim_has_data): the memory
     * component does not have that data. Our slots name their page only with the data, so a fill
     * that finds a slot still reserved by an eviction waits for it whatever its page: the line
     * being copied may be this page's. That matters for a line mremap moved, which stays in its
     * old set: the fault on its new address takes another set's lock than its eviction holds, and
     * can come between the unmap and the copy.
     */
    private long victimTryFill(final Cpu cpu, final long c, final long tgid, final long va, final long lineVa)
    {
        victimFillFn.enter(cpu);
        while (true)
        {
            final boolean f = k.spin.lockIrqSave(cpu, c + C_VLOCK);
            boolean pending = false;
            for (int i = 0; i < VICTIMS; i++)
            {
                final long v = c + C_VICTIM + i * 32L;
                final long flags = cpu.load64(v);
                if ((flags & 1) != 0 && cpu.load64(v + 8) == tgid && cpu.load64(v + 16) == va)
                {
                    final long src = victimPage(cpu, c, i, false);
                    for (long o = 0; o < Layout.PAGE_SIZE; o += 8)
                    {
                        cpu.store64(lineVa + o, cpu.load64(src + o));
                    }
                    // A flush in flight frees the slot when it is done; otherwise it is free now.
                    cpu.store64(v, cpu.load64(v) & ~1L);
                    cpu.xadd(k.spin.atomicSite(), c + C_VICTIM_HITS, 8, 1);
                    k.spin.unlockIrqRestore(cpu, c + C_VLOCK, f);
                    return victimFillFn.leave(cpu, WRITABLE | DIRTY);
                }
                pending |= flags == V_RESERVED;
            }
            k.spin.unlockIrqRestore(cpu, c + C_VLOCK, f);
            if (!pending)
            {
                return victimFillFn.leave(cpu, 0);
            }
            // wait_victim_has_data (out of line, at the end): the eviction is copying the line; its data is not home yet.
            victimFillFn.at(cpu, 0x370);
            k.sched.yield(cpu);
        }
    }

    private void wakeFlushd(final Cpu cpu, final long c)
    {
        final long t = cpu.load64(c + C_FLUSHD);
        if (t != 0)
        {
            k.sched.wakeUp(cpu, t);
        }
    }

    /** kvictim_flushd: writes the victim cache's pages back to the memory component. */
    private void flushdBody(final Cpu cpu)
    {
        flushdFn.prologue(cpu);
        final long c = base(cpu);
        while (true)
        {
            flushdFn.at(cpu, 0x20);
            if (!(flushInfo ? flushQueued(cpu, c) : flushVictims(cpu, c, -1, 0, -1)))
            {
                lego.ibapi.sleepTimeout(cpu, c + C_TIMER, 1);
            }
        }
    }

    /**
     * victim_flush_func: writes back the valid victims of tgid in [start, end) (tgid -1: all),
     * each marked flushing while its message is out. True if it wrote any.
     */
    boolean flushVictims(final Cpu cpu, final long c, final long tgid, final long start, final long end)
    {
        flushOneFn.enter(cpu);
        if (k.patches.enabled("lego-pcache-victim-stats"))
        {
            cpu.xadd(k.spin.atomicSite(), c + C_FLUSH_PASSES, 8, 1);
        }
        boolean any = false;
        for (int i = 0; i < VICTIMS; i++)
        {
            flushOneFn.at(cpu, 0x10);
            final long v = c + C_VICTIM + i * 32L;
            final boolean f = k.spin.lockIrqSave(cpu, c + C_VLOCK);
            final long flags = cpu.load64(v);
            final long owner = cpu.load64(v + 8);
            final long uva = cpu.load64(v + 16);
            final boolean pick = flags == 1 && (tgid < 0 || owner == tgid && Long.compareUnsigned(uva, start) >= 0 &&
                Long.compareUnsigned(uva, end) < 0);
            if (pick)
            {
                cpu.store64(v, 3);
            }
            k.spin.unlockIrqRestore(cpu, c + C_VLOCK, f);
            if (!pick)
            {
                continue;
            }
            flushOneFn.at(cpu, 0x80);
            writeback(cpu, owner, uva, victimPage(cpu, c, i, false));
            final boolean g = k.spin.lockIrqSave(cpu, c + C_VLOCK);
            cpu.store64(v, 0);
            k.spin.unlockIrqRestore(cpu, c + C_VLOCK, g);
            any = true;
        }
        flushOneFn.leave(cpu);
        return any;
    }

    /**
     * victim_flush_func with victim_flush_info jobs (lego-victim-flush-info): takes each queued job
     * off the list, writes its victim back if the slot still holds it (a flush by mremap or exit
     * may have taken it first) and kfree()s the job. True if it wrote any.
     */
    private boolean flushQueued(final Cpu cpu, final long c)
    {
        flushOneFn.enter(cpu);
        boolean any = false;
        while (true)
        {
            flushOneFn.at(cpu, 0x10);
            final boolean f = k.spin.lockIrqSave(cpu, c + C_VLOCK);
            if (Lists.empty(cpu, c + C_FLUSH_LIST))
            {
                k.spin.unlockIrqRestore(cpu, c + C_VLOCK, f);
                break;
            }
            final long info = Lists.first(cpu, c + C_FLUSH_LIST);
            Lists.del(cpu, info);
            final long slot = cpu.load64(info + 16);
            final long owner = cpu.load64(info + 24);
            final long uva = cpu.load64(info + 32);
            final long v = c + C_VICTIM + (slot & (VICTIMS - 1)) * 32;
            final boolean pick = cpu.load64(v) == 1 && cpu.load64(v + 8) == owner && cpu.load64(v + 16) == uva;
            if (pick)
            {
                cpu.store64(v, 3);
            }
            k.spin.unlockIrqRestore(cpu, c + C_VLOCK, f);
            if (pick)
            {
                flushOneFn.at(cpu, 0x80);
                writeback(cpu, owner, uva, victimPage(cpu, c, (int)(slot & (VICTIMS - 1)), false));
                final boolean g = k.spin.lockIrqSave(cpu, c + C_VLOCK);
                cpu.store64(v, 0);
                k.spin.unlockIrqRestore(cpu, c + C_VLOCK, g);
                any = true;
            }
            flushOneFn.at(cpu, 0x15e);
            k.slab.kfree(cpu, info);
        }
        flushOneFn.leave(cpu);
        return any;
    }

    /**
     * The page of victim slot i: one of the reserved pages, or (lego-victim-page-alloc) the page
     * the slot keeps at +24, allocated by the first eviction that needs it (alloc: under the
     * slot's reservation, flags 4).
     */
    private long victimPage(final Cpu cpu, final long c, final int i, final boolean alloc)
    {
        if (!victimPagesAllocated)
        {
            return cpu.load64(c + C_VPAGES) + (long)i * Layout.PAGE_SIZE;
        }
        final long v = c + C_VICTIM + i * 32L;
        long page = cpu.load64(v + 24);
        if (page == 0 && alloc)
        {
            evictFn.at(cpu, 0x70);
            page = PageAlloc.pageAddress(k.pages.allocPage(cpu));
            cpu.store64(v + 24, page);
        }
        return page;
    }

    /**
     * victim_release_range (patch lego-victim-page-alloc), from SYSC_mprotect before the memory
     * component changes the range: every slot that holds a victim of tgid in [start, end), or
     * held one the flush thread has written back since (a slot keeps its last victim's tgid and
     * uva), gives its page back to the buddy allocator, as the range's data is home now (a valid
     * one is written back first). So what is freed depends on which slots the range's evictions
     * used, not on how far kvictim_flushd has got. Without lego-victim-page-clear the slot keeps
     * the freed page's address, and the next eviction into it (the ring reaches every slot in
     * turn) copies its line there, into whatever the page has become since.
     */
    void releaseVictims(final Cpu cpu, final long tgid, final long start, final long end)
    {
        releaseFn.enter(cpu);
        final long c = base(cpu);
        for (int i = 0; i < VICTIMS; i++)
        {
            releaseFn.at(cpu, 0x10);
            final long v = c + C_VICTIM + i * 32L;
            final boolean f = k.spin.lockIrqSave(cpu, c + C_VLOCK);
            final long flags = cpu.load64(v);
            final long uva = cpu.load64(v + 16);
            final boolean pick = (flags == 1 || flags == 0) && cpu.load64(v + 24) != 0 && cpu.load64(v + 8) == tgid &&
                Long.compareUnsigned(uva, start) >= 0 && Long.compareUnsigned(uva, end) < 0;
            if (pick)
            {
                cpu.store64(v, flags == 1 ? 3 : 4);
            }
            k.spin.unlockIrqRestore(cpu, c + C_VLOCK, f);
            if (!pick)
            {
                continue;
            }
            final long page = cpu.load64(v + 24);
            if (flags == 1)
            {
                releaseFn.at(cpu, 0x60);
                writeback(cpu, tgid, uva, page);
            }
            final boolean g = k.spin.lockIrqSave(cpu, c + C_VLOCK);
            releaseFn.at(cpu, 0xa0);
            k.pages.freePage(cpu, k.pages.physToPage(Layout.pa(page)));
            if (k.patches.enabled("lego-victim-page-clear"))
            {
                cpu.store64(v + 24, 0);
            }
            // Empty now: no victim, no last owner (a slot is released once for what it held).
            cpu.store64(v + 8, 0);
            cpu.store64(v + 16, 0);
            cpu.store64(v, 0);
            k.spin.unlockIrqRestore(cpu, c + C_VLOCK, g);
        }
        releaseFn.leave(cpu);
    }

    /** Whether mprotect gives the range's victim pages back (lego-victim-page-alloc). */
    boolean releasesVictimPages()
    {
        return victimPagesAllocated;
    }

    private void writeback(final Cpu cpu, final long tgid, final long uva, final long page)
    {
        final long reply = lego.replyBuf(cpu);
        long msg = 0;
        long body = page;
        if (lego.slob != null)
        {
            // LegoOS's flush message carries the page after its header: kmalloc'ed (SLOB's large path), the page copied in.
            msg = k.slab.kmalloc(cpu, FLUSH_MSG + Layout.PAGE_SIZE);
            body = msg + FLUSH_MSG;
            k.pages.copyPage(cpu, body, page);
        }
        lego.ibapi.call(cpu, lego.home(cpu, tgid), McManager.OP_WRITEBACK, tgid, uva, 0, 0, body, Layout.PAGE_SIZE, reply, 0, 0, 0);
        if (msg != 0)
        {
            k.slab.kfree(cpu, msg);
        }
        lego.replyDone(cpu, reply);
        final long c = base(cpu);
        cpu.xadd(k.spin.atomicSite(), c + C_WRITEBACKS, 8, 1);
    }

    // ------------------------------------------------------------------ address-space changes

    /**
     * pcache_move_pte (mremap moved [from, from+len) to to): each mapped page's pte moves and its
     * line's rmap follows it (uva, ptep), under the line's set lock; the old range is flushed after.
     */
    void movePtes(final Cpu cpu, final long mm, final long from, final long to, final long len)
    {
        if (!lego.sys.serializesMremap())
        {
            movePtesRmapUnlocked(cpu, mm, from, to, len);
            return;
        }
        movePteFn.enter(cpu);
        final long c = base(cpu);
        final long pgd = pgdPhys(cpu, mm);
        final long sets = cpu.load64(c + C_SETS);
        final long ways = cpu.load64(c + C_WAYS);
        for (long off = 0; off < len; off += Layout.PAGE_SIZE)
        {
            movePteFn.at(cpu, 0x10);
            final long optep = k.pt.pte(cpu, pgd, from + off, Layout.PAGE_OFFSET, false, true);
            if (optep == 0 || (cpu.load64(optep) & Paging.P) == 0)
            {
                continue;
            }
            final long line = lineOfPhys(cpu, c, cpu.load64(optep));
            final long lock = setLock(cpu, c, line / ways);
            movePteFn.at(cpu, 0x30);
            k.spin.lock(cpu, lock);
            if (lego.sys.serializesMremap() && lineOfPhys(cpu, c, cpu.load64(optep)) != line)
            {
                // The line went (evicted, or another line took the pte) between the look and the lock.
                k.spin.unlock(cpu, lock);
                continue;
            }
            final long pte = k.pt.getAndClear(cpu, optep);
            final long nptep = k.pt.pte(cpu, pgd, to + off, Layout.PAGE_OFFSET, true, true);
            k.pt.set(cpu, nptep, pte);
            final long m = meta(cpu, c, line);
            for (long r = cpu.load64(m + 8); r != 0; r = cpu.load64(r))
            {
                if (cpu.load64(r + 8) == mm && cpu.load64(r + 16) == from + off)
                {
                    cpu.store64(r + 16, to + off);
                    cpu.store64(r + 24, nptep);
                }
            }
            cpu.store64(m + 24, to + off);
            k.spin.unlock(cpu, lock);
        }
        k.smp.flushTlbRange(cpu, pgd, from, from + len);
        movePteFn.leave(cpu, sets);
    }

    /**
     * pcache_move_pte as LegoOS had it before 02/06 (patch lego-pcache-move-pte): each pte moves
     * under its line's set lock, but the line's rmap follows it only after the lock is dropped
     * (the mremap path did not go through rmap_get_locked_pte). Alone that is only a window; two
     * threads' mremaps on two cpus, with nothing ordering them on the processor, meet in it: when
     * one moves A to B while the other moves C to A, the second's pte move can land on A before the
     * first moved A's pte away, and the first then takes the second's line to B while its rmap
     * update (or the other's) is still to come, leaving a line whose rmap names a pte that maps
     * another line (the diary's "mismatched PTE and rmap").
     */
    private void movePtesRmapUnlocked(final Cpu cpu, final long mm, final long from, final long to, final long len)
    {
        movePteFn.enter(cpu);
        final long c = base(cpu);
        final long pgd = pgdPhys(cpu, mm);
        final long ways = cpu.load64(c + C_WAYS);
        for (long off = 0; off < len; off += Layout.PAGE_SIZE)
        {
            movePteFn.at(cpu, 0x10);
            final long optep = k.pt.pte(cpu, pgd, from + off, Layout.PAGE_OFFSET, false, true);
            if (optep == 0)
            {
                continue;
            }
            // A peek to find the set lock; the pte is read again under it.
            final long peek = Once.read64(cpu, optep);
            if ((peek & Paging.P) == 0)
            {
                continue;
            }
            final long lock = setLock(cpu, c, lineOfPhys(cpu, c, peek) / ways);
            movePteFn.at(cpu, 0x30);
            k.spin.lock(cpu, lock);
            final long now = cpu.load64(optep);
            if ((now & Paging.P) == 0 || setLock(cpu, c, lineOfPhys(cpu, c, now) / ways) != lock)
            {
                // Gone, or another set's line by now: look again.
                k.spin.unlock(cpu, lock);
                off -= (now & Paging.P) != 0 ? Layout.PAGE_SIZE : 0;
                continue;
            }
            final long pte = k.pt.getAndClear(cpu, optep);
            final long line = lineOfPhys(cpu, c, pte);
            final long nptep = k.pt.pte(cpu, pgd, to + off, Layout.PAGE_OFFSET, true, true);
            k.pt.set(cpu, nptep, pte);
            k.spin.unlock(cpu, lock);
            // The rmap follows outside the lock every rmap walker takes (the bug).
            movePteFn.at(cpu, 0x60);
            final long m = meta(cpu, c, line);
            for (long r = cpu.load64(m + 8); r != 0; r = cpu.load64(r))
            {
                if (cpu.load64(r + 8) == mm && cpu.load64(r + 16) == from + off)
                {
                    cpu.store64(r + 16, to + off);
                    cpu.store64(r + 24, nptep);
                }
            }
            cpu.store64(m + 24, to + off);
        }
        k.smp.flushTlbRange(cpu, pgd, from, from + len);
        movePteFn.leave(cpu);
    }

    /** mprotect on the processor: the range's lines take the write permission; without it their ptes lose W. */
    void protectRange(final Cpu cpu, final long mm, final long start, final long end, final boolean write)
    {
        zapFn.enter(cpu);
        final long c = base(cpu);
        final long pgd = pgdPhys(cpu, mm);
        final long ways = cpu.load64(c + C_WAYS);
        for (long a = start; a < end; a += Layout.PAGE_SIZE)
        {
            zapFn.at(cpu, 0x60);
            final long ptep = k.pt.pte(cpu, pgd, a, Layout.PAGE_OFFSET, false, true);
            if (ptep == 0 || (cpu.load64(ptep) & Paging.P) == 0)
            {
                continue;
            }
            final long line = lineOfPhys(cpu, c, cpu.load64(ptep));
            final long lock = setLock(cpu, c, line / ways);
            k.spin.lock(cpu, lock);
            final long m = meta(cpu, c, line);
            cpu.store64(m, write ? cpu.load64(m) | WRITABLE : cpu.load64(m) & ~WRITABLE);
            if (!write)
            {
                k.pt.set(cpu, ptep, cpu.load64(ptep) & ~Paging.W);
            }
            k.spin.unlock(cpu, lock);
        }
        k.smp.flushTlbRange(cpu, pgd, start, end);
        zapFn.leave(cpu);
    }

    /** munmap (or a shrinking mremap) on the processor: the range's lines are dropped (their data goes with it). */
    void zapRange(final Cpu cpu, final long mm, final long start, final long end)
    {
        zapFn.enter(cpu);
        final long c = base(cpu);
        final long pgd = pgdPhys(cpu, mm);
        final long ways = cpu.load64(c + C_WAYS);
        for (long a = start; a < end; a += Layout.PAGE_SIZE)
        {
            zapFn.at(cpu, 0x10);
            final long ptep = k.pt.pte(cpu, pgd, a, Layout.PAGE_OFFSET, false, true);
            if (ptep == 0 || (cpu.load64(ptep) & Paging.P) == 0)
            {
                continue;
            }
            final long line = lineOfPhys(cpu, c, cpu.load64(ptep));
            final long lock = setLock(cpu, c, line / ways);
            k.spin.lock(cpu, lock);
            final long m = meta(cpu, c, line);
            if ((cpu.load64(m) & COW) != 0)
            {
                // Shared with a fork's other side: only this mm's mappings go.
                if (dropRmaps(cpu, m, mm, true) == 0)
                {
                    cpu.store64(m, 0);
                }
            }
            else
            {
                unmapLine(cpu, m);
                cpu.store64(m, 0);
            }
            k.spin.unlock(cpu, lock);
        }
        dropVictims(cpu, c, tgid(cpu, k), start, end);
        zapFn.leave(cpu);
    }

    private void dropVictims(final Cpu cpu, final long c, final long tgid, final long start, final long end)
    {
        final boolean f = k.spin.lockIrqSave(cpu, c + C_VLOCK);
        for (int i = 0; i < VICTIMS; i++)
        {
            final long v = c + C_VICTIM + i * 32L;
            if (cpu.load64(v) == 1 && cpu.load64(v + 8) == tgid && Long.compareUnsigned(cpu.load64(v + 16), start) >= 0 &&
                Long.compareUnsigned(cpu.load64(v + 16), end) < 0)
            {
                cpu.store64(v, 0);
            }
        }
        k.spin.unlockIrqRestore(cpu, c + C_VLOCK, f);
    }

    /** pcache_exit_process: every line mapped by mm loses its rmap entries; unmapped lines are freed. */
    public void exitProcess(final Cpu cpu, final long mm)
    {
        exitFn.enter(cpu);
        final long c = base(cpu);
        final long sets = cpu.load64(c + C_SETS);
        final long ways = cpu.load64(c + C_WAYS);
        final long tg = cpu.load64(mm + MmStruct.LEGO_TGID);
        final boolean cow = k.patches.enabled("lego-pcache-fork-cow");
        for (long s = 0; s < sets; s++)
        {
            exitFn.at(cpu, 0x10);
            final long lock = setLock(cpu, c, s);
            k.spin.lock(cpu, lock);
            for (long w = 0; w < ways; w++)
            {
                final long m = meta(cpu, c, s * ways + w);
                if (cow && cpu.load64(m) != 0)
                {
                    // A line shared at fork may be owned by the other side and still mapped by it.
                    if (dropRmaps(cpu, m, mm, false) == 0 && cpu.load64(m + 16) == mm)
                    {
                        cpu.store64(m, 0);
                    }
                }
                else if (cpu.load64(m) != 0 && cpu.load64(m + 16) == mm)
                {
                    long r = cpu.load64(m + 8);
                    while (r != 0)
                    {
                        final long next = cpu.load64(r);
                        if (rmapMatchesPte(cpu, c, m, r))
                        {
                            k.pt.getAndClear(cpu, cpu.load64(r + 24));
                        }
                        k.slab.kfree(cpu, r);
                        r = next;
                    }
                    cpu.store64(m + 8, 0);
                    cpu.store64(m, 0);
                }
            }
            k.spin.unlock(cpu, lock);
        }
        dropVictims(cpu, c, tg, 0, -1L);
        exitFn.leave(cpu);
        if (tg != 0)
        {
            lego.sys.exit(cpu, tg);
        }
    }

    /**
     * pcache_flush_mm (fork): every dirty line of mm is written back and its ptes made read-only
     * again, each with a TLB flush, so the memory component copies what the parent wrote and the
     * parent's next write is seen (it faults and marks the line dirty once more).
     */
    void flushMm(final Cpu cpu, final long mm, final long tgid)
    {
        flushMmFn.enter(cpu);
        final long c = base(cpu);
        final long sets = cpu.load64(c + C_SETS);
        final long ways = cpu.load64(c + C_WAYS);
        final long page = k.pages.getZeroedPage(cpu);
        for (long line = 0; line < sets * ways; line++)
        {
            flushMmFn.at(cpu, 0x10);
            final long m = meta(cpu, c, line);
            final long lock = setLock(cpu, c, line / ways);
            k.spin.lock(cpu, lock);
            final long flags = cpu.load64(m);
            if ((flags & DIRTY) == 0 || (flags & LOCKED) != 0 || cpu.load64(m + 16) != mm)
            {
                k.spin.unlock(cpu, lock);
                continue;
            }
            for (long r = cpu.load64(m + 8); r != 0; r = cpu.load64(r))
            {
                final long ptep = cpu.load64(r + 24);
                k.pt.set(cpu, ptep, cpu.load64(ptep) & ~Paging.W);
                flushMmFn.at(cpu, 0x60);
                k.smp.flushTlbPage(cpu, pgdPhys(cpu, mm), cpu.load64(r + 16));
            }
            final long src = Layout.va(linePhys(cpu, c, line));
            for (long o = 0; o < Layout.PAGE_SIZE; o += 8)
            {
                cpu.store64(page + o, cpu.load64(src + o));
            }
            cpu.store64(m, flags & ~DIRTY);
            final long uva = cpu.load64(m + 24);
            k.spin.unlock(cpu, lock);
            writeback(cpu, tgid, uva, page);
        }
        k.pages.freePage(cpu, k.pages.physToPage(Layout.pa(page)));
        flushVictims(cpu, c, tgid, 0, -1L);
        flushMmFn.leave(cpu);
    }

    /**
     * fork_dup_pcache (patch lego-pcache-fork-cow), from p2m_fork: the child maps every line the
     * parent maps, both read-only and the line copy-on-write (the first write fault of either side
     * gets it its own copy, {@link #cowBreak}); dirty lines go home first, so the memory
     * component's copy for the child is the parent's data. The parent's ptes lose W here, so its
     * TLB entries must go too (patch lego-fork-cow-flush-tlb): a stale writable entry lets the
     * parent keep writing the line the child reads.
     */
    void forkDup(final Cpu cpu, final long parentMm, final long childMm, final long tgid)
    {
        dupFn.enter(cpu);
        final long c = base(cpu);
        final long sets = cpu.load64(c + C_SETS);
        final long ways = cpu.load64(c + C_WAYS);
        final long parentPgd = pgdPhys(cpu, parentMm);
        final long childPgd = pgdPhys(cpu, childMm);
        final boolean flush = k.patches.enabled("lego-fork-cow-flush-tlb");
        final long page = k.pages.getZeroedPage(cpu);
        for (long line = 0; line < sets * ways; line++)
        {
            dupFn.at(cpu, 0x10);
            final long m = meta(cpu, c, line);
            final long lock = setLock(cpu, c, line / ways);
            k.spin.lock(cpu, lock);
            final long flags = cpu.load64(m);
            if ((flags & VALID) == 0 || (flags & LOCKED) != 0)
            {
                k.spin.unlock(cpu, lock);
                continue;
            }
            boolean mapped = false;
            for (long r = cpu.load64(m + 8), next; r != 0; r = next)
            {
                next = cpu.load64(r);
                if (cpu.load64(r + 8) != parentMm)
                {
                    continue;
                }
                mapped = true;
                final long ptep = cpu.load64(r + 24);
                final long uva = cpu.load64(r + 16);
                final long pte = cpu.load64(ptep) & ~Paging.W;
                dupFn.at(cpu, 0x60);
                k.pt.set(cpu, ptep, pte);
                if (flush)
                {
                    k.smp.flushTlbPage(cpu, parentPgd, uva);
                }
                dupFn.at(cpu, 0x90);
                final long cptep = k.pt.pte(cpu, childPgd, uva, Layout.PAGE_OFFSET, true, true);
                k.pt.set(cpu, cptep, pte);
                addRmap(cpu, m, childMm, uva, cptep);
            }
            if (!mapped)
            {
                k.spin.unlock(cpu, lock);
                continue;
            }
            final boolean dirty = (flags & DIRTY) != 0;
            if (dirty)
            {
                final long src = Layout.va(linePhys(cpu, c, line));
                for (long o = 0; o < Layout.PAGE_SIZE; o += 8)
                {
                    cpu.store64(page + o, cpu.load64(src + o));
                }
            }
            // A dirty line stays LOCKED until its data is home: a write fault of another thread
            // of the parent in between would break the COW and fault in the memory component's
            // older copy (the fault path waits for LOCKED lines).
            cpu.store64(m, (flags & ~DIRTY) | COW | (dirty ? LOCKED : 0));
            final long owner = cpu.load64(m + 32);
            final long uva = cpu.load64(m + 24);
            k.spin.unlock(cpu, lock);
            if (dirty)
            {
                writeback(cpu, owner, uva, page);
                k.spin.lock(cpu, lock);
                cpu.store64(m, cpu.load64(m) & ~LOCKED);
                k.spin.unlock(cpu, lock);
            }
        }
        k.pages.freePage(cpu, k.pages.physToPage(Layout.pa(page)));
        flushVictims(cpu, c, tgid, 0, -1L);
        dupFn.leave(cpu);
    }
}
