package palimpsest.replayer.bisect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.kernel.patches.Patch;
import palimpsest.kernel.patches.PatchSeries;
import palimpsest.recorder.Recording;
import palimpsest.recorder.RecordingSummary;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.Replay;
import palimpsest.replayer.ReplayResult;

/**
 * The first patch of a series that makes a scenario go bad, found the way {@code git bisect} finds a
 * commit, except that every step is deterministic: the bad run is recorded once, and each candidate
 * kernel replays that recording's inputs (what-if replay) instead of running anew, so a step cannot
 * "lie" by being lucky with timing.
 *
 * <p>Candidates: the patches in the bad version's series that the good version lacks, in series
 * order, p1..pn. Candidate k is the good version plus p1..pk (candidate 0 is the good version,
 * candidate n has the bad version's patches). The scenario's verdict on the replayed run classifies
 * it good, bad or skip (the scenario cannot tell). Binary search keeps good &lt; first bad &lt;= bad;
 * a skipped midpoint is replaced by the nearest untested candidate between the bounds, alternating
 * after and before it; when every candidate between the bounds is skipped the answer is a range.
 */
public final class PatchBisect
{
    /** Told about every classified candidate, as it happens (progress). */
    @FunctionalInterface
    public interface Listener
    {
        void step(BisectStep step, int candidatesLeft);
    }

    private final Scenario scenario;
    private final ScenarioCatalog catalog;
    private String goodVersion;
    private String badVersion;
    private Map<String, String> args = Map.of();
    private MachineConfig config;
    private String scheduleKind = "seeded";
    private long seed;
    private Path badTrace;
    private Listener listener = (s, left) -> { };

    public PatchBisect(final Scenario scenario, final ScenarioCatalog catalog)
    {
        this.scenario = Objects.requireNonNull(scenario);
        this.catalog = Objects.requireNonNull(catalog);
        this.config = scenario.defaultConfig();
    }

    public PatchBisect good(final String version)
    {
        this.goodVersion = version;
        return this;
    }

    public PatchBisect bad(final String version)
    {
        this.badVersion = version;
        return this;
    }

    public PatchBisect args(final Map<String, String> args)
    {
        this.args = Map.copyOf(args);
        return this;
    }

    public PatchBisect config(final MachineConfig config)
    {
        this.config = Objects.requireNonNull(config);
        return this;
    }

    public PatchBisect schedule(final String kind, final long seed)
    {
        this.scheduleKind = Objects.requireNonNull(kind);
        this.seed = seed;
        return this;
    }

    /** Where the bad run is recorded (must not exist or be empty). */
    public PatchBisect badTrace(final Path dir)
    {
        this.badTrace = dir;
        return this;
    }

    public PatchBisect listener(final Listener l)
    {
        this.listener = Objects.requireNonNull(l);
        return this;
    }

    /** The candidate patches between the good and the bad version, in series order. */
    public List<Patch> candidates()
    {
        if (!scenario.usesKernel())
        {
            throw new IllegalArgumentException("scenario '" + scenario.name() + "' does not boot the kernel: nothing to bisect");
        }
        final PatchSeries series = PatchSeries.load();
        final List<Patch> good = series.resolve(goodVersion, List.of());
        final List<Patch> bad = series.resolve(badVersion, List.of());
        final Set<String> goodNames = new HashSet<>();
        good.forEach(p -> goodNames.add(p.name()));
        final Set<String> badNames = new HashSet<>();
        bad.forEach(p -> badNames.add(p.name()));
        for (final Patch p : good)
        {
            if (!badNames.contains(p.name()))
            {
                throw new IllegalArgumentException("the good version " + goodVersion + " has patch " + p.name() +
                    " that the bad version " + badVersion + " lacks: the good version must come before the bad one");
            }
        }
        final List<Patch> out = new ArrayList<>();
        for (final Patch p : bad)
        {
            if (!goodNames.contains(p.name()))
            {
                out.add(p);
            }
        }
        if (out.isEmpty())
        {
            throw new IllegalArgumentException("no patches between " + goodVersion + " and " + badVersion);
        }
        return out;
    }

