package palimpsest.kernel.scenarios;

import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioArg;
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
    /**
     * What load put in a machine, kept by the machine itself: a WeakHashMap keyed by machine here
     * never let go, since the Kernel value references its machine (every loaded machine leaked).
     */
    private static final class Loaded
    {
        final String[] expectations;
        final Kernel kernel;

        Loaded(final String[] expectations, final Kernel kernel)
        {
            this.expectations = expectations;
            this.kernel = kernel;
        }
    }

    /** What every kernel scenario takes, besides its own {@link #scenarioArgs()}. */
    public static final List<ScenarioArg> KERNEL_ARGS = List.of(
        ScenarioArg.number("tick", "200000", "virtual time between timer interrupts"),
        ScenarioArg.number("suspend-at", "0", "suspend to RAM and resume around this virtual time (0: never)"));

    /**
     * This scenario's own {@code --arg}s (name, default, help), without {@link #KERNEL_ARGS}. Declare
     * them and every other name is refused; the default, null, leaves arguments unchecked.
     */
    protected List<ScenarioArg> scenarioArgs()
    {
        return null;
    }

    @Override
    public List<ScenarioArg> args()
    {
        final List<ScenarioArg> own = scenarioArgs();
        if (own == null)
        {
            return null;
        }
        final List<ScenarioArg> all = new ArrayList<>(KERNEL_ARGS);
        all.addAll(own);
        return all;
    }

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
        final String[] expected = expected(context, machine);
        machine.attach(this, new Loaded(expected, Kernel.install(machine, cfg)));
        // Any kernel scenario can suspend to RAM and resume around a virtual time: a recorded stimulus.
        final long suspendAt = context.longArg("suspend-at", 0);
        if (suspendAt > 0)
        {
            kernel(machine).pm.suspendAt(machine, suspendAt);
        }
    }

    /** The kernel installed in machine by {@link #load} (for tests and tools). */
    public Kernel kernel(final Machine machine)
    {
        final Object l = machine.attachment(this);
        return l instanceof Loaded ? ((Loaded)l).kernel : null;
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
        final Object l = machine.attachment(this);
        final String[] want = l instanceof Loaded ? ((Loaded)l).expectations : null;
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
