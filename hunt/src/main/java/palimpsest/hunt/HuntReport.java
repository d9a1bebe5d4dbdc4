package palimpsest.hunt;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import palimpsest.emulator.Verdict;

/**
 * The outcome of a campaign over its whole seed range (resumed runs included): counts per verdict
 * and the failures grouped by {@link Signature}, biggest group first (ties: lowest first seed).
 * Depends only on the manifest, never on which worker ran what or in which order.
 */
public final class HuntReport
{
    /** Failures sharing one signature. */
    public record Group(String signature, int count, long firstSeed, String trace, List<Long> seeds)
    {
    }

    public final HuntSpec spec;
    public final SeedRange seeds;
    public final Path dir;
    /** Every run of the range, by seed. */
    public final List<Manifest.Entry> entries;
    public final List<Group> groups;
    public final int good;
    public final int bad;
    public final int skip;
    /** Runs done by this invocation (the rest came from the manifest). */
    public final int ran;
    public final String where;
    public final long elapsedNanos;

    private HuntReport(final HuntSpec spec, final SeedRange seeds, final Path dir, final List<Manifest.Entry> entries,
        final List<Group> groups, final int ran, final String where, final long elapsedNanos)
    {
        this.spec = spec;
        this.seeds = seeds;
        this.dir = dir;
        this.entries = entries;
        this.groups = groups;
        this.ran = ran;
        this.where = where;
        this.elapsedNanos = elapsedNanos;
        this.good = (int)entries.stream().filter(e -> e.kind() == Verdict.Kind.GOOD).count();
        this.bad = (int)entries.stream().filter(e -> e.kind() == Verdict.Kind.BAD).count();
        this.skip = (int)entries.stream().filter(e -> e.kind() == Verdict.Kind.SKIP).count();
    }

    static HuntReport of(final HuntSpec spec, final SeedRange seeds, final Path dir, final List<Manifest.Entry> manifest,
        final int ran, final String where, final long elapsedNanos)
    {
        final Set<Long> range = LongStream.of(seeds.seeds()).boxed().collect(Collectors.toSet());
        // The last line of a seed wins (a resumed campaign never writes one twice, but be safe).
        final TreeMap<Long, Manifest.Entry> bySeed = new TreeMap<>();
        for (final Manifest.Entry e : manifest)
        {
            if (range.contains(e.seed()))
            {
                bySeed.put(e.seed(), e);
            }
        }
        final Map<String, List<Manifest.Entry>> bySignature = new LinkedHashMap<>();
        for (final Manifest.Entry e : bySeed.values())
        {
            if (e.failed())
            {
                bySignature.computeIfAbsent(e.signature(), k -> new ArrayList<>()).add(e);
            }
        }
        final List<Group> groups = new ArrayList<>();
        bySignature.forEach((sig, list) -> groups.add(new Group(sig, list.size(), list.get(0).seed(), list.get(0).trace(),
            list.stream().map(Manifest.Entry::seed).collect(Collectors.toList()))));
        groups.sort(Comparator.comparingInt(Group::count).reversed().thenComparingLong(Group::firstSeed));
        return new HuntReport(spec, seeds, dir, new ArrayList<>(bySeed.values()), groups, ran, where, elapsedNanos);
    }

    public int failures()
    {
        return bad + skip;
    }

    /** Runs per second of this invocation's runs. */
    public double runsPerSecond()
    {
        return elapsedNanos <= 0 ? 0 : ran * 1e9 / elapsedNanos;
    }
}
