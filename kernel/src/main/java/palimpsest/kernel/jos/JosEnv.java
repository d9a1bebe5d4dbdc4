package palimpsest.kernel.jos;

import palimpsest.kernel.Kernel;

/** JOS environments' address spaces (filled in below). */
public final class JosEnv
{
    private final Kernel k;

    public JosEnv(final Kernel k)
    {
        this.k = k;
    }
}
