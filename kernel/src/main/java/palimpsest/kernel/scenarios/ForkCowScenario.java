package palimpsest.kernel.scenarios;

import java.util.List;

import palimpsest.emulator.ScenarioArg;
import palimpsest.emulator.Machine;
import palimpsest.emulator.ScenarioContext;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.programs.ForkTree;

/**
 * fork-cow: JOS's forktree; every process writes after fork and checks that it (and only it)
 * sees its own data. Argument: depth (default 3: 15 processes).
 */
public final class ForkCowScenario extends KernelScenario
{
    @Override
    public String name()
    {
        return "fork-cow";
    }

    @Override
    public String description()
    {
        return "JOS forktree with copy-on-write checks: each process writes after fork and checks its own data (arg depth)";
    }

    @Override
    protected List<ScenarioArg> scenarioArgs()
    {
        return List.of(
            ScenarioArg.number("depth", "3", "depth of the fork tree (2^depth processes)"));
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        config.program(new ForkTree((int)context.longArg("depth", 3)));
        config.init("/bin/forktree");
    }

    @Override
    protected String[] failures()
    {
        return new String[] {"inherited the wrong data", "sees foreign data"};
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        final int depth = (int)context.longArg("depth", 3);
        return new String[] {
            "I am ''", "I am '" + "1".repeat(depth) + "'",
            "fork-cow: all " + ForkTree.processes(depth) + " processes saw their own data", "reboot: Power down"
        };
    }
}
