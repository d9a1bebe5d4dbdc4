package palimpsest.hunt;

import palimpsest.emulator.Scenario;
import palimpsest.recorder.Recording;
import palimpsest.recorder.RecordingSummary;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.TraceReader;

import java.nio.file.Path;

/**
 * Records one seed of a campaign into a trace directory and judges it: verdict, {@link Signature}
 * and the trace's digest. The same on every worker, local or on a cluster member: the run depends
 * on the spec and the seed alone.
 */
public final class SeedRun
{
    /** Console text kept for the signature (the oops comes near the end; a chatty run is cut at the front). */
    private static final int CONSOLE_KEEP = 256 * 1024;

    private SeedRun()
    {
    }

    /**
     * Records spec under seed into traceDir (absent or empty). Keyframes are not written: a hunt
     * keeps only failures, and {@code pal state} rebuilds them in one pass when asked.
     *
     * @throws IllegalArgumentException when the scenario is unknown here or rejects the arguments.
     */
    public static RunResult record(final HuntSpec spec, final ScenarioCatalog catalog, final long seed, final Path traceDir,
        final String worker)
    {
        final Scenario scenario = catalog.find(spec.scenario());
        if (scenario == null)
        {
            throw new IllegalArgumentException("unknown scenario '" + spec.scenario() + "' on " + worker +
                "; known scenarios: " + String.join(", ", catalog.names()));
        }
        final StringBuilder console = new StringBuilder();
        final RecordingSummary s = new Recording(scenario)
            .config(spec.config())
            .context(spec.context())
            .schedule(spec.schedule(), seed)
            .output(traceDir)
            .keyframeEvery(0)
            .console((node, ch) ->
            {
                console.append(ch);
                if (console.length() > 2 * CONSOLE_KEEP)
                {
                    console.delete(0, console.length() - CONSOLE_KEEP);
                }
            })
            .run();
        final long digest;
        try (TraceReader r = TraceReader.open(traceDir))
        {
            r.verify();
            digest = r.digest();
        }
        final boolean failed = s.verdict().kind != palimpsest.emulator.Verdict.Kind.GOOD;
        return new RunResult(seed, s.verdict().kind, s.verdict().toString(), s.outcome().toString(),
            failed ? Signature.of(s.verdict(), console) : "", digest, s.events(), worker, null, failed ? traceDir : null);
    }
}
