package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Verdict;
import palimpsest.kernel.scenarios.ForkCowScenario;
import palimpsest.kernel.scenarios.WordCountScenario;

class ScenarioTest
{
    @Test
    void wordCountIsGood()
    {
        final Runs r = Runs.run(new WordCountScenario(), 7);
        System.out.println(r.console());
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.verdict + "\n" + r.console());
    }

    @Test
    void forkCowIsGood()
    {
        final Runs r = Runs.run(new ForkCowScenario(), 7);
        System.out.println(r.console());
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.verdict + "\n" + r.console());
    }
}
