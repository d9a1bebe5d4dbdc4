package palimpsest.replayer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.input.InputSource;
import palimpsest.emulator.input.SeededInput;
import palimpsest.emulator.input.InputSources;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.DecodeAhead;
import palimpsest.trace.TraceException;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceStatus;

/**
 * Re-executes a trace: rebuilds the machine and scenario from the header, answers every choice
 * from the recorded inputs ({@link ReplayInput}) and compares each regenerated event with the
 * recorded one ({@link Verifier}).
 *
 * <p>What-if replay: give another kernel version or patch toggles; the run follows the recorded
 * inputs while it agrees, reports where it first departs, and runs on under the recorded schedule
 * policy so that its own ending (oops or clean) is known too.
 */
public final class Replay
{
    private final Path trace;
    private final ScenarioCatalog catalog;
    private String kernelVersion;
    private List<String> patches;
    private ReplayTap tap;

    public Replay(final Path trace, final ScenarioCatalog catalog)
    {
        this.trace = trace;
        this.catalog = catalog;
    }

    /** Replays under another kernel version (what-if). */
    public Replay kernel(final String version)
    {
        this.kernelVersion = version;
        return this;
    }

    /** Replays with other patch toggles (what-if), added to the recorded ones. */
    public Replay patches(final List<String> toggles)
    {
        this.patches = toggles;
        return this;
    }

    /** Shows every regenerated event to tap as well (after verification). */
    public Replay tap(final ReplayTap tap)
    {
        this.tap = tap;
        return this;
    }

    /** The verifier of the run under way or done (null before): read by {@link #verifiedSoFar} from another thread. */
    private volatile Verifier live;

    /**
     * Events verified so far by the run under way, for a progress line on another thread (a racy
     * read of a plain counter: nothing is added to the replay's path).
     */
    public long verifiedSoFar()
    {
        final Verifier v = live;
        return v == null ? 0 : v.verified();
    }

    public boolean whatIf()
    {
        return kernelVersion != null || (patches != null && !patches.isEmpty());
    }

    /**
     * @throws TraceException for an unreadable trace
     * @throws IllegalArgumentException with a one-line message for a scenario this tool lacks or a
     *         bad kernel version
     */
    public ReplayResult run()
    {
        // One decode thread: every event for the verifier. ReplayInput answers each question from the
        // verifier's next recorded event (the INPUT the replay records right after asking), and opens a
        // stream of inputs of its own only once the run leaves the recording (a what-if run going on).
        ReplayInput input = null;
        try (DecodeAhead recording = DecodeAhead.open(trace))
        {
            final TraceHeader h = recording.header();
            final Scenario scenario = catalog.find(h.scenario());
            if (scenario == null)
            {
                throw new IllegalArgumentException("the trace was recorded with scenario '" + h.scenario() +
                    "', which this pal does not have (a plugin? pass --plugin JAR)");
            }
            final MachineConfig config = ScenarioCatalog.configOf(h);
            ScenarioContext context = ScenarioCatalog.contextOf(h);
            if (whatIf())
            {
                final List<String> toggles = new ArrayList<>(context.patches());
                if (patches != null)
                {
                    toggles.addAll(patches);
                }
                context = new ScenarioContext(context.args(), kernelVersion != null ? kernelVersion : context.kernelVersion(), toggles);
            }
            final InputSource fallback = "free".equals(h.scheduleKind()) || "replay".equals(h.scheduleKind()) ?
                new SeededInput(h.seed()) : InputSources.create(h.scheduleKind(), h.seed());
            final Verifier verifier = new Verifier(recording, !whatIf());
            input = new ReplayInput(verifier, trace, fallback);
            final Machine machine = new Machine(config, verifier, input);
            verifier.attach(machine);
            if (tap != null)
            {
                verifier.tap(tap);
                tap.attach(machine);
            }
            scenario.load(machine, context);
            // The clock starts, as a recording's does once its writer is open, with the recording
            // open and its first events decoded (the decode thread's start: opening the queue,
            // mapping its file). A recording's clock also stops before its encoder drains.
            verifier.peekRecorded();
            final long t0 = System.nanoTime();
            live = verifier;
            final Outcome outcome = machine.run(scenario.maxInstructions());
            final long nanos = System.nanoTime() - t0;
            if (verifier.divergence() == null)
            {
                verifier.finish(outcome.toString());
            }
            final Verdict verdict = verifier.divergence() != null && !whatIf() ? null : scenario.verdict(machine, outcome);
            return new ReplayResult(h, verifier.verified(), verifier.afterDivergence(), verifier.divergence(),
                input.departure(), outcome, verdict, nanos, recording.status(), recording.statusMessage(), machine,
                recording.status() == TraceStatus.COMPLETE ? recording.end() : null);
        }
        finally
        {
            if (input != null)
            {
                input.close();
            }
        }
    }
}
