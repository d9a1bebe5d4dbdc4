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
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.KernelInspector;
import palimpsest.kernel.sched.PerCpu;
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
        /** What a good run prints: computed at the verdict, not at load (word-count counts its whole text). */
        final ScenarioContext context;
        String[] expectations;
        final Kernel kernel;

        Loaded(final ScenarioContext context, final Kernel kernel)
        {
            this.context = context;
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

    /**
     * Console substrings that mean the program saw wrong data: any of them makes the run BAD, with
     * the line that holds it, however the run ended (a program stops at its first mismatch).
     */
    protected String[] failures()
    {
        return new String[0];
    }

    /**
     * The console line that says the program saw wrong data (one holding a {@link #failures} string),
     * or null: the verdict's reason, and what an analyzer reading the console from a trace reports.
     */
    public final String wrongOutput(final String console)
    {
        for (final String f : failures())
        {
            final int at = console.indexOf(f);
            if (at >= 0)
            {
                final int from = console.lastIndexOf('\n', at) + 1;
                final int to = console.indexOf('\n', at);
                return console.substring(from, to < 0 ? console.length() : to).trim();
            }
        }
        return null;
    }

    /** A secondary cpu online this many jiffies (cpu 0's ticks) without one tick of its own has no timer. */
    static final long TICKLESS_JIFFIES = 3;

    /** Work queued on a cpu's pool this long without a worker running it: the pool is stuck (a workqueue lockup). */
    static final long STUCK_JIFFIES = 2;

    @Override
    public void load(final Machine machine, final ScenarioContext context)
    {
        final KernelConfig cfg = new KernelConfig().patches(Patches.of(context.kernelVersion(), context.patches()));
        cfg.timerPeriod = context.longArg("tick", cfg.timerPeriod);
        configure(cfg, context, machine);
        // The expectations wait for the verdict: a machine loaded only for its symbols or its image
        // (pal who-wrote, pal state) never needs them, and they can cost a pass over the input.
        machine.attach(this, new Loaded(context, Kernel.install(machine, cfg)));
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
        final String wrong = wrongOutput(console);
        if (wrong != null)
        {
            return Verdict.bad("the program saw wrong data: " + wrong);
        }
        if (!outcome.clean())
        {
            final int oops = Math.max(console.indexOf("BUG:"), Math.max(console.indexOf("general protection fault"),
                console.indexOf("Kernel panic")));
            return Verdict.bad(outcome + (oops >= 0 ? " -- " + console.substring(oops, Math.min(console.length(),
                console.indexOf('\n', oops) < 0 ? console.length() : console.indexOf('\n', oops))) : ""));
        }
        final Object l = machine.attachment(this);
        final String[] want = l instanceof Loaded ? expectations(machine, (Loaded)l) : null;
        if (want != null)
        {
            for (final String w : want)
            {
                if (!console.contains(w))
                {
                    return Verdict.bad("clean power-off but the console lacks '" + w.trim() + "'");
                }
            }
        }
        final String cpus = cpuProblem(machine);
        if (cpus != null)
        {
            return Verdict.bad("clean power-off, expected output present, but " + cpus);
        }
        return Verdict.good("clean power-off, expected output present");
    }

    private String[] expectations(final Machine machine, final Loaded l)
    {
        if (l.expectations == null)
        {
            l.expectations = expected(l.context, machine);
        }
        return l.expectations;
    }

    /**
     * What is wrong with the secondary cpus at the end of the run, read from the kernel's per-cpu
     * areas in emulated memory (null: nothing): an online cpu whose timer never ticked while cpu 0's
     * ticked {@link #TICKLESS_JIFFIES} times or more (the hotplug callbacks that arm it never ran);
     * a cpu whose worker pool is missing (dead tasks never freed) or holds work no worker ran: none
     * exists, or {@link #STUCK_JIFFIES} went by (the cpu sat idle with work queued).
     */
    static String cpuProblem(final Machine machine)
    {
        final KernelInspector mem = new KernelInspector(machine.memory(0));
        final long nr = mem.global(Globals.NR_CPUS);
        final long jiffies = mem.global(Globals.JIFFIES);
        for (int c = 1; c < nr && c < Globals.MAX_CPUS; c++)
        {
            final long pcpu = mem.global(Globals.PER_CPU_OFFSET + c * 8L);
            if (pcpu == 0 || mem.read64(pcpu + PerCpu.CPU_STATE) != PerCpu.CPU_ONLINE)
            {
                continue;
            }
            final long up = jiffies - mem.read64(pcpu + PerCpu.ONLINE_JIFFIES);
            if (up >= TICKLESS_JIFFIES && mem.read64(pcpu + PerCpu.TICKS) == 0)
            {
                return "cpu " + c + " took no timer tick in " + up + " jiffies online (no APIC timer: its hotplug callbacks never ran)";
            }
        }
        for (int c = 0; c < nr && c < Globals.MAX_CPUS; c++)
        {
            final long pcpu = mem.global(Globals.PER_CPU_OFFSET + c * 8L);
            if (pcpu == 0)
            {
                continue;
            }
            final long lost = mem.read64(pcpu + PerCpu.WQ_LOST);
            if (lost > 0)
            {
                return "cpu " + c + " has no worker pool: " + lost + " dead task(s) never freed (workqueue_prepare_cpu never ran)";
            }
            final long pending = mem.read64(pcpu + PerCpu.WQ_NR);
            final long since = mem.read64(pcpu + PerCpu.WQ_SINCE);
            final boolean noWorker = mem.read64(pcpu + PerCpu.KWORKER) == 0;
            if (pending > 0 && since > 0 && (noWorker || jiffies - (since - 1) >= STUCK_JIFFIES))
            {
                return "cpu " + c + " has had work queued for " + (jiffies - (since - 1)) + " jiffies that no worker ran (" +
                    pending + " dead task(s) to free; kworker/" + c + (noWorker ?
                    " was never created)" : " never ran)");
            }
        }
        return null;
    }
}
