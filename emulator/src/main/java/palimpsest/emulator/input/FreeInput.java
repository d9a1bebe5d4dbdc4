package palimpsest.emulator.input;

/**
 * Free-running schedule: slice lengths follow the host clock (each slice aims at a fixed span of
 * host time, so host load, JIT and GC shape the interleaving) and the next cpu comes from the low
 * bits of the host clock. Genuinely nondeterministic, and still replayable, because the executor
 * records every answer.
 */
public final class FreeInput implements InputSource
{
    private static final long TARGET_NANOS = 100_000;

    private final SplitMix64 mix = new SplitMix64(System.nanoTime());
    private long lastNanos = System.nanoTime();
    private long lastSlice = 10_000;

    @Override
    public String kind()
    {
        return "free";
    }

    @Override
    public long seed()
    {
        return 0;
    }

    @Override
    public long slice(final int cpu)
    {
        final long now = System.nanoTime();
        final long elapsed = Math.max(1, now - lastNanos);
        lastNanos = now;
        // Instructions the previous slice ran per host nanosecond, scaled to the target span.
        long next = lastSlice * TARGET_NANOS / elapsed;
        next = Math.max(500, Math.min(200_000, next + (now & 0x3FF)));
        lastSlice = next;
        return next;
    }

    @Override
    public int pickCpu(final long runnable, final int previous)
    {
        final long bits = System.nanoTime() ^ mix.next();
        final int n = Long.bitCount(runnable);
        int k = (int)Long.remainderUnsigned(bits, n);
        long m = runnable;
        while (k-- > 0)
        {
            m &= m - 1;
        }
        return Long.numberOfTrailingZeros(m);
    }

    @Override
    public long irqDelay(final int cpu, final int vector)
    {
        return (System.nanoTime() >>> 4) & 0x3F;
    }

    @Override
    public long netLatency(final int src, final int dst, final int length)
    {
        return 1_000 + ((System.nanoTime() >>> 3) & 0xFFF);
    }

    @Override
    public boolean netDrop(final int src, final int dst, final int length)
    {
        return false;
    }

    @Override
    public long random()
    {
        return mix.next() ^ System.nanoTime();
    }

    @Override
    public long stimulus(final int id, final long nominal)
    {
        return nominal + ((System.nanoTime() >>> 5) & 0xFFFF);
    }
}
