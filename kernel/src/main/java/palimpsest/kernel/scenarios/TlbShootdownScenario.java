package palimpsest.kernel.scenarios;

import java.util.List;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.ScenarioArg;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.programs.Shootdown;

/**
 * tlb-shootdown: a buffer moved by mremap while threads on the other cpus use it ({@link
 * Shootdown}); every reader must see the page now mapped at the old address. BAD when one reads the
 * moved page through a stale TLB entry (the remote flush by IPI is missing); SKIP if the new page
 * did not land at the old address (nothing to tell).
 */
public final class TlbShootdownScenario extends KernelScenario
{
    @Override
    public String name()
    {
        return "tlb-shootdown";
    }

    @Override
    public String description()
    {
        return "threads on every cpu read a buffer another thread moves with mremap; a reader must not see the moved page " +
            "through a stale TLB entry";
    }

    @Override
    protected List<ScenarioArg> scenarioArgs()
    {
        return List.of(); // only tick and suspend-at
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        config.program(new Shootdown(machine.config().cpusPerNode));
        config.init("/bin/shootdown");
    }

    @Override
    protected String[] failures()
    {
        return new String[] {Shootdown.STALE};
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        return new String[] {Shootdown.GOOD_LINE, "reboot: Power down"};
    }

    @Override
    public Verdict verdict(final Machine machine, final Outcome outcome)
    {
        final String console = machine.console(0).text();
        if (console.contains(Shootdown.MISPLACED))
        {
            return Verdict.skip(Shootdown.MISPLACED + ": nothing to tell");
        }
        return super.verdict(machine, outcome);
    }
}
