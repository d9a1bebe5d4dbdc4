package palimpsest.cli.testing;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.module.E1000;
import palimpsest.kernel.module.Module;
import palimpsest.kernel.patches.SimplePatch;

/**
 * Test-only noise for the text-poke-scribble bisect, shipped as a plugin jar the test builds (only
 * a services file: the classes are on the test class path), so no other test sees them. Placed
 * among the v2.6.25..git2 candidates with {@link palimpsest.kernel.patches.Patch#after()}:
 * {@code zy1-e1000-probe-fail} right after {@code device-pm-add-warn} replaces the e1000 driver by
 * one whose probe fails (-ENODEV), so /sbin/init cannot load it and the run breaks before the
 * workload: the scenario says SKIP (it cannot tell whether text_poke scribbles); {@code
 * zy2-e1000-probe-fix} right after it restores the real driver. git2 holds both, so it stays bad,
 * and event for event the same as without them.
 */
public final class NoisePatches
{
    public static final String FAIL = "zy1-e1000-probe-fail";
    public static final String FIX = "zy2-e1000-probe-fix";

    private NoisePatches()
    {
    }

    public static final class ProbeFail extends SimplePatch
    {
        public ProbeFail()
        {
            super(FAIL, "e1000: probe fails with -ENODEV (a broken driver change)");
        }

        @Override
        public String after()
        {
            return "device-pm-add-warn";
        }

        @Override
        public void install(final Kernel kernel)
        {
            if (!kernel.patches.enabled(FIX))
            {
                kernel.modules.register(E1000.NAME, FailingE1000::new);
            }
        }
    }

    public static final class ProbeFix extends SimplePatch
    {
        public ProbeFix()
        {
            super(FIX, "e1000: revert the broken probe change");
        }

        @Override
        public String after()
        {
            return FAIL;
        }
    }

    /** An e1000 whose probe finds no device. */
    static final class FailingE1000 extends Module
    {
        @Override
        public String name()
        {
            return E1000.NAME;
        }

        @Override
        protected void define(final Image img)
        {
            img.fn("e1000_probe", 0x80);
        }

        @Override
        protected long init(final Cpu cpu, final Kernel k, final long mod)
        {
            k.printk.printk(cpu, "e1000: probe of 0000:00:19.0 failed with error -19");
            return -19;
        }

        @Override
        protected void exit(final Cpu cpu, final Kernel k, final long mod)
        {
        }
    }
}
