package palimpsest.emulator.input;

/**
 * Deterministic schedule from a seed: slices of a few thousand instructions, uniform choice of
 * the next cpu, small interrupt jitter, network latency of a few thousand ticks, no loss.
 */
public final class SeededInput implements InputSource
{
    private final long seed;
    private final SplitMix64 rng;

    public SeededInput(final long seed)
    {
        this.seed = seed;
        this.rng = new SplitMix64(seed);
    }

    @Override
    public String kind()
    {
        return "seeded";
    }

    @Override
    public long seed()
    {
        return seed;
    }

    @Override
    public long slice(final int cpu)
    {
        return rng.between(2_000, 20_000);
    }

    @Override
    public int pickCpu(final long runnable, final int previous)
    {
        return rng.pickBit(runnable);
    }

    @Override
    public long irqDelay(final int cpu, final int vector)
    {
        return rng.below(64);
    }

    @Override
    public long netLatency(final int src, final int dst, final int length)
    {
        return rng.between(1_000, 5_000);
    }

    @Override
    public boolean netDrop(final int src, final int dst, final int length)
    {
        return false;
    }

    @Override
    public long random()
    {
        return rng.next();
    }

    @Override
    public long stimulus(final int id, final long nominal)
    {
        return nominal + rng.below(1 + nominal / 8);
    }
}
