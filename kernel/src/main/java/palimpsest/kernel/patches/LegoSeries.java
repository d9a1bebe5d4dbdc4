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
 *  lego-pcache-move-pte         BUG:     mremap on P: pcache_move_pte moves ptes and rmaps without the
 *                                        process's mremap lock (two mremaps' moves land in either order)
 *  lego-mremap-trace            noise:   SYSC_mremap reads the victim count before flushing
 *                                                                                <- lego-2018-02-05 (bad)
 *  lego-mremap-lock             fix:     SYSC_mremap holds the process's mremap lock from M's move to
 *                                        the last pcache_move_pte (rmap_get_locked_pte's lock order)
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
            "LegoOS mremap on P: pcache_move_pte moves each pte and its rmap under the line's set lock only"));
        s.addOnBranch(b, new SimplePatch("lego-mremap-trace", "LegoOS SYSC_mremap: read the victim count before the flush"));
        s.tagBranch(b, "lego-2018-02-05");
        s.addOnBranch(b, new SimplePatch("lego-mremap-lock",
            "LegoOS SYSC_mremap: hold the process's mremap lock from the memory component's move to the last pcache_move_pte"));
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
}
