package palimpsest.emulator.input;

/**
 * The PRNG behind seeded and chaos schedules. Written out (rather than java.util.SplittableRandom)
 * so that a trace recorded with one JDK replays the same schedule with any other.
 */
public final class SplitMix64
{
    private long state;

    public SplitMix64(final long seed)
    {
        state = seed;
    }

    public long next()
    {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, bound). */
    public long below(final long bound)
    {
        return Long.remainderUnsigned(next(), bound);
    }

    /** Uniform in [lo, hi]. */
    public long between(final long lo, final long hi)
    {
        return lo + below(hi - lo + 1);
    }

    /** The index of a uniformly chosen set bit of mask (mask != 0). */
    public int pickBit(final long mask)
    {
        int n = (int)below(Long.bitCount(mask));
        long m = mask;
        while (n-- > 0)
        {
            m &= m - 1;
        }
        return Long.numberOfTrailingZeros(m);
    }
}
