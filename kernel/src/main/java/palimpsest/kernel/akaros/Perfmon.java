package palimpsest.kernel.akaros;

import palimpsest.kernel.Kernel;

public final class Perfmon
{
    private final Kernel k;

    public Perfmon(final Kernel k)
    {
        this.k = k;
    }
}
