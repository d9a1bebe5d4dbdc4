package palimpsest.kernel.scenarios;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.lego.LegoConfig;
import palimpsest.kernel.user.programs.WordCount;

/**
 * lego-word-count: Phoenix word_count-pthread on a LegoOS cluster. The program runs on the
 * processor node (node 0); its address space, pages and the data file live on the memory node(s),
 * and every page it touches arrives through the pcache over the fabric. Threads grow their arrays
 * with mremap (pcache_move_pte on the processor, the page move on the memory node) and compare
 * words with strcmp. GOOD when the counts are right and every node powered off cleanly.
 * Arguments: those of word-count, memory-nodes (1), pcache-mb (1) or pcache-kb, pcache-ways (8),
 * page-csum (0), pcache-sweep (0: no kpcache_sweepd).
 */
public class LegoWordCountScenario extends KernelScenario
{
    @Override
    public String name()
    {
        return "lego-word-count";
    }

    @Override
    public String description()
    {
        return "LegoOS: word_count-pthread on the processor node, memory and data on memory node(s), pcache over the fabric";
    }

    @Override
    public MachineConfig defaultConfig()
    {
        return new MachineConfig(2, 4, 32);
    }

    protected int threads(final ScenarioContext context)
    {
        return (int)context.longArg("threads", 4);
    }

    /** The cluster of the arguments (pcache-kb wins over pcache-mb). */
    public static LegoConfig cluster(final ScenarioContext context, final int nodes)
    {
        return cluster(context, nodes, 1024);
    }

    /** The cluster of the arguments, with this pcache size (KiB) when neither pcache-kb nor pcache-mb is given. */
    public static LegoConfig cluster(final ScenarioContext context, final int nodes, final long defaultKb)
    {
        final long mb = context.longArg("pcache-mb", -1);
        final long kb = context.longArg("pcache-kb", mb >= 0 ? mb * 1024 : defaultKb);
        final LegoConfig c = new LegoConfig((int)context.longArg("memory-nodes", nodes - 1), (int)kb,
            (int)context.longArg("pcache-ways", 8), context.longArg("page-csum", 0) != 0);
        c.sweepJiffies = (int)Math.max(0, context.longArg("pcache-sweep", 0));
        return c;
    }

    /** Console labels of the nodes (P0, M1, ...), for a machine of that many nodes. */
    @Override
    public String[] nodeLabels(final MachineConfig config, final ScenarioContext context)
    {
        final String[] l = new String[config.nodes];
        for (int n = 0; n < l.length; n++)
        {
            l[n] = LegoConfig.label(n);
        }
        return l;
    }

    @Override
    public String describeFrame(final byte[] frame, final int length)
    {
        return palimpsest.kernel.lego.Ibapi.describe(frame, length);
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        final String text = text(context);
        config.lego = cluster(context, machine.config().nodes, pcacheKb());
        config.lego.initArgs.add("/data/words.txt");
        config.file("/data/words.txt", text.getBytes(StandardCharsets.US_ASCII));
        program(config, context);
    }

    /** The pcache size (KiB) when the arguments give none. */
    protected long pcacheKb()
    {
        return 1024;
    }

    /** The input text of the arguments. */
    protected String text(final ScenarioContext context)
    {
        return WordCountScenario.text(context.longArg("text-seed", 42), (int)context.longArg("words", 3000));
    }

    /** The program that runs as init on the processor, and its path. */
    protected void program(final KernelConfig config, final ScenarioContext context)
    {
        config.program(new WordCount(threads(context), (int)context.longArg("passes", 1)));
        config.init("/bin/word_count");
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        final String text = text(context);
        final List<String> want = new ArrayList<>();
        for (final String l : WordCountScenario.expectedLines(text, context.longArg("passes", 1)))
        {
            want.add("\n" + l + "\n");
        }
        want.add("reboot: Power down");
        return want.toArray(new String[0]);
    }

    /**
     * Whether the workload's user tasks spread over the cpus when nothing confines them (its
     * worker threads run at once), so that all of them on one cpu is a fault: word_count-pthread's.
     */
    protected boolean spreadsOverCpus()
    {
        return true;
    }

    /** GOOD: the counts on the processor's console, every memory node up and powered off, all clean. */
    @Override
    public Verdict verdict(final Machine machine, final Outcome outcome)
    {
        final Verdict v = LegoVerdicts.nodes(machine, outcome);
        if (v != null)
        {
            return v;
        }
        final Verdict w = super.verdict(machine, outcome);
        final String confined = w.kind == Verdict.Kind.GOOD && spreadsOverCpus() ? LegoVerdicts.placement(machine) : null;
        return confined == null ? w : Verdict.bad("clean power-off, expected output present, but " + confined);
    }

    @Override
    protected java.util.List<palimpsest.emulator.ScenarioArg> scenarioArgs()
    {
        return java.util.List.of(
            palimpsest.emulator.ScenarioArg.number("threads", "4", "worker threads cloned by word_count", 1,
                palimpsest.kernel.user.programs.WordCount.MAX_THREADS),
            palimpsest.emulator.ScenarioArg.number("words", "3000", "words in the generated input text"),
            palimpsest.emulator.ScenarioArg.number("passes", "1", "times word_count counts the text (longer, same memory)", 1,
                1_000_000),
            palimpsest.emulator.ScenarioArg.number("text-seed", "42", "seed of the generated input text"),
            palimpsest.emulator.ScenarioArg.number("memory-nodes", "nodes - 1", "memory components (nodes 1..K)"),
            palimpsest.emulator.ScenarioArg.number("pcache-mb", "1", "pcache size in MiB"),
            palimpsest.emulator.ScenarioArg.number("pcache-kb", "pcache-mb x 1024", "pcache size in KiB (overrides pcache-mb)"),
            palimpsest.emulator.ScenarioArg.number("pcache-ways", "8", "pcache associativity"),
            palimpsest.emulator.ScenarioArg.number("page-csum", "0", "1: checksum every page shipped between P and M"),
            palimpsest.emulator.ScenarioArg.number("pcache-sweep", "0", "kpcache_sweepd's period in jiffies (it walks every line's rmap); 0: none"));
    }
}
