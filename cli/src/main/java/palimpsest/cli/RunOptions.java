package palimpsest.cli;

import java.util.List;

import palimpsest.emulator.Scenario;
import palimpsest.emulator.input.InputSources;
import palimpsest.kernel.patches.PatchSeries;

/** Checks shared by the verbs that run a scenario (record, hunt): schedule, kernel and patch options. */
final class RunOptions
{
    private RunOptions()
    {
    }

    static void check(final Scenario scenario, final String schedule, final String kernel, final List<String> patches)
    {
        if (!List.of(InputSources.KINDS).contains(schedule))
        {
            throw new UserError("unknown schedule '" + schedule + "' (free, seeded or chaos)");
        }
        if (!scenario.usesKernel() && (kernel != null || !patches.isEmpty()))
        {
            throw new UserError("scenario " + scenario.name() + " runs on bare hardware: --kernel and --patch do not apply");
        }
        for (final String p : patches)
        {
            if (p.length() < 2 || (p.charAt(0) != '+' && p.charAt(0) != '-'))
            {
                throw new UserError("--patch wants +NAME or -NAME, got '" + p + "'");
            }
        }
    }

    /** The kernel that runs, never "the default": a later default is another kernel (headers and hunt specs name it). */
    static String version(final Scenario scenario, final String kernel)
    {
        return scenario.usesKernel() && (kernel == null || kernel.isEmpty()) ? PatchSeries.DEFAULT_VERSION : kernel;
    }
}
