package palimpsest.kernel.patches;

/**
 * The LegoOS branch of the series (see {@link PatchSeries}): the main line's built-ins plus the
 * diary's patches, each bug in its own window (a bad tag) closed by its fix (a good tag), with
 * noise patches around every bug so a bisect has real candidates. Kernel code asks
 * {@link #active} whether a bug's code runs: the bug patch is in and its fix is not (head and
 * the main-line tags have neither: fixed).
 *
 * <pre>
 *  lego branch (diary of February 2018)                                          tags
 *  lego-no-slab-poison          feature: LegoOS has no slab poisoning (freed objects keep their bytes)
 *  lego-ibapi-stats             noise:   ibapi counts the bytes it sends
 *                                                                                <- lego-2018-02-01
 *  lego-pcache-move-pte         BUG:     mremap on P: pcache_move_pte moves each pte under its set lock
 *                                        but updates the line's rmap after dropping it, and nothing orders
 *                                        two threads' mremaps on P (A to B and C to A meet in the window)
 *  lego-mremap-trace            noise:   SYSC_mremap reads the victim count before flushing
 *                                                                                <- lego-2018-02-05 (bad)
 *  lego-mremap-lock             fix:     SYSC_mremap holds the process's mremap lock from M's move to
 *                                        the last pcache_move_pte, which moves pte and rmap together under
 *                                        the set lock; mmap, munmap, brk and mprotect take the lock too
 *                                                                                <- lego-2018-02-06
 *  lego-stop-machine            noise:   mc_manager re-reads its request count before dispatch
 *  lego-loader-kmalloc-vma      BUG:     __bprm_mm_init on M kmallocs the temporary stack vma
 *  lego-mc-manager-stats        noise:   handle_p2m_execve counts execs
 *                                                                                <- lego-2018-02-11 (bad)
 *  lego-loader-kzalloc-vma      fix:     kzalloc it (commit 4cb3a8b6 "Use kzalloc instead of kmalloc")
 *                                                                                <- lego-2018-02-12
 *  lego-pcache-fill-stats       noise:   __pcache_do_fill_page reads the fill counter first
 *  lego-clear-user-todo         BUG:     lego_clear_user is an unimplemented stub: the loader's .bss tail
 *                                        keeps the file's bytes
 *  lego-loader-brk-align        noise:   exec_loader re-reads the start of brk it stored
 *                                                                                <- lego-2018-02-16 (bad)
 *  lego-clear-user              fix:     implement lego_clear_user
 *                                                                                <- lego-2018-02-17
 *  then the later diary bugs (issue 14, bugs 5 and 7; they start from lego-2018-02-17; the cpuhp
 *  tags carry -cpuhp: the mremap bug's window already has the day's tag)            tags
 *  lego-smp-callin            BUG:   APs come up through LegoOS's smp_callin, which runs no cpuhp states
 *  lego-mc-count              noise: the memory component prints how many manager threads it started
 *                                                                               <- lego-2018-02-05-cpuhp (bad)
 *  lego-cpuhp-secondary       fix:   smp_callin runs the cpuhp states (notify_cpu_starting, online)
 *                                                                               <- lego-2018-02-05-cpuhp-fix
 *  lego-kernel-init           BUG:   kernel_init hands over to LegoOS's processor/memory init,
 *                                    without kernel_init's set_cpus_allowed_ptr
 *  lego-pcache-banner         noise: the pcache banner names its line size
 *                                                                               <- lego-2018-02-19 (bad)
 *  lego-init-cpus-allowed     fix:   set_cpus_allowed_ptr(current, cpu_possible_mask) there too
 *                                                                               <- lego-2018-02-19-fix
 *  lego-pcache-victim-stats   noise: victim_flush_func counts its passes in the pcache control page
 *  lego-pcache-fork-cow       BUG:   fork_dup_pcache shares the parent's lines with the child copy-on-write,
 *                                    write-protecting the parent's ptes without a TLB flush
 *  lego-fork-print-flags      noise: p2m_fork prints the clone flags
 *                                                                               <- lego-2018-03-01 (bad)
 *  lego-fork-cow-flush-tlb    fix:   flush the parent's TLB entry after making its pte read-only
 *                                                                               <- lego-2018-03-01-fix
 *  then the 03/08 entry (issue 14, bug 6: the page table corrupted 200 s before the fault)   tags
 *  lego-pcache-walk-inline    noise: pcache_handle_fault walks pgd/pud/pmd/pte itself (pgd_offset, pud_alloc...)
 *  lego-mprotect-strace       noise: SYSC_mprotect prints the diary's strace__mprotect line
 *  lego-victim-page-alloc     BUG:   victim pages come from the buddy allocator, kept by their slot; mprotect
 *                                    writes the range's victims back and frees their pages, but the slot
 *                                    keeps the freed page's address: the next eviction into it copies a
 *                                    line into whatever the page became (a page table)
 *                                                                               <- lego-2018-03-08 (bad)
 *  lego-victim-page-clear     fix:   victim_release_range clears the slot's page after freeing it
 *                                                                               <- lego-2018-03-08-fix
 *  then the SLOB block (issue 14, bug 4: the diary's 02/13, its symptom in the March entry; from
 *  lego-2018-03-08-fix, so every tag of it keeps the earlier fixes)                    tags
 *  lego-slob                  feature: kmalloc is SLOB (mm/slob.c) over LegoOS's buddy (PageBuddy in
 *                                      _mapcount, put_page_testzero on every free, split_page); SLOB
 *                                      takes pages in pairs (an order-1 block split in two)
 *  lego-slob-count-pages      noise: slob_new_pages counts the pages it took
 *  lego-victim-flush-info     feature: victim_submit_flush kmallocs a victim_flush_info per victim and
 *                                      queues it; kvictim_flushd (victim_flush_func) flushes and kfree()s it
 *                                                                               <- lego-2018-02-13-slob
 *  lego-slob-page-private     BUG:   slob_new_pages stores the order of the pair it split into each page
 *                                    with set_page_private (buddy's order of that page) and slob clears it
 *                                    after free_page: buddy frees an empty SLOB page as order 1, with the
 *                                    other page of the pair, still a live SLOB page, in that block
 *  lego-slob-count-frees      noise: kfree counts SLOB frees
 *                                                                               <- lego-2018-02-13 (bad)
 *  lego-slob-no-clear-after-free  the diary's first try: no set_page_private(page, 0) after free_page
 *                                    ("word_count-pthread still fails")
 *                                                                               <- lego-2018-02-13-retry (bad)
 *  lego-slob-units            fix:   SLOB keeps its counts in its own struct page field (sp->units)
 *                                    and leaves page->private to buddy
 *                                                                               <- lego-2018-02-13-fix
 * </pre>
 */
