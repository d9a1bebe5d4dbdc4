package palimpsest.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Parameters;
import palimpsest.analyzers.Analysis;
import palimpsest.analyzers.AnalyzerFactory;
import palimpsest.analyzers.invariants.Invariants;
import palimpsest.kernel.patches.Patch;
import palimpsest.kernel.patches.PatchSeries;
import palimpsest.trace.EventKind;

@Command(name = "completion", mixinStandardHelpOptions = true,
    header = "Print a shell completion script for pal (bash or zsh).",
    description = {"Print a completion script for pal: verbs, options, and the values of",
        "--scenario, --kernel, --patch, --good/--bad, --invariant, --only, --kind,",
        "--schedule and --format, from this pal's registries (and the --plugin jars",
        "given here) as they are when the script is generated. Load it with",
        "  source <(pal completion bash)   (or put it in ~/.bash_completion)",
        "  source <(pal completion zsh)    (the same script, through bashcompinit)"})
final class CompletionCommand implements Callable<Integer>
{
    private final Io io;

    @Parameters(index = "0", paramLabel = "SHELL", completionCandidates = Shells.class, description = "bash or zsh.")
    String shell;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    CompletionCommand(final Io io)
    {
        this.io = io;
    }

    /** The shells a script can be printed for. */
    static final class Shells extends ArrayList<String>
    {
        private static final long serialVersionUID = 1L;

        Shells()
        {
            super(List.of("bash", "zsh"));
        }
    }

    @Override
    public Integer call()
    {
        if (!"bash".equals(shell) && !"zsh".equals(shell))
        {
            throw new UserError("completion: unknown shell '" + shell + "'; one of bash, zsh");
        }
        final CommandLine cl = Main.commandLine(io);
        candidates(cl, values());
        final String script = AutoComplete.bash("pal", cl);
        if ("zsh".equals(shell))
        {
            // picocli's script detects zsh and loads bashcompinit itself.
            io.out.print("#compdef pal\n# pal completion for zsh (the bash script below, through bashcompinit)\n");
        }
        io.out.print(script);
        io.out.flush();
        return 0;
    }

    /** Option name -> the values to offer, from the registries as they are now. */
    private Map<String, List<String>> values()
    {
        final List<String> scenarios = plugins.catalog().names();   // also puts the plugin jars on the context class loader
        final PatchSeries series = PatchSeries.load();
        final List<String> versions = series.versions();
        final List<String> toggles = new ArrayList<>();
        for (final Patch p : series.patches())
        {
            toggles.add("+" + p.name());
            toggles.add("-" + p.name());
        }
        final List<String> analyzers = new ArrayList<>();
        for (final AnalyzerFactory f : Analysis.factories())
        {
            analyzers.add(f.name());
        }
        final List<String> kinds = new ArrayList<>();
        kinds.add("access");
        for (int k = 0; k < EventKind.COUNT; k++)
        {
            kinds.add(EventKind.name(k));
        }
        final Map<String, List<String>> v = new LinkedHashMap<>();
        v.put("--scenario", scenarios);
        v.put("--kernel", versions);
        v.put("--good", versions);
        v.put("--bad", versions);
        v.put("--fixed-in", versions);
        v.put("--broken-in", versions);
        v.put("--patch", toggles);
        v.put("--invariant", Invariants.load().names());
        v.put("--only", analyzers);
        v.put("--kind", kinds);
        v.put("--schedule", List.of("free", "seeded", "chaos"));
        v.put("--format", List.of("json", "svg"));
        return v;
    }

    /** Gives every option of those names, in every verb, its candidates (picocli writes them into the script). */
    private static void candidates(final CommandLine cl, final Map<String, List<String>> values)
    {
        final CommandSpec spec = cl.getCommandSpec();
        for (final Map.Entry<String, List<String>> e : values.entrySet())
        {
            final OptionSpec o = spec.findOption(e.getKey());
            if (o != null && o.arity().max() > 0)
            {
                spec.remove(o);
                spec.addOption(o.toBuilder().completionCandidates(new ArrayList<>(e.getValue())).build());
            }
        }
        for (final CommandLine sub : cl.getSubcommands().values())
        {
            candidates(sub, values);
        }
    }
}
