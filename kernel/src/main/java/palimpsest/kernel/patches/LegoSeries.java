package palimpsest.kernel.patches;

/**
 * The LegoOS branch of the series (see {@link PatchSeries}): the main line's built-ins plus the
 * splitkernel's own patches, with its own tags. Each block is one diary bug: the patch that
 * brought it, noise around it, the fix (kernel/README.md, "LegoOS").
 *
 * <pre>
 *  lego branch (issue 14, bugs 4-7; a bisect's good end is the tag after the previous fix)   tags
 *                                                                               <- lego-2018-02-04
 *  lego-smp-callin            BUG:   APs come up through LegoOS's smp_callin, which runs no cpuhp states
 *  lego-mc-count              noise: the memory component prints how many manager threads it started
 *                                                                               <- lego-2018-02-05 (bad)
 *  lego-cpuhp-secondary       fix:   smp_callin runs the cpuhp states (notify_cpu_starting, online)
 *                                                                               <- lego-2018-02-05-fix
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
 * </pre>
 */
final class LegoSeries
{
    private LegoSeries()
    {
    }

    /** Bugs 4-7 of the diary (issue 14, second half). */
    static void diaryLate(final PatchSeries s)
    {
        final String b = PatchSeries.LEGO;
        s.tagBranch(b, "lego-2018-02-04");
        s.addOnBranch(b, new SimplePatch("lego-smp-callin",
            "LegoOS smp: secondary cpus come up through smp_callin (no cpuhp state callbacks on them)"));
        s.addOnBranch(b, new SimplePatch("lego-mc-count", "LegoOS memory component: print how many manager threads started"));
        s.tagBranch(b, "lego-2018-02-05");
        s.addOnBranch(b, new SimplePatch("lego-cpuhp-secondary",
            "LegoOS smp: smp_callin invokes the cpuhp state callbacks (notify_cpu_starting, online states)"));
        s.tagBranch(b, "lego-2018-02-05-fix");
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
}
