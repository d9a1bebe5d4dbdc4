package palimpsest.kernel.scenarios;

import java.util.List;

import palimpsest.emulator.ScenarioArg;
import palimpsest.emulator.Machine;
import palimpsest.emulator.ScenarioContext;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.programs.Hello;

/**
 * boot: every cpu comes up, the machine idles a little, then powers off cleanly. With {@code
 * init=hello} init execs {@link Hello} instead of idling (the loader's stack vma, its first fault).
 */
public final class BootScenario extends KernelScenario
{
    @Override
    public String name()
    {
        return "boot";
    }

    @Override
    public String description()
    {
        return "SMP boot: all cpus up (INIT/SIPI), idle briefly, clean shutdown (args idle=ticks, init=hello: exec a program)";
    }

    @Override
    protected List<ScenarioArg> scenarioArgs()
    {
        return List.of(
            ScenarioArg.number("idle", "2000000", "virtual time the booted machine idles before it powers off"),
            ScenarioArg.choice("init", "(none: idle)", "exec this program as init instead of idling", "hello"));
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        config.idleTicks = context.longArg("idle", 2_000_000);
        if (hello(context))
        {
            config.program(new Hello());
            config.init("/bin/hello");
        }
    }

    private static boolean hello(final ScenarioContext context)
    {
        final String init = context.args().getOrDefault("init", "");
        if (!init.isEmpty() && !init.equals("hello"))
        {
            throw new IllegalArgumentException("boot: unknown init '" + init + "' (known: hello)");
        }
        return init.equals("hello");
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        final int n = machine.config().cpusPerNode;
        final String[] want = new String[n + (hello(context) ? 2 : 1)];
        if (hello(context))
        {
            want[n + 1] = Hello.LINE;
        }
        for (int i = 0; i < n; i++)
        {
            want[i] = "CPU " + i + " is up";
        }
        want[n] = "reboot: Power down";
        return want;
    }
}
