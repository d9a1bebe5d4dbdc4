package palimpsest.kernel.jos;

import palimpsest.kernel.Kernel;
import palimpsest.kernel.patches.PatchSeries;
import palimpsest.kernel.patches.Patches;

/**
 * The JOS configuration's own pieces (the jos branch of the series): trap()'s checks and
 * sched_halt's naming ({@link JosTrap}), env ids, env_setup_vm, page_insert/page_remove and
 * user-level page-fault handlers on exception stacks ({@link JosEnv}). Everything else (buddy,
 * slab, page tables, scheduler, trap entry) is the shared kernel's.
 */
public final class Jos
{
    public final JosTrap trap;
    public final JosEnv env;

    public Jos(final Kernel k)
    {
        this.trap = new JosTrap(k);
        this.env = new JosEnv(k);
    }

    /** Whether any patch of the jos branch is applied. */
    public static boolean configured(final Patches p)
    {
        final PatchSeries s = PatchSeries.load();
        for (final String n : p.names())
        {
            if (PatchSeries.JOS.equals(s.branchOf(n)))
            {
                return true;
            }
        }
        return false;
    }

    /** JOS's env id of a pid: the first environment is 0x1000, then 0x1001, ... */
    public static long envId(final long pid)
    {
        return 0x1000 + pid - 1;
    }
}
