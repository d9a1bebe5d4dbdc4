package palimpsest.cli.testing;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;

/** Test only: a bug of ours, either while loading (arg in=load) or in the emulated code. */
public final class CrashScenario implements Scenario
{
    @Override
    public String name()
    {
        return "test-crash";
    }

    @Override
    public String description()
    {
        return "test only: throws while loading (in=load) or while running";
    }

    @Override
    public void load(final Machine machine, final ScenarioContext context)
    {
        if ("load".equals(context.arg("in", "run")))
        {
            throw new IllegalStateException("crash while loading");
        }
        machine.code().define("crash_main", 0xF000, 0x100, cpu ->
        {
            cpu.compute(5);
            final String s = null;
            s.length();
        });
        machine.setBootEntry(0, 0xF000);
    }

    @Override
    public Verdict verdict(final Machine machine, final Outcome outcome)
    {
        return outcome.clean() ? Verdict.good("ok") : Verdict.bad(outcome.toString());
    }
}
