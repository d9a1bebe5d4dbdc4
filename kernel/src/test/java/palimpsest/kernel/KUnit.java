package palimpsest.kernel;

import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.input.SeededInput;
import palimpsest.kernel.patches.Patches;
import palimpsest.trace.EventSink;

/** Runs an in-kernel test body (pid 1, on an emulated cpu) on a freshly booted 4-cpu machine. */
final class KUnit
{
    Machine machine;
    Kernel kernel;
    Outcome outcome;

    String console()
    {
        return machine.console(0).text();
    }

    static KUnit run(final BiConsumer<Cpu, Kernel> body, final List<String> patches, final Consumer<KernelConfig> cfg)
    {
        final KUnit u = new KUnit();
        u.machine = new Machine(new MachineConfig(1, 4, 128), EventSink.NULL, new SeededInput(3));
        final KernelConfig c = new KernelConfig().patches(Patches.of("", patches));
        c.kunit = body;
        c.module(palimpsest.kernel.module.E1000.NAME, palimpsest.kernel.module.E1000::new);
        if (cfg != null)
        {
            cfg.accept(c);
        }
        u.kernel = Kernel.install(u.machine, c);
        u.outcome = u.machine.run(200_000_000L);
        if (u.outcome.cause instanceof AssertionError)
        {
            throw (AssertionError)u.outcome.cause;
        }
        return u;
    }

    static KUnit run(final BiConsumer<Cpu, Kernel> body)
    {
        final KUnit u = run(body, List.of(), null);
        if (!u.outcome.clean())
        {
            throw new AssertionError("run did not end cleanly: " + u.outcome + "\n" + u.console(), u.outcome.cause);
        }
        return u;
    }
}
