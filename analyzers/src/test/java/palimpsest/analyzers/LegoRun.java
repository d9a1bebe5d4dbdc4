package palimpsest.analyzers;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import palimpsest.analyzers.core.Symbols;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.ScenarioContext;
import palimpsest.recorder.Recording;
import palimpsest.recorder.RecordingSummary;
import palimpsest.recorder.ScenarioCatalog;

/**
 * One recorded run of a LegoOS diary test: its trace, the recording's summary, what pal analyze answers,
 * and node 0's console (the processor node, where the diary's oopses print). Shared by the diary tests so
 * each records the same way.
 */
final class LegoRun
{
    final Path trace;
    final RecordingSummary summary;
    final Analysis.Result analysis;
    final StringBuilder console;

    private LegoRun(final Path trace, final RecordingSummary summary, final Analysis.Result analysis, final StringBuilder console)
    {
        this.trace = trace;
        this.summary = summary;
        this.analysis = analysis;
        this.console = console;
    }

    /** Records scenario at kernel (no keyframes) into dir, on config's machine (null: the scenario's own), and analyzes it. */
    static LegoRun record(final ScenarioCatalog catalog, final Path dir, final String scenario, final String kernel,
        final Map<String, String> args, final String schedule, final long seed, final MachineConfig config)
    {
        final Path trace = dir.resolve(scenario + "-" + kernel + "-" + schedule + seed);
        final Recording rec = new Recording(catalog.find(scenario)).context(new ScenarioContext(args, kernel, List.of()))
            .schedule(schedule, seed).keyframeEvery(0).output(trace);
        if (config != null)
        {
            rec.config(config);
        }
        final StringBuilder p0 = new StringBuilder();
        rec.console((node, ch) -> {
            if (node == 0)
            {
                p0.append(ch);
            }
        });
        final RecordingSummary sum = rec.run();
        return new LegoRun(trace, sum, Analysis.run(trace, Symbols.of(rec.header(), catalog), null), p0);
    }
}
