package palimpsest.kernel.akaros;

import palimpsest.kernel.Kernel;
import palimpsest.kernel.patches.PatchSeries;
import palimpsest.kernel.patches.Patches;

/**
 * The Akaros configuration's own pieces (the akaros branch of the series): the PMU sampling
 * profiler ({@link Perfmon}) and proc_yield's trip through smp_idle ({@link ProcYield}).
 */
public final class Akaros
{
    public final Perfmon perfmon;
    public final ProcYield yield;
    public final AkarosTrap trap;

    public Akaros(final Kernel k)
    {
        this.perfmon = new Perfmon(k);
        this.yield = new ProcYield(k);
        this.trap = new AkarosTrap(k);
    }

    /** Whether any patch of the akaros branch is applied. */
    public static boolean configured(final Patches p)
    {
        final PatchSeries s = PatchSeries.load();
        for (final String n : p.names())
        {
            if (PatchSeries.AKAROS.equals(s.branchOf(n)))
            {
                return true;
            }
        }
        return false;
    }
}
