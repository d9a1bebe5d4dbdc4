package palimpsest.cli.testing;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.mm.Slab;
import palimpsest.kernel.scenarios.KernelScenario;

/**
 * Test scenario for bisect, diff and invariants: boots the kernel and, as an in-kernel test, frees a
 * slab object and checks that its poison is intact. The test patches of {@link ProbePatches} change
 * what happens: {@code zt3-probe-scribble} stores 0xf0 into the freed object (a use after free,
 * like the 0xf0 scribble), {@code zt4-probe-wedge} makes the check impossible (verdict SKIP) until
 * {@code zt5-probe-unwedge} undoes it. The other test patches are noise. Argument {@code scribble=1}
 * scribbles too, with the same kernel (so the boot banner, which lists the patches, is the same).
 */
public final class ProbeScenario extends KernelScenario
{
    public static final String NAME = "test-bisect-probe";
    /** Byte of the freed object the scribble hits. */
    public static final int SCRIBBLE_OFFSET = 5;

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public String description()
    {
        return "test: frees a kmalloc-64 object and checks its poison (test patches scribble on it or wedge the check)";
    }

    @Override
    public MachineConfig defaultConfig()
    {
        return new MachineConfig(1, 2, 32);
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        final boolean scribble = context.longArg("scribble", 0) != 0;
        config.kunit = (cpu, k) -> probe(cpu, k, scribble);
    }

    private static void probe(final Cpu cpu, final Kernel k, final boolean scribbleArg)
    {
        final long obj = k.slab.kmalloc(cpu, 64);
        for (int i = 0; i < 64; i += 8)
        {
            cpu.store64(obj + i, 0x1111_1111_1111_1111L * (i / 8 + 1));
        }
        k.slab.kfree(cpu, obj);
        if (k.patches.enabled("zt3-probe-scribble") || scribbleArg)
        {
            cpu.store8(obj + SCRIBBLE_OFFSET, 0xf0);
        }
        if (k.patches.enabled("zt4-probe-wedge") && !k.patches.enabled("zt5-probe-unwedge"))
        {
            k.printk.printk(cpu, "probe: wedged, cannot tell");
            return;
        }
        for (int i = 0; i < 64; i++)
        {
            final int want = i == 63 ? Slab.POISON_END : Slab.POISON_FREE;
            final int have = (int)cpu.load8(obj + i);
            if (have != want && k.patches.enabled("slab-poison"))
            {
                k.printk.printk(cpu, "probe: poison overwritten at +" + i + ": " + Integer.toHexString(have));
                return;
            }
        }
        k.printk.printk(cpu, "probe: poison intact");
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        return new String[] {"probe: poison intact", "reboot: Power down"};
    }

    @Override
    public Verdict verdict(final Machine machine, final Outcome outcome)
    {
        if (machine.console(0).text().contains("probe: wedged, cannot tell"))
        {
            return Verdict.skip("the probe was wedged");
        }
        return super.verdict(machine, outcome);
    }
}
