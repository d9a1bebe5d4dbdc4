package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Verdict;
import palimpsest.kernel.scenarios.BootScenario;

class BootTest
{
    @Test
    void bootsAllCpusAndPowersOff()
    {
        final Runs r = Runs.run(new BootScenario(), 1);
        System.out.println(r.console());
        System.out.println(r.outcome);
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.verdict.toString());
        for (int i = 0; i < 4; i++)
        {
            assertTrue(r.console().contains("CPU " + i + " is up"));
        }
    }
}
