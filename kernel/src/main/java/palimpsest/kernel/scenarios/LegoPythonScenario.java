package palimpsest.kernel.scenarios;

import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.Machine;
import palimpsest.emulator.ScenarioArg;
import palimpsest.emulator.ScenarioContext;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.programs.LegoPython;

/**
 * lego-python: the diary's 03/08 {@code python hello_world.py} on a LegoOS cluster (kernel/README.md,
 * "LegoOS"). The program touches its low address range (the GOT at 0x601000) right after ld.so and
 * then only at the very end, after an mprotect; in between it works for a long time in the mmap
 * area, through a pcache much smaller than its heap. With lego-victim-page-alloc and without
 * lego-victim-page-clear, mprotect frees victim pages whose slots keep their addresses; one of
 * them becomes the page table above the GOT, the next eviction into its slot copies a heap line
 * over it, and the GOT store at the end oopses in pcache_handle_fault: {@code rounds} sets how long
 * the run goes on in between (the default 4 keeps a run small; README: 40 put some 30 million events between the two).
 */
public final class LegoPythonScenario extends LegoWordCountScenario
{
    @Override
    public String name()
    {
        return "lego-python";
    }

    @Override
    public String description()
    {
        return "LegoOS: python hello_world.py (ld.so, mprotect'ed RELRO, an arena heap grown by mprotect, the GOT touched again at the end)";
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        config.lego = cluster(context, machine.config().nodes, 64);
        config.program(new LegoPython((int)context.longArg("libs", 6), (int)context.longArg("lib-pages", 8),
            (int)context.longArg("heap-pages", 48), (int)context.longArg("grow-pages", 4), context.longArg("rounds", 4)));
        config.init("/bin/python");
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        return new String[] {"hello world", "reboot: Power down"};
    }

    @Override
    protected List<ScenarioArg> scenarioArgs()
    {
        final List<ScenarioArg> a = new ArrayList<>(super.scenarioArgs());
        a.removeIf(x -> x.name().equals("threads") || x.name().equals("words") || x.name().equals("text-seed") || x.name().equals("passes"));
        a.add(ScenarioArg.number("libs", "6", "shared libraries ld.so maps and relocates"));
        a.add(ScenarioArg.number("lib-pages", "8", "pages of each library"));
        a.add(ScenarioArg.number("heap-pages", "48", "pages of the interpreter's arena heap (the pcache has 16 lines by default)"));
        a.add(ScenarioArg.number("grow-pages", "4", "pages the heap grows by per round (an mprotect each)"));
        a.add(ScenarioArg.number("rounds", "4", "rounds of the interpreter over its heap between ld.so and hello_world.py's last import"));
        return a;
    }

    /** One process, one thread. */
    @Override
    protected boolean spreadsOverCpus()
    {
        return false;
    }
}
