package palimpsest.kernel;

import java.util.List;
import java.util.Map;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.input.SeededInput;
import palimpsest.trace.EventSink;

/** Test helper: runs a scenario on a seeded machine. */
final class Runs
{
    final Machine machine;
    final Outcome outcome;
    final Verdict verdict;
    final Scenario scenario;

    private Runs(final Machine m, final Outcome o, final Verdict v, final Scenario s)
    {
        machine = m;
        outcome = o;
        verdict = v;
        scenario = s;
    }

    String console()
    {
        return machine.console(0).text();
    }

    static Runs run(final Scenario s, final long seed, final EventSink sink, final Map<String, String> args,
        final String version, final List<String> patches, final java.util.function.Consumer<Machine> before)
    {
        final MachineConfig cfg = s.defaultConfig();
        final Machine m = new Machine(cfg, sink == null ? EventSink.NULL : sink, new SeededInput(seed));
        s.load(m, new ScenarioContext(args, version, patches));
        if (before != null)
        {
            before.accept(m);
        }
        final Outcome o = m.run(s.maxInstructions());
        return new Runs(m, o, s.verdict(m, o), s);
    }

    static Runs run(final Scenario s, final long seed)
    {
        return run(s, seed, null, Map.of(), "", List.of(), null);
    }
}
