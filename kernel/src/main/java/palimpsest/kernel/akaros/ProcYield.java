package palimpsest.kernel.akaros;

import palimpsest.kernel.Kernel;

public final class ProcYield
{
    private final Kernel k;

    public ProcYield(final Kernel k)
    {
        this.k = k;
    }
}
