package palimpsest.emulator.input;

/**
 * Adversarial schedule in the spirit of rr's chaos mode: mostly very short slices so that
 * unprotected read-modify-write sequences get split, occasional very long ones (a starved cpu,
 * priority inversion), a favoured cpu that wins most picks for a while, large interrupt jitter,
 * reordered and occasionally dropped frames. Deterministic given the seed.
 */
public final class ChaosInput implements InputSource
{
    private final long seed;
    private final SplitMix64 rng;
    private int favoured = -1;
    private long favourLeft;

    public ChaosInput(final long seed)
    {
        this.seed = seed;
        this.rng = new SplitMix64(seed ^ 0xC4A05C4A05L);
    }

    @Override
    public String kind()
    {
        return "chaos";
    }

    @Override
    public long seed()
    {
        return seed;
    }

    @Override
    public long slice(final int cpu)
    {
        final long r = rng.below(100);
        if (r < 70)
        {
            return rng.between(1, 64);
        }
        if (r < 95)
        {
            return rng.between(64, 4_000);
        }
        return rng.between(20_000, 200_000);
    }

    @Override
    public int pickCpu(final long runnable, final int previous)
    {
        if (favourLeft-- <= 0)
        {
            favoured = rng.pickBit(runnable);
            favourLeft = rng.between(1, 50);
        }
        if (favoured >= 0 && (runnable & (1L << favoured)) != 0 && rng.below(4) != 0)
        {
            return favoured;
        }
        return rng.pickBit(runnable);
    }

    @Override
    public long irqDelay(final int cpu, final int vector)
    {
        return rng.below(8) == 0 ? rng.between(1_000, 20_000) : rng.below(200);
    }

    @Override
    public long netLatency(final int src, final int dst, final int length)
    {
        return rng.between(100, 50_000);
    }

    @Override
    public boolean netDrop(final int src, final int dst, final int length)
    {
        return rng.below(50) == 0;
    }

    @Override
    public long random()
    {
        return rng.next();
    }

    @Override
    public long stimulus(final int id, final long nominal)
    {
        return nominal / 2 + rng.below(1 + nominal);
    }
}
