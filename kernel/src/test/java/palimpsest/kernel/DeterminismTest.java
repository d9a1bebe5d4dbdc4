package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.HashingSink;
import palimpsest.emulator.Verdict;
import palimpsest.kernel.scenarios.ForkCowScenario;

class DeterminismTest
{
    private static HashingSink run(final long seed)
    {
        final HashingSink s = new HashingSink();
        final Runs r = Runs.run(new ForkCowScenario(), seed, s, Map.of("depth", "2"), "", List.of(), null);
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.console());
        return s;
    }

    @Test
    void sameSeedSameEventsDifferentSeedDifferentEvents()
    {
        final HashingSink a = run(11);
        final HashingSink b = run(11);
        final HashingSink c = run(12);
        assertEquals(a.count, b.count);
        assertEquals(a.hash, b.hash);
        assertNotEquals(a.hash, c.hash);
    }
}
