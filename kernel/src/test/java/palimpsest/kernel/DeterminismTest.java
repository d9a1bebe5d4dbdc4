package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Verdict;
import palimpsest.kernel.scenarios.ForkCowScenario;
import palimpsest.trace.EventSink;

class DeterminismTest
{
    /** Hashes every event, field by field. */
    static class HashSink implements EventSink
    {
        long h = 0x9E3779B97F4A7C15L;
        long n;

        private void mix(final long v)
        {
            h = (h ^ v) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }

        @Override
        public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr, final long paddr,
            final int size, final long value, final long oldValue)
        {
            n++;
            mix(kind);
            mix(cpu);
            mix(icount);
            mix(pc);
            mix(vaddr);
            mix(paddr);
            mix(size);
            mix(value);
            mix(oldValue);
        }

        @Override
        public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b, final long c)
        {
            n++;
            mix(kind);
            mix(cpu);
            mix(icount);
            mix(pc);
            mix(a);
            mix(b);
            mix(c);
        }

        @Override
        public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
            final byte[] payload, final int offset, final int length)
        {
            n++;
        }
    }

    private static HashSink run(final long seed)
    {
        final HashSink s = new HashSink();
        final Runs r = Runs.run(new ForkCowScenario(), seed, s, Map.of("depth", "2"), "", List.of(), null);
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.console());
        return s;
    }

    @Test
    void sameSeedSameEventsDifferentSeedDifferentEvents()
    {
        final HashSink a = run(11);
        final HashSink b = run(11);
        final HashSink c = run(12);
        assertEquals(a.n, b.n);
        assertEquals(a.h, b.h);
        assertNotEquals(a.h, c.h);
    }
}
