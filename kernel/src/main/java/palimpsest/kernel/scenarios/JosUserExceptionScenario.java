package palimpsest.kernel.scenarios;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.ScenarioContext;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.programs.JosFaultAlloc;

/**
 * jos-user-exception: JOS lab 4 part B's user-level page-fault handlers on exception stacks,
 * several environments on 2 cpus (faultalloc over a fork tree). On {@code jos-lab4b}
 * env_setup_vm shares kern_pgdir's lower tables with every environment, so one environment's
 * page_insert into kern_pgdir at the exception stack replaces (and frees) another's page, and the
 * damage shows later. Clean on {@code jos-lab4b-fix} and {@code jos-lab4a}. Arguments: children
 * (default 2), faults (per environment, default 3).
 */
public final class JosUserExceptionScenario extends KernelScenario
{
    @Override
    public String name()
    {
        return "jos-user-exception";
    }

    @Override
    public String description()
    {
        return "JOS faultalloc over a fork tree: user page-fault handlers on exception stacks (use --kernel jos-lab4b; args children, faults)";
    }

    @Override
    public MachineConfig defaultConfig()
    {
        return new MachineConfig(1, 2, 32);
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        config.program(new JosFaultAlloc((int)context.longArg("children", 2), (int)context.longArg("faults", 3)));
        config.init("/bin/faultalloc");
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        return new String[] {"faulted in at deadbeef", "faultalloc: every environment read its own strings", "reboot: Power down"};
    }
}
