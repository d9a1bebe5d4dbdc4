package palimpsest.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import picocli.CommandLine.Option;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.input.InputSources;
import palimpsest.kernel.patches.PatchSeries;

/** The options of the verbs that run a scenario (record, hunt): machine shape, arguments, kernel and patches. */
final class RunOptions
{
    @Option(names = "--cpus", paramLabel = "N", description = "CPUs per node (default: the scenario's).")
    Integer cpus;

    @Option(names = "--nodes", paramLabel = "N", description = "Nodes (default: the scenario's).")
    Integer nodes;

    @Option(names = "--mem", paramLabel = "MiB", description = "RAM per node in MiB (default: the scenario's).")
    Integer mem;

    @Option(names = "--arg", paramLabel = "K=V", description = "Scenario argument; repeatable.")
    Map<String, String> args = new LinkedHashMap<>();

    @Option(names = "--kernel", paramLabel = "V", description = "Kernel version (kernel scenarios only).")
    String kernel;

    @Option(names = "--patch", paramLabel = "+P|-P", description = "Apply (+) or revert (-) one patch (kernel scenarios only); repeatable.")
    List<String> patches = new ArrayList<>();

    void check(final Scenario scenario, final String schedule)
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

    /** The machine: the scenario's default shape with --nodes, --cpus and --mem applied. */
    MachineConfig config(final Scenario scenario)
    {
        final MachineConfig d = scenario.defaultConfig();
        return new MachineConfig(nodes != null ? nodes : d.nodes, cpus != null ? cpus : d.cpusPerNode,
            mem != null ? mem : d.memMiB);
    }

    /** The kernel that runs, never "the default": a later default is another kernel (headers and hunt specs name it). */
    String version(final Scenario scenario)
    {
        return scenario.usesKernel() && (kernel == null || kernel.isEmpty()) ? PatchSeries.DEFAULT_VERSION : kernel;
    }

    ScenarioContext context(final Scenario scenario)
    {
        return new ScenarioContext(args, version(scenario), patches);
    }
}
