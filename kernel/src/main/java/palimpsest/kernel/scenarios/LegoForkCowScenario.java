package palimpsest.kernel.scenarios;

import palimpsest.emulator.Machine;
import palimpsest.emulator.ScenarioArg;
import palimpsest.emulator.ScenarioContext;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.programs.LegoForkCow;

/**
 * lego-fork-cow: the diary's 03/01 bug. A process forks while its second thread writes a page;
 * the child checks its copy does not change (kernel/README.md, "LegoOS"). With
 * {@code lego-pcache-fork-cow} the child maps the parent's pcache lines copy-on-write, and
 * without {@code lego-fork-cow-flush-tlb} the writer's cpu keeps its writable TLB entry: its
 * writes land in the line the child reads (BAD, "the child's copy changed after fork").
 */
public final class LegoForkCowScenario extends LegoWordCountScenario
{
    @Override
    public String name()
    {
        return "lego-fork-cow";
    }

    @Override
    public String description()
    {
        return "LegoOS: fork while another thread writes; the child's copy must not change (pcache COW, TLB flush at fork)";
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        config.lego = cluster(context, machine.config().nodes);
        config.program(new LegoForkCow(context.longArg("rounds", 20_000)));
        config.init("/bin/fork_cow");
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        return new String[] {"fork_cow: the child's copy held", "fork_cow: child exited 0", "reboot: Power down"};
    }

    @Override
    protected String[] failures()
    {
        return new String[] {"the child's copy changed after fork"};
    }

    @Override
    protected java.util.List<ScenarioArg> scenarioArgs()
    {
        final java.util.List<ScenarioArg> a = new java.util.ArrayList<>(super.scenarioArgs());
        a.removeIf(x -> x.name().equals("threads") || x.name().equals("words") || x.name().equals("text-seed") || x.name().equals("passes"));
        a.add(ScenarioArg.number("rounds", "20000", "rounds of the parent's writer thread at most (it stops when the child is done)"));
        return a;
    }

    /** Its tasks mostly run one at a time: the placement on one cpu says nothing. */
    @Override
    protected boolean spreadsOverCpus()
    {
        return false;
    }
}
