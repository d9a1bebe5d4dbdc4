package palimpsest.cli.testing;

import palimpsest.kernel.patches.SimplePatch;

/**
 * Test-only patches appended to the series (after the built-ins, in name order) through
 * META-INF/services: eight candidates between v0.3 and head, the third of which (zt3) breaks
 * {@link ProbeScenario}; zt4 wedges it (SKIP) until zt5. They are flags only the probe consults.
 */
public final class ProbePatches
{
    private ProbePatches()
    {
    }

    public static final class Noise1 extends SimplePatch
    {
        public Noise1()
        {
            super("zt1-probe-noise", "probe: noise one (no functional change)");
        }
    }

    public static final class Noise2 extends SimplePatch
    {
        public Noise2()
        {
            super("zt2-probe-noise", "probe: noise two (no functional change)");
        }
    }

    public static final class Scribble extends SimplePatch
    {
        public Scribble()
        {
            super("zt3-probe-scribble", "probe: store 0xf0 into the object just freed");
        }
    }

    public static final class Wedge extends SimplePatch
    {
        public Wedge()
        {
            super("zt4-probe-wedge", "probe: wedge the check (the scenario cannot tell)");
        }
    }

    public static final class Unwedge extends SimplePatch
    {
        public Unwedge()
        {
            super("zt5-probe-unwedge", "probe: unwedge the check");
        }
    }

    public static final class Noise6 extends SimplePatch
    {
        public Noise6()
        {
            super("zt6-probe-noise", "probe: noise six");
        }
    }

    public static final class Noise7 extends SimplePatch
    {
        public Noise7()
        {
            super("zt7-probe-noise", "probe: noise seven");
        }
    }

    public static final class Noise8 extends SimplePatch
    {
        public Noise8()
        {
            super("zt8-probe-noise", "probe: noise eight");
        }
    }
}
