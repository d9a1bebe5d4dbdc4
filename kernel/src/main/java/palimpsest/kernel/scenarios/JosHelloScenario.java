package palimpsest.kernel.scenarios;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.ScenarioContext;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.programs.JosHello;

/**
 * jos-hello: JOS lab 4's {@code make CPUS=2 run-hello}. One environment runs; the other cpu has
 * nothing to do and halts in sched_halt with interrupts enabled, so its LAPIC timer arrives in
 * kernel mode. On {@code jos-lab4c} trap()'s {@code assert((tf->tf_cs & 3) == 3)} then panics on
 * CPU 1; with {@code --cpus 1}, or on {@code jos-lab4}, the run is clean. Argument: spin
 * (user-level instructions, default 1.5 M: several timer periods).
 */
public final class JosHelloScenario extends KernelScenario
{
    @Override
    public String name()
    {
        return "jos-hello";
    }

    @Override
    public String description()
    {
        return "JOS run-hello on 2 cpus: the idle cpu takes its timer in kernel mode (use --kernel jos-lab4c; arg spin)";
    }

    @Override
    public MachineConfig defaultConfig()
    {
        return new MachineConfig(1, 2, 32);
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        config.program(new JosHello(context.longArg("spin", 1_500_000)));
        config.init("/bin/hello");
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        return new String[] {"hello, world", "i am environment 00001000", "hello: done", "reboot: Power down"};
    }
}
