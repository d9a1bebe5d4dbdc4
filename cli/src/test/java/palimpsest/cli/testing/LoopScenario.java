package palimpsest.cli.testing;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;

/**
 * A one-CPU bare-metal loop for the CLI tests, independent of the hardware scenarios: prints a line,
 * stores and loads {@code rounds} times (physical addressing, CR3 = 0), powers off.
 */
public final class LoopScenario implements Scenario
{
    static final long TEXT = 0xF000;
    static final long DATA = 0x10000;

    @Override
    public String name()
    {
        return "test-loop";
    }

    @Override
    public String description()
    {
        return "test only: one cpu stores and loads in a loop (arg rounds)";
    }

    @Override
    public void load(final Machine machine, final ScenarioContext context)
    {
        final long rounds = context.longArg("rounds", 1000);
        if (rounds < 0)
        {
            throw new IllegalArgumentException("rounds must be >= 0");
        }
        machine.code().define("loop_main", TEXT, 0x100, cpu -> main(cpu, rounds));
        machine.setBootEntry(0, TEXT);
    }

    private static void main(final Cpu cpu, final long rounds)
    {
        for (final char c : "loop: hello\n".toCharArray())
        {
            cpu.out(0x3F8, c);
        }
        for (long i = 0; i < rounds; i++)
        {
            final long a = DATA + (i & 63) * 8;
            cpu.store64(a, cpu.load64(a) + i);
            cpu.compute(2);
        }
        for (final char c : "loop: done\n".toCharArray())
        {
            cpu.out(0x3F8, c);
        }
        cpu.out(Machine.POWER_PORT, 0);
    }

    @Override
    public Verdict verdict(final Machine machine, final Outcome outcome)
    {
        return outcome.clean() ? Verdict.good("looped") : Verdict.bad(outcome.toString());
    }
}