public final class LegoSeries
{
    private LegoSeries()
    {
    }

    /** Whether the code of bug patch {@code bug} runs: it is applied and its fix is not. */
    public static boolean active(final Patches patches, final String bug, final String fix)
    {
        return patches.enabled(bug) && !patches.enabled(fix);
    }

    static void diaryFebruary(final PatchSeries s)
    {
        final String b = PatchSeries.LEGO;
        s.addOnBranch(b, new SimplePatch("lego-no-slab-poison", "LegoOS: no slab poisoning (freed objects keep their last user's bytes)"));
        s.addOnBranch(b, new SimplePatch("lego-ibapi-stats", "LegoOS ibapi: count the bytes sent"));
        s.tagBranch(b, "lego-2018-02-01");
        s.addOnBranch(b, new SimplePatch("lego-pcache-move-pte",
            "LegoOS mremap on P: pcache_move_pte moves each pte under the line's set lock, its rmap after dropping it"));
        s.addOnBranch(b, new SimplePatch("lego-mremap-trace", "LegoOS SYSC_mremap: read the victim count before the flush"));
        s.tagBranch(b, "lego-2018-02-05");
        s.addOnBranch(b, new SimplePatch("lego-mremap-lock",
            "LegoOS SYSC_mremap: hold the process's mremap lock from the memory component's move to the last pcache_move_pte (mmap, munmap, brk, mprotect take it too)"));
        s.tagBranch(b, "lego-2018-02-06");
        s.addOnBranch(b, new SimplePatch("lego-stop-machine", "LegoOS mc_manager: re-read the request count before dispatching"));
        s.addOnBranch(b, new SimplePatch("lego-loader-kmalloc-vma", "LegoOS loader: __bprm_mm_init kmallocs the temporary stack vma"));
        s.addOnBranch(b, new SimplePatch("lego-mc-manager-stats", "LegoOS handle_p2m_execve: count execs"));
        s.tagBranch(b, "lego-2018-02-11");
        s.addOnBranch(b, new SimplePatch("lego-loader-kzalloc-vma", "memory: Use kzalloc instead of kmalloc in __bprm_mm_init (loader)"));
        s.tagBranch(b, "lego-2018-02-12");
        s.addOnBranch(b, new SimplePatch("lego-pcache-fill-stats", "LegoOS __pcache_do_fill_page: read the fill counter first"));
        s.addOnBranch(b, new SimplePatch("lego-clear-user-todo", "LegoOS loader: lego_clear_user (TODO: not implemented)"));
        s.addOnBranch(b, new SimplePatch("lego-loader-brk-align", "LegoOS exec_loader: re-read the start of brk"));
        s.tagBranch(b, "lego-2018-02-16");
        s.addOnBranch(b, new SimplePatch("lego-clear-user", "LegoOS loader: implement lego_clear_user (fixes the dirty .bss)"));
        s.tagBranch(b, "lego-2018-02-17");
    }

