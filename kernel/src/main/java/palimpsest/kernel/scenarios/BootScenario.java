package palimpsest.kernel.scenarios;

import java.util.List;

import palimpsest.emulator.ScenarioArg;
import palimpsest.emulator.Machine;
import palimpsest.emulator.ScenarioContext;
import palimpsest.kernel.KernelConfig;

/** boot: every cpu comes up, the machine idles a little, then powers off cleanly. */
public final class BootScenario extends KernelScenario
{
    @Override
    public String name()
    {
        return "boot";
    }

    @Override
    public String description()
    {
        return "SMP boot: all cpus up (INIT/SIPI), idle briefly, clean shutdown (arg idle=ticks)";
    }

    @Override
    protected List<ScenarioArg> scenarioArgs()
    {
        return List.of(
            ScenarioArg.number("idle", "2000000", "virtual time the booted machine idles before it powers off"));
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        config.idleTicks = context.longArg("idle", 2_000_000);
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        final int n = machine.config().cpusPerNode;
        final String[] want = new String[n + 1];
        for (int i = 0; i < n; i++)
        {
            want[i] = "CPU " + i + " is up";
        }
        want[n] = "reboot: Power down";
        return want;
    }
}
