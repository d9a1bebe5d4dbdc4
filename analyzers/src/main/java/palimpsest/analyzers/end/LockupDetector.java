package palimpsest.analyzers.end;

import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.AnalysisContext;
import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.ShadowAnalyzerFactory;
import palimpsest.analyzers.core.LongLongMap;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.emulator.Outcome;
import palimpsest.kernel.Mark;
import palimpsest.trace.EndRecord;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * Runs that end without an oops to follow: a lockup (the soft/hard lockup detector's job in Linux,
 * here from the trace) or a hang. A SYMPTOM finding with what the end looked like, so the verdict
 * says "no cause found; checked: ..." instead of nothing, and never ties the end to an earlier,
 * unrelated event.
 *
 * <p><b>Spinning, from the trace.</b> A cpu that reads the same word at the same pc over and over
 * is spinning on it; an interrupt handler's accesses in between do not end the spin (they are
 * fewer than the spin's reads), an RMW of the word (the lock taken) or a task switch does. A spin
 * of {@link #SPIN_MIN} reads or more at the end of a run cut by the instruction limit is a lockup
 * ({@code BUG: soft lockup - CPU#n stuck}); one under way when the kernel's own lockup BUG() fired
 * is that BUG's detail. When the word is a spinlock (LOCK_ACQUIRE marks), the report says who
 * holds it: the acquire with no release since (where it was taken and by which task), as
 * lockdep's "held by" line does. Allocation-free per event.
 *
 * <p>Other ends: every cpu halted with nothing pending (IDLE: a lost wake-up, a task that never
 * ran again) is a hang; the instruction limit with no cpu spinning is a hang too (a livelock or a
 * run that needs more time). A clean power-off, a failure code (the oops chain's) and an oops with a
 * faulting access are not this analyzer's.
 */
public final class LockupDetector implements Analyzer
{
    public static final String NAME = "lockup";
    /** Reads of one word at one pc that make a spin. */
    static final long SPIN_MIN = 1000;
    /** Before a spin is established, any other load restarts it. */
    private static final long ESTABLISHED = 64;

    private final MachineShadow shadow;
    private final Symbols symbols;
    private final List<Finding> findings = new ArrayList<>();
    // Per cpu: the word it reads over and over, at which pc, how often, since which event, and its other loads since.
    private final long[] spinAddr;
    private final long[] spinPc;
    private final long[] spinCount;
    private final long[] spinFirst;
    private final long[] spinOther;
    private final long[] lastEvent;
    private final long[] lastTask;
    private final long[] spinTask;
    private final long[] spinCaller;
    // Held spinlocks: lock address -> the LOCK_ACQUIRE event, its cpu, its caller pc and its task.
    private final LongLongMap heldEvent = new LongLongMap(64, -1);
    private final LongLongMap heldCpu = new LongLongMap(64, -1);
    private final LongLongMap heldCaller = new LongLongMap(64, -1);
    private final LongLongMap heldTask = new LongLongMap(64, -1);
    private final long[] frames = new long[MachineShadow.MAX_FRAMES];
    private long oopsEvent = -1;
    private int oopsCpu;
    private long oopsSpin;
    private long oopsSpinAddr;
    private long oopsSpinPc;
    private long oopsSpinFirst;
    private long oopsCaller;
    private long oopsTask;
    private long events;

    public LockupDetector(final MachineShadow shadow, final Symbols symbols)
    {
        this.shadow = shadow;
        this.symbols = symbols;
        final int n = shadow.cpus();
        spinAddr = new long[n];
        spinPc = new long[n];
        spinCount = new long[n];
        spinFirst = new long[n];
        spinOther = new long[n];
        lastEvent = new long[n];
        lastTask = new long[n];
        spinTask = new long[n];
        spinCaller = new long[n];
    }

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public void onEvent(final Event e)
    {
        events++;
        final int cpu = e.cpu();
        if (cpu >= spinAddr.length)
        {
            return;
        }
        lastEvent[cpu] = e.index();
        switch (e.kind())
        {
            case EventKind.LOAD:
                load(e, cpu);
                break;
            case EventKind.RMW:
                if (e.vaddr() == spinAddr[cpu])
                {
                    spinCount[cpu] = 0;
                }
                break;
            case EventKind.TASK_SWITCH:
                spinCount[cpu] = 0;
                lastTask[cpu] = e.b();
                break;
            case EventKind.MARK:
                mark(e, cpu);
                break;
            default:
                break;
        }
    }

    private void load(final Event e, final int cpu)
    {
        if (e.vaddr() == spinAddr[cpu] && e.pc() == spinPc[cpu] && spinCount[cpu] > 0)
        {
            spinCount[cpu]++;
            if (spinCount[cpu] == ESTABLISHED)
            {
                // Where the spin was called from: the spinning function's caller (its frame's return address).
                final int n = shadow.backtrace(cpu, frames);
                spinCaller[cpu] = n > 0 ? frames[0] : 0;
                spinTask[cpu] = shadow.task(cpu);
            }
            return;
        }
        if (spinCount[cpu] >= ESTABLISHED && ++spinOther[cpu] < spinCount[cpu])
        {
            return; // an interrupt handler's loads between the spin's reads
        }
        spinAddr[cpu] = e.vaddr();
        spinPc[cpu] = e.pc();
        spinCount[cpu] = 1;
        spinFirst[cpu] = e.index();
        spinOther[cpu] = 0;
    }

    private void mark(final Event e, final int cpu)
    {
        final long type = e.a();
        if (type == Mark.LOCK_ACQUIRE)
        {
            heldEvent.put(e.b(), e.index());
            heldCpu.put(e.b(), cpu);
            heldCaller.put(e.b(), e.c());
            heldTask.put(e.b(), shadow.task(cpu));
        }
        else if (type == Mark.LOCK_RELEASE)
        {
            heldEvent.remove(e.b());
            heldCpu.remove(e.b());
            heldCaller.remove(e.b());
            heldTask.remove(e.b());
        }
        else if (type == Mark.OOPS && oopsEvent < 0 && spinCount[cpu] >= SPIN_MIN)
        {
            // The kernel's own lockup BUG() (or any oops) while this cpu spins: keep the spin as it was.
            oopsEvent = e.index();
            oopsCpu = cpu;
            oopsSpin = spinCount[cpu];
            oopsSpinAddr = spinAddr[cpu];
            oopsSpinPc = spinPc[cpu];
            oopsSpinFirst = spinFirst[cpu];
            oopsCaller = spinCaller[cpu];
            oopsTask = spinTask[cpu];
        }
    }

    @Override
    public void afterPass(final AnalysisContext context)
    {
        if (oopsEvent >= 0)
        {
            findings.add(spin("lockup", "BUG: spinlock lockup suspected on CPU#" + oopsCpu, oopsEvent, oopsCpu, oopsSpin, oopsSpinAddr,
                oopsSpinPc, oopsSpinFirst, oopsCaller, oopsTask, "the kernel's oops at event " + oopsEvent + " stopped it"));
            return;
        }
        final EndRecord end = context.end();
        if (end == null)
        {
            return;
        }
        final int kind = end.outcomeCode() >>> 16;
        if (kind == Outcome.Kind.LIMIT.ordinal())
        {
            int worst = -1;
            for (int c = 0; c < spinCount.length; c++)
            {
                if (spinCount[c] >= SPIN_MIN && (worst < 0 || spinCount[c] > spinCount[worst]))
                {
                    worst = c;
                }
            }
            if (worst >= 0)
            {
                findings.add(spin("lockup", "BUG: soft lockup - CPU#" + worst + " stuck", lastEvent[worst], worst, spinCount[worst],
                    spinAddr[worst], spinPc[worst], spinFirst[worst], spinCaller[worst], spinTask[worst],
                    "the run hit its instruction limit (" + end.outcomeMessage() + ")"));
            }
            else
            {
                findings.add(hang(end, "the run hit its instruction limit with no cpu spinning on one word: a livelock, or a run that needs"
                    + " more time"));
            }
        }
        else if (kind == Outcome.Kind.IDLE.ordinal())
        {
            findings.add(hang(end, "every cpu halted with nothing pending that could wake one (a lost wake-up, a task that never ran"
                + " again)"));
        }
    }

    private Finding spin(final String cls, final String head, final long event, final int cpu, final long count, final long addr,
        final long pc, final long first, final long caller, final long task, final String end)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("=====================================================\n");
        sb.append(head).append(": spinning in ").append(symbols.sym(pc)).append(caller != 0 ? " called from " + symbols.sym(caller) : "")
            .append(", task ").append(task).append('\n');
        sb.append("It read ").append(Symbols.hex16(addr)).append(' ').append(count).append(" times since event ").append(first)
            .append(" and never took it; ").append(end).append('\n');
        final long held = heldEvent.get(addr);
        final String holder;
        if (held >= 0)
        {
            holder = symbols.sym(heldCaller.get(addr));
            sb.append("The lock is held: taken at event ").append(held).append(" by ").append(holder).append(" on cpu").append(heldCpu.get(addr))
                .append(" task ").append(heldTask.get(addr)).append(", never released since")
                .append(heldCpu.get(addr) == cpu && heldTask.get(addr) == task ? " (by the spinning task itself: a recursive lock)" : "")
                .append('\n');
        }
        else
        {
            holder = "";
            sb.append("No LOCK_ACQUIRE in the trace holds that word (not a spinlock, or a lock word someone else wrote)\n");
        }
        sb.append("=====================================================\n");
        final String title = head + ": spinning in " + symbols.sym(pc) + " on " + Long.toHexString(addr) + (held >= 0 ? ", held since event " + held
            + " by " + holder : "");
        return new Finding(NAME, event, title, sb.toString(), Finding.Role.SYMPTOM, cls, symbols.function(pc), 60, event);
    }

    private Finding hang(final EndRecord end, final String why)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("hang: ").append(why).append(" (").append(end.outcomeMessage()).append(")\n");
        for (int c = 0; c < lastEvent.length; c++)
        {
            sb.append("  cpu").append(c).append(": last event ").append(lastEvent[c]).append(", running task ").append(lastTask[c]).append('\n');
        }
        final long event = Math.max(0, end.totalEvents() - 1);
        return new Finding(NAME, event, "hang: " + why, sb.toString(), Finding.Role.SYMPTOM, "hang", "", 40, event);
    }

    @Override
    public String checked()
    {
        return events + " events watched for spins (" + heldEvent.size() + " lock(s) held at the end)";
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    /** Registers this analyzer as {@code lockup}. */
    public static final class Factory extends ShadowAnalyzerFactory
    {
        public Factory()
        {
            super(NAME, "lockups and hangs at the end of a run: a cpu spinning on one word (and who holds the lock), every cpu idle, the instruction limit",
                (shadow, owners, symbols) -> new LockupDetector(shadow, symbols));
        }
    }
}
