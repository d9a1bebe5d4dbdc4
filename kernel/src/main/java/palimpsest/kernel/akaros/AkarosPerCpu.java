package palimpsest.kernel.akaros;

/**
 * Akaros's per-core fields (its {@code struct per_cpu_info}), kept in the shared per-cpu page
 * above the fields of {@link palimpsest.kernel.sched.PerCpu}:
 * <pre>
 *   +512 procless          1 from abandon_core to proc_restartcore: no process owns the core (Akaros owning_proc == NULL)
 *   +520 prof_buf          the profiler's sample buffer (16 KiB)
 *   +528 prof_pos          next write offset in it
 *   +536 prof_samples      samples taken (akaros-profiler-sample-count)
 *   +544 owning_cr3        the process's page table, restored by proc_restartcore
 *   +576 actual_ctx[25]    the process's saved user context: pt_regs r15..r0, rbp, pc, then the trap frame
 * </pre>
 */
public final class AkarosPerCpu
{
    public static final int PROCLESS = 512;
    public static final int PROF_BUF = 520;
    public static final int PROF_POS = 528;
    public static final int PROF_SAMPLES = 536;
    public static final int OWNING_CR3 = 544;
    public static final int ACTUAL_CTX = 576;
    public static final int CTX_WORDS = 25;

    private AkarosPerCpu()
    {
    }
}
