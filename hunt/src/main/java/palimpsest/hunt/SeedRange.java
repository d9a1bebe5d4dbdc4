package palimpsest.hunt;

import java.util.ArrayList;
import java.util.List;

/** The seeds of a campaign: {@code A..B} (inclusive), a single {@code N}, or a comma list of both. */
public final class SeedRange
{
    /** More seeds than this in one campaign is almost surely a typo (and a manifest of gigabytes). */
    public static final long MAX_SEEDS = 10_000_000L;

    private final String text;
    private final List<long[]> spans;
    private final long count;

    private SeedRange(final String text, final List<long[]> spans, final long count)
    {
        this.text = text;
        this.spans = spans;
        this.count = count;
    }

    /**
     * Parses {@code 1..200}, {@code 7} or {@code 1..10,40..50}.
     *
     * @throws IllegalArgumentException with a one-line message for anything else.
     */
    public static SeedRange parse(final String text)
    {
        if (text == null || text.isBlank())
        {
            throw new IllegalArgumentException("empty seed range (want A..B, e.g. 1..200)");
        }
        final List<long[]> spans = new ArrayList<>();
        long count = 0;
        for (final String part : text.strip().split(","))
        {
            final String p = part.strip();
            final int dots = p.indexOf("..");
            final long lo;
            final long hi;
            try
            {
                lo = Long.parseLong((dots < 0 ? p : p.substring(0, dots)).strip());
                hi = dots < 0 ? lo : Long.parseLong(p.substring(dots + 2).strip());
            }
            catch (final NumberFormatException e)
            {
                throw new IllegalArgumentException("bad seed range '" + text + "' (want A..B with whole numbers, e.g. 1..200)");
            }
            if (lo < 0 || hi < lo)
            {
                throw new IllegalArgumentException("bad seed range '" + p + "' (want A..B with 0 <= A <= B)");
            }
            count += hi - lo + 1;
            if (hi - lo + 1 <= 0 || count > MAX_SEEDS)
            {
                throw new IllegalArgumentException("seed range '" + text + "' holds more than " + MAX_SEEDS + " seeds");
            }
            spans.add(new long[] {lo, hi});
        }
        return new SeedRange(text.strip(), spans, count);
    }

    public long count()
    {
        return count;
    }

    /** The seeds in ascending order, each once. */
    public long[] seeds()
    {
        return java.util.stream.LongStream.range(0, spans.size())
            .flatMap(i -> java.util.stream.LongStream.rangeClosed(spans.get((int)i)[0], spans.get((int)i)[1]))
            .distinct().sorted().toArray();
    }

    @Override
    public String toString()
    {
        return text;
    }
}