    /**
     * Records the bad run, then bisects.
     *
     * @throws IllegalArgumentException (one line) for unknown versions, versions in the wrong order,
     *         or a bad version whose recorded run the scenario does not judge bad.
     */
    public BisectResult run()
    {
        if (goodVersion == null || badVersion == null || badTrace == null)
        {
            throw new IllegalStateException("good, bad and badTrace must be set");
        }
        final List<Patch> candidates = candidates();
        final long t0 = System.nanoTime();
        final RecordingSummary rec = new Recording(scenario).config(config)
            .context(new ScenarioContext(args, badVersion, List.of()))
            .schedule(scheduleKind, seed).output(badTrace).run();
        final Verdict badVerdict = rec.verdict();
        if (badVerdict.kind != Verdict.Kind.BAD)
        {
            throw new IllegalArgumentException("the scenario " + scenario.name() + " is not bad at " + badVersion +
                " (seed " + seed + "): " + badVerdict + "; nothing to bisect");
        }
        final int n = candidates.size();
        final List<BisectStep> steps = new ArrayList<>();
        final Verdict.Kind[] known = new Verdict.Kind[n + 1];
        known[0] = Verdict.Kind.GOOD;
        known[n] = Verdict.Kind.BAD;
        steps.add(new BisectStep(n, candidates.get(n - 1), badVersion, Verdict.Kind.BAD, badVerdict.message, 0, true));
        int lo = 0;
        int hi = n;
        int replays = 0;
        while (true)
        {
            final int k = pick(known, lo, hi);
            if (k < 0)
            {
                break;
            }
            final long s0 = System.nanoTime();
            final ReplayResult r = replay(candidates, k);
            replays++;
            final Verdict v = r.verdict != null ? r.verdict : Verdict.skip("the replay gave no verdict: " + r.outcome);
            known[k] = v.kind;
            if (v.kind == Verdict.Kind.GOOD)
            {
                lo = k;
            }
            else if (v.kind == Verdict.Kind.BAD)
            {
                hi = k;
            }
            final BisectStep step = new BisectStep(k, candidates.get(k - 1), label(candidates, k), v.kind, v.message,
                System.nanoTime() - s0, false);
            steps.add(step);
            listener.step(step, untested(known, lo, hi));
        }
        final List<Patch> suspects = new ArrayList<>(candidates.subList(lo, hi));
        return new BisectResult(scenario.name(), goodVersion, badVersion, badTrace, rec.events(), candidates, steps,
            suspects, replays, System.nanoTime() - t0);
    }

    /** The next candidate to try strictly between lo and hi, or -1 when none is left untested. */
    public static int pick(final Verdict.Kind[] known, final int lo, final int hi)
    {
        final int mid = (lo + hi) >>> 1;
        for (int d = 0; d < hi - lo; d++)
        {
            final int after = mid + d;
            if (after > lo && after < hi && known[after] == null)
            {
                return after;
            }
            final int before = mid - d;
            if (d > 0 && before > lo && before < hi && known[before] == null)
            {
                return before;
            }
        }
        return -1;
    }

    private static int untested(final Verdict.Kind[] known, final int lo, final int hi)
    {
        int left = 0;
        for (int k = lo + 1; k < hi; k++)
        {
            if (known[k] == null)
            {
                left++;
            }
        }
        return left;
    }

    private ReplayResult replay(final List<Patch> candidates, final int k)
    {
        final List<String> toggles = new ArrayList<>();
        for (int i = 0; i < k; i++)
        {
            toggles.add("+" + candidates.get(i).name());
        }
        return new Replay(badTrace, catalog).kernel(goodVersion).patches(toggles).run();
    }

    private String label(final List<Patch> candidates, final int k)
    {
        return goodVersion + "+" + k;
    }
}
