package palimpsest.replayer.bisect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.kernel.patches.Patch;
import palimpsest.kernel.patches.PatchSeries;
import palimpsest.recorder.Recording;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.Replay;
import palimpsest.replayer.ReplayResult;

/**
 * The first patch of a series that makes a scenario go bad (or, with {@link #firstFix}, the first
 * that makes it good again), found the way {@code git bisect} finds a commit, except that every
 * step is deterministic: the bad end is recorded once per seed, and each candidate kernel replays
 * those recordings' inputs (what-if replay) instead of running anew, so a step cannot "lie" by
 * being lucky with timing, and a schedule that exposed the bug is the one every candidate gets.
 *
 * <p>Candidates: the patches in the newer version's series that the older one lacks, in series
 * order, p1..pn. Candidate k is the older version plus p1..pk (candidate 0 is the older version,
 * candidate n has the newer version's patches). Terms: a first-bad bisect has old = good and new =
 * bad (git's default); a first-fix bisect has old = broken (bad) and new = fixed (good), as {@code
 * git bisect start --term-old=broken --term-new=fixed}.
 *
 * <p>The ends are checked before any bisection: the bad end's recordings must be BAD on some seed,
 * and the good end, replayed over every one of them, GOOD on all; otherwise {@link #run} refuses
 * with one line naming the wrong end (an unchecked end gives a confidently wrong answer).
 *
 * <p>Each candidate is judged over every recorded seed ({@link #seeds}): BAD if any seed is bad, GOOD
 * if all are good, SKIP otherwise (the scenario cannot tell). Binary search keeps old-term &lt;
 * first new-term &lt;= new end; a skipped midpoint is replaced by the nearest untested candidate
 * between the bounds, alternating after and before it; when every candidate between the bounds is
 * skipped the answer is a range.
 *
 * <p>With {@link #jobs} above 1, the seeds of a step (the bad end's recordings, then each
 * candidate's replays) run at once on that many threads. Every emulated machine is built from its
 * own trace or seed and shares nothing mutable, so the verdicts are those of one thread; they are
 * collected and reported in seed order, and the listener is only called from the caller's thread.
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
    private boolean firstFix;
    private Map<String, String> args = Map.of();
    private MachineConfig config;
    private String scheduleKind = "seeded";
    private long seed;
    private int seeds = 1;
    private int jobs = 1;
    private Path badTrace;
    private Listener listener = (s, left) -> { };
    /** Events of each seed's recording of the bad end, in seed order. */
    private final List<Long> recordedEvents = new ArrayList<>();

    public PatchBisect(final Scenario scenario, final ScenarioCatalog catalog)
    {
        this.scenario = Objects.requireNonNull(scenario);
        this.catalog = Objects.requireNonNull(catalog);
        this.config = scenario.defaultConfig();
    }

    /** The version where the scenario is good (the older one; the newer one with {@link #firstFix}). */
    public PatchBisect good(final String version)
    {
        this.goodVersion = version;
        return this;
    }

    /** The version where the scenario is bad (the newer one; the older one with {@link #firstFix}). */
    public PatchBisect bad(final String version)
    {
        this.badVersion = version;
        return this;
    }

    /** Look for the first patch that fixes the scenario: the bad version is the older one. */
    public PatchBisect firstFix(final boolean on)
    {
        this.firstFix = on;
        return this;
    }

    /** First-fix bisect: the version that has the fix (good). */
    public PatchBisect fixedIn(final String version)
    {
        return firstFix(true).good(version);
    }

    /** First-fix bisect: the version that lacks the fix (bad). */
    public PatchBisect brokenIn(final String version)
    {
        return firstFix(true).bad(version);
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

    /** The schedule of the recorded runs and the first seed. */
    public PatchBisect schedule(final String kind, final long seed)
    {
        this.scheduleKind = Objects.requireNonNull(kind);
        this.seed = seed;
        return this;
    }

    /** How many schedules judge each candidate: seeds seed, seed+1, ..., seed+count-1 (default 1). */
    public PatchBisect seeds(final int count)
    {
        if (count < 1)
        {
            throw new IllegalArgumentException("--seeds must be at least 1, got " + count);
        }
        this.seeds = count;
        return this;
    }

    /**
     * How many seeds run at once (default 1: one after another). More workers than seeds are not
     * started. The result does not depend on it.
     */
    public PatchBisect jobs(final int count)
    {
        if (count < 1)
        {
            throw new IllegalArgumentException("--jobs must be at least 1, got " + count);
        }
        this.jobs = count;
        return this;
    }

    /** The workers a run starts: {@link #jobs} capped by the seed count. */
    public int workers()
    {
        return Math.min(jobs, seeds);
    }

    /**
     * Where the bad end is recorded (must not exist or be empty): the trace itself for one seed, one
     * subdirectory per seed ({@code seed-N}) for several.
     */
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

    private String oldVersion()
    {
        return firstFix ? badVersion : goodVersion;
    }

    private String newVersion()
    {
        return firstFix ? goodVersion : badVersion;
    }

    private String oldName()
    {
        return firstFix ? "bad (broken)" : "good";
    }

    private String newName()
    {
        return firstFix ? "good (fixed)" : "bad";
    }

    /** The candidate patches between the older and the newer version, in series order. */
    public List<Patch> candidates()
    {
        if (!scenario.usesKernel())
        {
            throw new IllegalArgumentException("scenario '" + scenario.name() + "' does not boot the kernel: nothing to bisect");
        }
        final PatchSeries series = PatchSeries.load();
        final List<Patch> older = series.resolve(oldVersion(), List.of());
        final List<Patch> newer = series.resolve(newVersion(), List.of());
        final Set<String> olderNames = new HashSet<>();
        older.forEach(p -> olderNames.add(p.name()));
        final Set<String> newerNames = new HashSet<>();
        newer.forEach(p -> newerNames.add(p.name()));
        for (final Patch p : older)
        {
            if (!newerNames.contains(p.name()))
            {
                throw new IllegalArgumentException("the " + oldName() + " version " + oldVersion() + " has patch " + p.name() +
                    " that the " + newName() + " version " + newVersion() + " lacks: the " + oldName() +
                    " version must come before the " + newName() + " one" +
                    (firstFix ? " (without --first-fix: the first patch that breaks it)" :
                        " (to find the first patch that fixes it: --first-fix, or --fixed-in V2 --broken-in V1)"));
            }
        }
        final List<Patch> out = new ArrayList<>();
        for (final Patch p : newer)
        {
            if (!olderNames.contains(p.name()))
            {
                out.add(p);
            }
        }
        if (out.isEmpty())
        {
            throw new IllegalArgumentException("no patches between " + oldVersion() + " and " + newVersion());
        }
        return out;
    }

    /** The seeds each candidate is judged over. */
    public List<Long> seedList()
    {
        final List<Long> out = new ArrayList<>();
        for (int i = 0; i < seeds; i++)
        {
            out.add(seed + i);
        }
        return out;
    }

    /** Where seed number i of the bad end is recorded. */
    public Path traceOf(final int i)
    {
        return seeds == 1 ? badTrace : badTrace.resolve("seed-" + (seed + i));
    }

    /**
     * Records the bad end on every seed, checks both ends, then bisects.
     *
     * @throws IllegalArgumentException (one line) for unknown versions, versions in the wrong order,
     *         a bad end that no seed judges bad, or a good end that is not good on every seed.
     */
    public BisectResult run()
    {
        if (goodVersion == null || badVersion == null || badTrace == null)
        {
            throw new IllegalStateException("good, bad and badTrace must be set");
        }
        final List<Patch> candidates = candidates();
        final ExecutorService pool = workers() > 1 ? pool(workers()) : null;
        try
        {
            return run(candidates, pool);
        }
        finally
        {
            if (pool != null)
            {
                pool.shutdownNow();
            }
        }
    }

    /** Worker threads see the caller's context class loader, where plugin scenarios and patches are found. */
    private static ExecutorService pool(final int workers)
    {
        final ClassLoader loader = Thread.currentThread().getContextClassLoader();
        final AtomicInteger n = new AtomicInteger();
        return Executors.newFixedThreadPool(workers, r ->
        {
            final Thread t = new Thread(r, "pal-bisect-" + n.incrementAndGet());
            t.setDaemon(true);
            t.setContextClassLoader(loader);
            return t;
        });
    }

    /**
     * perSeed(i) for every seed index, in seed order: on the pool if there is one. Every task is
     * waited for before a failure is rethrown (the first in seed order, as one thread would have
     * met it), so no run is still writing into the trace directory when the caller cleans it up.
     */
    private static <T> List<T> eachSeed(final int count, final ExecutorService pool, final IntFunction<T> perSeed)
    {
        final List<T> out = new ArrayList<>(count);
        if (pool == null)
        {
            for (int i = 0; i < count; i++)
            {
                out.add(perSeed.apply(i));
            }
            return out;
        }
        final List<Future<T>> futures = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            final int seedIndex = i;
            futures.add(pool.submit(() -> perSeed.apply(seedIndex)));
        }
        Throwable failure = null;
        boolean interrupted = false;
        for (final Future<T> f : futures)
        {
            while (true)
            {
                try
                {
                    out.add(f.get());
                    break;
                }
                catch (final ExecutionException e)
                {
                    if (failure == null)
                    {
                        failure = e.getCause();
                    }
                    break;
                }
                catch (final InterruptedException e)
                {
                    interrupted = true; // keep waiting: the runs write into the caller's directory
                }
            }
        }
        if (interrupted)
        {
            Thread.currentThread().interrupt();
        }
        if (failure instanceof RuntimeException)
        {
            throw (RuntimeException)failure;
        }
        if (failure instanceof Error)
        {
            throw (Error)failure;
        }
        if (failure != null)
        {
            throw new IllegalStateException(failure);
        }
        return out;
    }

    private BisectResult run(final List<Patch> candidates, final ExecutorService pool)
    {
        final int n = candidates.size();
        final long t0 = System.nanoTime();
        final List<BisectStep> steps = new ArrayList<>();
        // The bad end: candidate n of a first-bad bisect, candidate 0 of a first-fix one.
        final int badEnd = firstFix ? 0 : n;
        final int goodEnd = n - badEnd;
        final BisectStep recorded = record(candidates, badEnd, pool);
        steps.add(recorded);
        listener.step(recorded, n - 1);
        long events = 0;
        if (recorded.kind != Verdict.Kind.BAD)
        {
            throw new IllegalArgumentException("the bad end " + badVersion + " is not bad for " + scenario.name() + " (" +
                seedWords() + "): " + describe(recorded) + "; nothing to bisect");
        }
        final Verdict.Kind[] known = new Verdict.Kind[n + 1];
        known[badEnd] = Verdict.Kind.BAD;
        int replays = 0;
        final BisectStep other = replayStep(candidates, goodEnd, goodVersion, true, pool);
        replays += seeds;
        steps.add(other);
        if (other.kind != Verdict.Kind.GOOD)
        {
            throw new IllegalArgumentException("the good end " + goodVersion + " is " + (other.kind == Verdict.Kind.BAD ?
                "bad" : "not good (cannot tell)") + " for " + scenario.name() + " (" + seedWords() + "): " + describe(other) +
                "; give " + (firstFix ? "a later" : "an earlier") + " good version");
        }
        known[goodEnd] = Verdict.Kind.GOOD;
        listener.step(other, n - 1);
        final Verdict.Kind oldKind = firstFix ? Verdict.Kind.BAD : Verdict.Kind.GOOD;
        final Verdict.Kind newKind = firstFix ? Verdict.Kind.GOOD : Verdict.Kind.BAD;
        int lo = 0;
        int hi = n;
        while (true)
        {
            final int k = pick(known, lo, hi);
            if (k < 0)
            {
                break;
            }
            final BisectStep step = replayStep(candidates, k, label(k), false, pool);
            replays += seeds;
            known[k] = step.kind;
            if (step.kind == oldKind)
            {
                lo = k;
            }
            else if (step.kind == newKind)
            {
                hi = k;
            }
            steps.add(step);
            listener.step(step, untested(known, lo, hi));
        }
        for (int i = 0; i < seeds; i++)
        {
            events += eventsOf(i);
        }
        final List<Patch> suspects = new ArrayList<>(candidates.subList(lo, hi));
        return new BisectResult(scenario.name(), goodVersion, badVersion, firstFix, seedList(), badTrace, events,
            candidates, steps, suspects, replays, System.nanoTime() - t0);
    }

    private long eventsOf(final int i)
    {
        return i < recordedEvents.size() ? recordedEvents.get(i) : 0;
    }

    private String seedWords()
    {
        return seeds == 1 ? scheduleKind + " seed " + seed : scheduleKind + " seeds " + seed + ".." + (seed + seeds - 1);
    }

    private static String describe(final BisectStep s)
    {
        return s.perSeed.size() == 1 ? s.message : s.seedSummary() + "; " + s.message;
    }

    private BisectStep record(final List<Patch> candidates, final int k, final ExecutorService pool)
    {
        final long s0 = System.nanoTime();
        final List<palimpsest.recorder.RecordingSummary> runs = eachSeed(seeds, pool, i -> new Recording(scenario).config(config)
            .context(new ScenarioContext(args, badVersion, List.of()))
            .schedule(scheduleKind, seed + i).output(traceOf(i)).run());
        final List<BisectStep.SeedVerdict> verdicts = new ArrayList<>();
        recordedEvents.clear();
        for (int i = 0; i < seeds; i++)
        {
            recordedEvents.add(runs.get(i).events());
            verdicts.add(new BisectStep.SeedVerdict(seed + i, runs.get(i).verdict()));
        }
        return new BisectStep(k, null, badVersion, verdicts, System.nanoTime() - s0, true, firstFix);
    }

    /** Replays candidate k over every recorded seed; an end is named by its version, not its last patch. */
    private BisectStep replayStep(final List<Patch> candidates, final int k, final String label, final boolean end,
        final ExecutorService pool)
    {
        final long s0 = System.nanoTime();
        final List<BisectStep.SeedVerdict> verdicts = eachSeed(seeds, pool, i ->
        {
            final ReplayResult r = replay(candidates, k, traceOf(i));
            return new BisectStep.SeedVerdict(seed + i,
                r.verdict != null ? r.verdict : Verdict.skip("the replay gave no verdict: " + r.outcome));
        });
        return new BisectStep(k, k == 0 || end ? null : candidates.get(k - 1), label, verdicts, System.nanoTime() - s0, false,
            firstFix);
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

    private ReplayResult replay(final List<Patch> candidates, final int k, final Path trace)
    {
        final List<String> toggles = new ArrayList<>();
        for (int i = 0; i < k; i++)
        {
            toggles.add("+" + candidates.get(i).name());
        }
        return new Replay(trace, catalog).kernel(oldVersion()).patches(toggles).run();
    }

    private String label(final int k)
    {
        return oldVersion() + "+" + k;
    }
}
