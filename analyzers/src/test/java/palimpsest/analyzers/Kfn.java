package palimpsest.analyzers;

import java.nio.file.Path;

import palimpsest.analyzers.core.Symbols;
import palimpsest.emulator.CodeMap;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.kernel.Layout;
import palimpsest.recorder.Recording;
import palimpsest.recorder.ScenarioCatalog;

/**
 * Test kit of the cause-class analyzers (stale TLB, races, DMA, page lifetime, stack): a System.map
 * of HandMade's functions plus theirs (placed after HandMade's, so both sets keep their addresses),
 * and short recordings of built-in scenarios cut after a number of instructions.
 */
final class Kfn
{
    static final String[] FUNCTIONS = {"set_pte_at", "copy_page_range", "dup_mm", "do_fork", "user_main", "flush_tlb_page",
        "list_add", "counter_inc", "worker", "spin_lock", "spin_unlock", "e1000_post_rx", "e1000_clean_rx", "kfree",
        "free_pages", "get_page", "memcpy", "overflow_fn", "caller_fn", "schedule", "try_to_wake_up"};
    static final CodeMap CODE = new CodeMap();
    static final Symbols SYMBOLS = new Symbols(CODE);

    static
    {
        for (final String f : HandMade.FUNCTIONS)
        {
            CODE.define(f, HandMade.fn(f), 0x100, null);
        }
        for (int i = 0; i < FUNCTIONS.length; i++)
        {
            CODE.define(FUNCTIONS[i], fn(FUNCTIONS[i]), 0x100, null);
        }
    }

    /** The verdict of the last {@link #recordAndAnalyze} run. */
    static Verdict lastVerdict;

    private Kfn()
    {
    }

    static long fn(final String name)
    {
        for (int i = 0; i < FUNCTIONS.length; i++)
        {
            if (FUNCTIONS[i].equals(name))
            {
                return Layout.KERNEL_TEXT + 0x10000 + 0x100L * i;
            }
        }
        return HandMade.fn(name);
    }

    static long pc(final String name, final int off)
    {
        return fn(name) + off;
    }

    static Analysis.Result analyze(final Path trace)
    {
        return Analysis.run(trace, SYMBOLS, null);
    }

    /** Records a built-in scenario, stopped after maxInstructions, and analyzes it with its own symbols. */
    static Analysis.Result recordAndAnalyze(final Path dir, final String scenario, final long maxInstructions,
        final java.util.Map<String, String> args, final String... patches)
    {
        final ScenarioCatalog catalog = ScenarioCatalog.load();
        final Scenario s = catalog.find(scenario);
        final Scenario cut = new Scenario()
        {
            @Override
            public String name()
            {
                return s.name();
            }

            @Override
            public String description()
            {
                return s.description();
            }

            @Override
            public boolean usesKernel()
            {
                return s.usesKernel();
            }

            @Override
            public MachineConfig defaultConfig()
            {
                return s.defaultConfig();
            }

            @Override
            public long maxInstructions()
            {
                return Math.min(maxInstructions, s.maxInstructions());
            }

            @Override
            public void load(final Machine machine, final ScenarioContext context)
            {
                s.load(machine, context);
            }

            @Override
            public Verdict verdict(final Machine machine, final Outcome outcome)
            {
                return s.verdict(machine, outcome);
            }
        };
        lastVerdict = new Recording(cut).config(s.defaultConfig()).context(new ScenarioContext(args, s.usesKernel() ? "head" : null,
            java.util.List.of(patches))).output(dir).run().verdict();
        final palimpsest.trace.TraceHeader h;
        try (palimpsest.trace.TraceReader r = palimpsest.trace.TraceReader.open(dir))
        {
            h = r.header();
        }
        return Analysis.run(dir, Symbols.of(h, catalog), null);
    }
}
