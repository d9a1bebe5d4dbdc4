package palimpsest.cli;

import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import palimpsest.emulator.ScenarioArg;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Scenario;
import palimpsest.recorder.ScenarioCatalog;

@Command(name = "scenarios", mixinStandardHelpOptions = true,
    header = "List the scenarios pal can record and the arguments they take.",
    description = {"List the scenarios pal can record: built in, and from --plugin jars.",
        "With --args, also the --arg names each takes, their defaults and what they do."})
final class ScenariosCommand implements Callable<Integer>
{
    private final Io io;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    @Option(names = "--args", description = "List each scenario's arguments (--arg NAME=VALUE) too.")
    boolean args;

    ScenariosCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        final ScenarioCatalog c = plugins.catalog();
        final List<Scenario> all = c.all();
        int w = 8;
        for (final Scenario s : all)
        {
            w = Math.max(w, s.name().length());
        }
        final StringBuilder b = new StringBuilder();
        b.append(String.format("%-" + w + "s  %-8s  %-24s  %s%n", "NAME", "RUNS ON", "DEFAULT MACHINE", "DESCRIPTION"));
        for (final Scenario s : all)
        {
            final MachineConfig d = s.defaultConfig();
            b.append(String.format("%-" + w + "s  %-8s  %-24s  %s%s%n", s.name(), s.usesKernel() ? "kernel" : "hardware",
                d.nodes + " node x " + d.cpusPerNode + " cpu, " + d.memMiB + " MiB",
                s.description(), PluginOptions.isPlugin(s) ? " [plugin]" : ""));
        }
        for (final Scenario s : args ? all : List.<Scenario>of())
        {
            final List<ScenarioArg> known = s.args();
            b.append('\n').append(s.name()).append(known == null ? ": arguments not declared (passed through unchecked)\n" :
                known.isEmpty() ? ": no arguments\n" : ":\n");
            for (final ScenarioArg a : known == null ? List.<ScenarioArg>of() : known)
            {
                b.append("  --arg ").append(a).append('\n');
            }
        }
        if (all.isEmpty())
        {
            b.append("(no scenarios found)\n");
        }
        io.out.print(b);
        for (final String p : c.problems())
        {
            io.err.println("pal: warning: a scenario could not be loaded: " + p);
        }
        return 0;
    }
}