    /** The later diary bugs (issue 14: cpuhp at secondary boot, cpus_allowed, the fork without a TLB flush), after the February block. */
    static void diaryLate(final PatchSeries s)
    {
        final String b = PatchSeries.LEGO;
        s.addOnBranch(b, new SimplePatch("lego-smp-callin",
            "LegoOS smp: secondary cpus come up through smp_callin (no cpuhp state callbacks on them)"));
        s.addOnBranch(b, new SimplePatch("lego-mc-count", "LegoOS memory component: print how many manager threads started"));
        s.tagBranch(b, "lego-2018-02-05-cpuhp");
        s.addOnBranch(b, new SimplePatch("lego-cpuhp-secondary",
            "LegoOS smp: smp_callin invokes the cpuhp state callbacks (notify_cpu_starting, online states)"));
        s.tagBranch(b, "lego-2018-02-05-cpuhp-fix");
        s.addOnBranch(b, new SimplePatch("lego-kernel-init",
            "LegoOS init: kernel_init hands over to the processor/memory component's own init"));
        s.addOnBranch(b, new SimplePatch("lego-pcache-banner", "LegoOS pcache: the banner names the line size"));
        s.tagBranch(b, "lego-2018-02-19");
        s.addOnBranch(b, new SimplePatch("lego-init-cpus-allowed",
            "LegoOS kernel_init: set_cpus_allowed_ptr(current, cpu_possible_mask) (sched_init bound init_task to cpu 0)"));
        s.tagBranch(b, "lego-2018-02-19-fix");
        s.addOnBranch(b, new SimplePatch("lego-pcache-victim-stats", "LegoOS pcache: victim_flush_func counts its passes"));
        s.addOnBranch(b, new SimplePatch("lego-pcache-fork-cow",
            "LegoOS fork: share the parent's pcache lines with the child copy-on-write (fork_dup_pcache)"));
        s.addOnBranch(b, new SimplePatch("lego-fork-print-flags", "LegoOS p2m_fork: print the clone flags"));
        s.tagBranch(b, "lego-2018-03-01");
        s.addOnBranch(b, new SimplePatch("lego-fork-cow-flush-tlb",
            "LegoOS fork: flush the TLB after making the parent's pte read-only for COW"));
        s.tagBranch(b, "lego-2018-03-01-fix");
    }

    /** The diary's 03/08 entry (issue 14, bug 6: a page-table page overwritten long before a fault walks it), after diaryLate. */
    static void diaryMarch(final PatchSeries s)
    {
        final String b = PatchSeries.LEGO;
        s.addOnBranch(b, new SimplePatch("lego-pcache-walk-inline",
            "LegoOS pcache_handle_fault: pgd_offset, pud_alloc, pmd_alloc, pte_alloc inline"));
        s.addOnBranch(b, new SimplePatch("lego-mprotect-strace", "LegoOS SYSC_mprotect: print strace__mprotect"));
        // The bug last before its tag: its window depends on when kvictim_flushd writes victims
        // back, so a noise patch after it that moved the timing could hide it from a candidate.
        s.addOnBranch(b, new SimplePatch("lego-victim-page-alloc",
            "LegoOS victim cache: allocate victim pages on demand; mprotect writes the range's victims back and frees their pages"));
        s.tagBranch(b, "lego-2018-03-08");
        s.addOnBranch(b, new SimplePatch("lego-victim-page-clear",
            "LegoOS victim_release_range: clear the slot's page pointer when the page is freed"));
        s.tagBranch(b, "lego-2018-03-08-fix");
    }

    /** The SLOB block (issue 14, bug 4: SLOB's set_page_private over buddy's order), after the 03/08 block. */
    static void diarySlob(final PatchSeries s)
    {
        final String b = PatchSeries.LEGO;
        s.addOnBranch(b, new SimplePatch("lego-slob", "LegoOS mm: kmalloc is SLOB over the buddy allocator"));
        s.addOnBranch(b, new SimplePatch("lego-slob-count-pages", "LegoOS slob: count the pages slob_new_pages took"));
        s.addOnBranch(b, new SimplePatch("lego-victim-flush-info",
            "LegoOS pcache/victim: victim_submit_flush queues a kmalloc'ed victim_flush_info, kvictim_flushd flushes and kfree()s it"));
        s.tagBranch(b, "lego-2018-02-13-slob");
        s.addOnBranch(b, new SimplePatch("lego-slob-page-private",
            "LegoOS slob: slob_new_pages records the order of the pair it split in each page (set_page_private)"));
        s.addOnBranch(b, new SimplePatch("lego-slob-count-frees", "LegoOS slob: count kfree's SLOB frees"));
        s.tagBranch(b, "lego-2018-02-13");
        s.addOnBranch(b, new SimplePatch("lego-slob-no-clear-after-free",
            "LegoOS slob: no set_page_private(page, 0) after free_page"));
        s.tagBranch(b, "lego-2018-02-13-retry");
        s.addOnBranch(b, new SimplePatch("lego-slob-units",
            "LegoOS slob: keep the counts in sp->units, leave page->private to buddy (it holds the order)"));
        s.tagBranch(b, "lego-2018-02-13-fix");
    }
}
