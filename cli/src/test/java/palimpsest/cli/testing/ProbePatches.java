package palimpsest.cli.testing;

import palimpsest.kernel.patches.SimplePatch;

/**
 * Test-only patches placed in the series right after {@code mremap-lock} (the end of v0.3, in
 * name order) through META-INF/services: the eight candidates between v0.3 and v2.6.25 (the
 * optional big-kernel-lock is never a candidate), the third of which (zt3) breaks
 * {@link ProbeScenario}; zt4 wedges it (SKIP) until zt5. They are flags only the probe consults,
 * so the v2.6.25 kernels that now hold them behave as without them.
 */
public final class ProbePatches
{
    private ProbePatches()
    {
    }

    /** Right after the last patch of v0.3. */
    abstract static class Placed extends SimplePatch
    {
        Placed(final String name, final String description)
        {
            super(name, description);
        }

        @Override
        public String after()
        {
            return "mremap-lock";
        }
    }

    public static final class Noise1 extends Placed
    {
        public Noise1()
        {
            super("zt1-probe-noise", "probe: noise one (no functional change)");
        }
    }

    public static final class Noise2 extends Placed
    {
        public Noise2()
        {
            super("zt2-probe-noise", "probe: noise two (no functional change)");
        }
    }

    public static final class Scribble extends Placed
    {
        public Scribble()
        {
            super("zt3-probe-scribble", "probe: store 0xf0 into the object just freed");
        }
    }

    public static final class Wedge extends Placed
    {
        public Wedge()
        {
            super("zt4-probe-wedge", "probe: wedge the check (the scenario cannot tell)");
        }
    }

    public static final class Unwedge extends Placed
    {
        public Unwedge()
        {
            super("zt5-probe-unwedge", "probe: unwedge the check");
        }
    }

    public static final class Noise6 extends Placed
    {
        public Noise6()
        {
            super("zt6-probe-noise", "probe: noise six");
        }
    }

    public static final class Noise7 extends Placed
    {
        public Noise7()
        {
            super("zt7-probe-noise", "probe: noise seven");
        }
    }

    public static final class Noise8 extends Placed
    {
        public Noise8()
        {
            super("zt8-probe-noise", "probe: noise eight");
        }
    }
}
