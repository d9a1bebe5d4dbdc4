package palimpsest.kernel;

import java.util.List;
import java.util.Map;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.input.InputSources;
import palimpsest.kernel.scenarios.WordCountScenario;
import palimpsest.trace.EventSink;

/** Not a test: a loop to look for chaos seeds (java -cp ... palimpsest.kernel.ChaosHunt scenario patch from to [k=v...]). */
final class ChaosHunt
{
    public static void main(final String[] a) throws Exception
    {
        final Scenario s = (Scenario)Class.forName(a[0]).getDeclaredConstructor().newInstance();
        final List<String> patches = a[1].isEmpty() ? List.of() : List.of(a[1].split(","));
        final Map<String, String> args = new java.util.HashMap<>();
        for (int i = 4; i < a.length; i++)
        {
            args.put(a[i].substring(0, a[i].indexOf('=')), a[i].substring(a[i].indexOf('=') + 1));
        }
        for (long seed = Long.parseLong(a[2]); seed <= Long.parseLong(a[3]); seed++)
        {
            final Machine m = new Machine(s.defaultConfig(), EventSink.NULL, InputSources.create("chaos", seed));
            s.load(m, new ScenarioContext(args, "", patches));
            final Outcome o = m.run(s.maxInstructions());
            final Verdict v = s.verdict(m, o);
            System.out.println(seed + " " + v);
        }
    }
}
