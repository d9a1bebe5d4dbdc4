package palimpsest.kernel.patches;

/**
 * The JOS and Akaros branches of the series (see {@link PatchSeries}): each is the main line's
 * built-ins plus its own patches, with its own tags.
 *
 * <pre>
 *  jos branch                                                                   tags
 *  jos-kernel-irqs-off        feature: IF stays clear in the kernel (only sched_halt's sti; hlt sets it)
 *  jos-pgfault-upcall         feature: user page-fault handlers on exception stacks (lab 4 part B)
 *                                                                               <- jos-lab4a
 *  jos-sys-page-alloc-perm    noise: sys_page_alloc checks the PTE_SYSCALL bits first
 *  jos-env-setup-vm-memcpy    BUG:   env_setup_vm copies every top-level entry of kern_pgdir
 *  jos-env-run-tf-copy        noise: env_run copies the trap frame through a local
 *                                                                               <- jos-lab4b (bad)
 *  jos-env-setup-vm-kernel-half  fix: copy only the kernel half (lower tables stay per environment)
 *                                                                               <- jos-lab4b-fix
 *  jos-lapic-eoi-first        noise: acknowledge the LAPIC before dispatching
 *  jos-timer-irq              BUG:   trap(): IRQ_TIMER asserts it came from user mode
 *  jos-sched-halt-count       noise: sched_halt counts halted cpus in memory
 *                                                                               <- jos-lab4c (bad)
 *  jos-timer-kernel-mode      fix:   a kernel-mode timer interrupt (the idle loop) calls sched_yield
 *                                                                               <- jos-lab4
 *  jos-timer-trap-gate        optional: the notes' detour, IRQ_TIMER's IDT gate as a trap gate
 *
 *  akaros branch
 *  akaros-perfmon             feature: PMU sampling profiler (--arg pmu-period=N)
 *  akaros-proc-yield          feature: proc_yield of an SCP saves its context and smp_idles
 *                                                                               <- akaros-2016-05
 *  akaros-kmsg-batch          noise: routine kernel messages drained in one pass
 *  akaros-reset-stacks        BUG:   CONFIG_RESET_STACKS: smp_idle sets SP to the stack top, then FP = 0, IRQs on
 *  akaros-profiler-sample-count noise: the per-core buffer counts its samples
 *                                                                               <- akaros-2016-06-02 (bad)
 *  akaros-smp-idle-fp-first   fix:   disable IRQs, zero FP before SP (commit "Fix smp_idle() stack resetting bug")
 *                                                                               <- akaros-2016-06-16
 * </pre>
 */
final class BranchSeries
{
    private BranchSeries()
    {
    }

    static void jos(final PatchSeries s)
    {
        final String b = PatchSeries.JOS;
        s.addOnBranch(b, new SimplePatch("jos-kernel-irqs-off",
            "JOS: external interrupts stay disabled in the kernel; only sched_halt's sti; hlt enables them"));
        s.addOnBranch(b, new SimplePatch("jos-pgfault-upcall",
            "JOS lab 4B: user-level page-fault handlers run on the exception stack (UTrapframe at UXSTACKTOP)"));
        s.tagBranch(b, "jos-lab4a");
        s.addOnBranch(b, new SimplePatch("jos-sys-page-alloc-perm", "JOS sys_page_alloc: check the PTE_SYSCALL bits first"));
        s.addOnBranch(b, new SimplePatch("jos-env-setup-vm-memcpy",
            "JOS env_setup_vm: start the new page directory as a copy of every kern_pgdir entry"));
        s.addOnBranch(b, new SimplePatch("jos-env-run-tf-copy", "JOS env_run: copy the trap frame through a local"));
        s.tagBranch(b, "jos-lab4b");
        s.addOnBranch(b, new SimplePatch("jos-env-setup-vm-kernel-half",
            "JOS env_setup_vm: copy only the kernel half of kern_pgdir, so lower tables are per environment"));
        s.tagBranch(b, "jos-lab4b-fix");
        s.addOnBranch(b, new SimplePatch("jos-lapic-eoi-first", "JOS trap_dispatch: lapic_eoi before the handler"));
        s.addOnBranch(b, new SimplePatch("jos-timer-irq",
            "JOS trap(): dispatch IRQ_TIMER to sched_yield, asserting (tf->tf_cs & 3) == 3"));
        s.addOnBranch(b, new SimplePatch("jos-sched-halt-count", "JOS sched_halt: count halted cpus in memory"));
        s.tagBranch(b, "jos-lab4c");
        s.addOnBranch(b, new SimplePatch("jos-timer-kernel-mode",
            "JOS trap(): a timer interrupt in kernel mode (the idle loop) is fine: call sched_yield"));
        s.tagBranch(b, "jos-lab4");
        s.addOnBranch(b, new SimplePatch("jos-timer-trap-gate", "JOS trap_init: IRQ_TIMER's gate as a trap gate (istrap = 1)", true));
    }

    static void akaros(final PatchSeries s)
    {
        final String b = PatchSeries.AKAROS;
        s.addOnBranch(b, new SimplePatch("akaros-perfmon",
            "Akaros perfmon: PMU sampling profiler, a kernel backtrace per overflow (--arg pmu-period=N)"));
        s.addOnBranch(b, new SimplePatch("akaros-proc-yield",
            "Akaros proc_yield: an SCP that is not being nice saves its context and abandons the core to smp_idle"));
        s.tagBranch(b, "akaros-2016-05");
        s.addOnBranch(b, new SimplePatch("akaros-kmsg-batch", "Akaros: drain routine kernel messages in one pass"));
        s.addOnBranch(b, new SimplePatch("akaros-reset-stacks",
            "Akaros CONFIG_RESET_STACKS: smp_idle sets SP to the top of the stack, then zeroes FP"));
        s.addOnBranch(b, new SimplePatch("akaros-profiler-sample-count", "Akaros profiler: count the samples taken in the per-core buffer header"));
        s.tagBranch(b, "akaros-2016-06-02");
        s.addOnBranch(b, new SimplePatch("akaros-smp-idle-fp-first",
            "Akaros: fix smp_idle() stack resetting bug (disable IRQs, zero FP before SP)"));
        s.tagBranch(b, "akaros-2016-06-16");
    }
}
