package palimpsest.kernel.scenarios;

import java.util.Map;
import java.util.WeakHashMap;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.patches.Patches;

/**
 * Base of the scenarios that boot the kernel: resolves --kernel / --patch into a patch set,
 * lets the subclass fill the kernel config (init program, files), installs the kernel, and
 * judges: GOOD on a clean power-off whose console holds everything {@link #expected} lists.
 * Every kernel scenario takes {@code suspend-at=TICKS}: a suspend/resume cycle triggered by a
 * recorded stimulus around that virtual time ({@link palimpsest.kernel.power.Pm#suspendAt}).
 */
public abstract class KernelScenario implements Scenario
{
    private final Map<Machine, String[]> expectations = new WeakHashMap<>();
    private final Map<Machine, Kernel> kernels = new WeakHashMap<>();

    @Override
    public boolean usesKernel()
    {
        return true;
    }

    @Override
    public MachineConfig defaultConfig()
    {
        return new MachineConfig(1, 4, 128);
    }

    @Override
    public long maxInstructions()
    {
        return 400_000_000L;
    }

    /** Fills the kernel config (init, files, programs) for these arguments. */
    protected abstract void configure(KernelConfig config, ScenarioContext context, Machine machine);

    /** Console lines (substrings) a good run must print. */
    protected abstract String[] expected(ScenarioContext context, Machine machine);

    @Override
    public void load(final Machine machine, final ScenarioContext context)
    {
        final KernelConfig cfg = new KernelConfig().patches(Patches.of(context.kernelVersion(), context.patches()));
        cfg.timerPeriod = context.longArg("tick", cfg.timerPeriod);
        configure(cfg, context, machine);
        synchronized (this)
        {
            expectations.put(machine, expected(context, machine));
            kernels.put(machine, Kernel.install(machine, cfg));
        }
        // Any kernel scenario can suspend to RAM and resume around a virtual time: a recorded stimulus.
        final long suspendAt = context.longArg("suspend-at", 0);
        if (suspendAt > 0)
        {
            kernel(machine).pm.suspendAt(machine, suspendAt);
        }
    }

    /** The kernel installed in machine by {@link #load} (for tests and tools). */
    public synchronized Kernel kernel(final Machine machine)
    {
        return kernels.get(machine);
    }

    @Override
    public Verdict verdict(final Machine machine, final Outcome outcome)
    {
        final String console = machine.console(0).text();
        if (!outcome.clean())
        {
            final int oops = Math.max(console.indexOf("BUG:"), Math.max(console.indexOf("general protection fault"),
                console.indexOf("Kernel panic")));
            return Verdict.bad(outcome + (oops >= 0 ? " -- " + console.substring(oops, Math.min(console.length(),
                console.indexOf('\n', oops) < 0 ? console.length() : console.indexOf('\n', oops))) : ""));
        }
        final String[] want;
        synchronized (this)
        {
            want = expectations.get(machine);
        }
        if (want != null)
        {
            for (final String w : want)
            {
                if (!console.contains(w))
                {
                    return Verdict.bad("clean power-off but the console lacks '" + w + "'");
                }
            }
        }
        return Verdict.good("clean power-off, expected output present");
    }
}
