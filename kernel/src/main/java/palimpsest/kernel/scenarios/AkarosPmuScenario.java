package palimpsest.kernel.scenarios;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.ScenarioContext;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.programs.AkarosYieldLoop;

/**
 * akaros-pmu-profile: an Akaros SCP yields over and over under the PMU sampling profiler (the
 * Akaros commit "Fix smp_idle() stack resetting bug"). Arguments: {@code pmu-period} (retired
 * instructions between samples, default 100; 0 = no profiler), {@code yields} (default 2000).
 * Use {@code --kernel akaros-2016-06-02} (bug) / {@code akaros-2016-06-16} (fix).
 */
public final class AkarosPmuScenario extends KernelScenario
{
    @Override
    public String name()
    {
        return "akaros-pmu-profile";
    }

    @Override
    public String description()
    {
        return "Akaros proc_yield loop under the PMU profiler (use --kernel akaros-2016-06-02; args pmu-period, yields)";
    }

    @Override
    public MachineConfig defaultConfig()
    {
        return new MachineConfig(1, 2, 32);
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        config.pmuPeriod = context.longArg("pmu-period", 100);
        config.program(new AkarosYieldLoop(context.longArg("yields", 2000)));
        config.init("/bin/yield_loop");
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        return new String[] {"yield_loop: " + context.longArg("yields", 2000) + " yields", "reboot: Power down"};
    }
}
