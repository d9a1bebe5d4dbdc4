package palimpsest.analyzers.sched;

import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.AnalysisContext;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Mark;
import palimpsest.kernel.sched.PerCpu;
import palimpsest.kernel.sched.Task;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * Per-cpu bring-up that left a cpu half there, in two shapes of one class (a cpu online that the
 * kernel does not use as one):
 * <ul>
 * <li><b>a cpu online without its hotplug states</b>: at its CPU_UP mark the cpu's
 * {@code cpuhp_state} (per-cpu +80) is still 0 while the boot cpu's reached a state: none of the
 * per-cpu callbacks (timer, kworker, worker pool, sched_cpu_activate) ran for it. The finding names
 * the bring-up path (the call chain at CPU_UP) that skipped them.</li>
 * <li><b>user tasks confined by an inherited affinity</b>: with two or more cpus online on a node,
 * every user task (a task with an mm, seen at its context switches) ran on one cpu, and its
 * {@code cpus_allowed} was that cpu alone. The mask is followed back through the tasks it was
 * copied from (fork copies it from the parent) to the store that narrowed it, which is the
 * culprit: e.g. sched_init binding the boot cpu's idle task, inherited by kernel_init and init
 * because nothing widened it again.</li>
 * </ul>
 * Nothing is reported when every cpu that came online ran its states and user work was spread, or
 * could be (one cpu online).
 */
public final class CpuBringup implements Analyzer
{
    public static final String NAME = "cpu-bringup";

    private final MachineShadow shadow;
    private final Symbols symbols;
    private final int cpus;
    private final int perNode;
    /** Per cpu: the per-cpu area's address (0 until known). */
    private final long[] pcpu;
    /** Per node: cpus online (local ids, the boot cpu included once it ran anything). */
    private final long[] online;
    /** Per node: cpus that switched to a user task; the first user switch {event, task, allowed, parent, cpu}. */
    private final long[] userCpus;
    private final long[][] firstUser;
    private final long[] userTasks;
    /** CPU_UP events of cpus whose cpuhp_state was 0: {event, cpu, boot cpu's state}. */
    private final List<long[]> bare = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();
    /** Per node: the boot cpu's last kick of an AP (its store of -1 to the online handshake word), or -1. */
    private final long[] kick;
    private long switches;

    public CpuBringup(final MachineShadow shadow, final Symbols symbols)
    {
        this.shadow = shadow;
        this.symbols = symbols;
        this.cpus = shadow.cpus();
        this.perNode = shadow.cpusPerNode();
        final int nodes = (cpus + perNode - 1) / perNode;
        this.pcpu = new long[cpus];
        this.online = new long[nodes];
        this.userCpus = new long[nodes];
        this.userTasks = new long[nodes];
        this.firstUser = new long[nodes][];
        this.kick = new long[nodes];
        java.util.Arrays.fill(kick, -1);
    }

    @Override
    public String name()
    {
        return NAME;
    }

    private long pcpu(final int cpu)
    {
        if (pcpu[cpu] == 0)
        {
            pcpu[cpu] = shadow.readVirt64(cpu, Globals.PER_CPU_OFFSET + (cpu % perNode) * 8L);
        }
        return pcpu[cpu];
    }

    /** Only the kinds onEvent looks at (CPU_UP marks and the stores of per-cpu current / the AP handshake): the pass calls it for nothing else. */
    @Override
    public int kinds()
    {
        return 1 << EventKind.MARK | 1 << EventKind.STORE;
    }

    @Override
    public void onEvent(final Event e)
    {
        final int cpu = e.cpu();
        if (cpu >= cpus)
        {
            return;
        }
        final int kind = e.kind();
        if (kind == EventKind.MARK && e.a() == Mark.CPU_UP)
        {
            final int node = cpu / perNode;
            online[node] |= 1L << (cpu % perNode) | 1L;
            final long mine = pcpu(cpu);
            final long boot = shadow.readVirt64(cpu, Globals.PER_CPU_OFFSET);
            if (mine != 0 && boot != 0 && shadow.readVirt64(cpu, mine + PerCpu.CPUHP_STATE) == 0 && bare.size() < 4)
            {
                final long bootState = shadow.readVirt64(cpu, boot + PerCpu.CPUHP_STATE);
                if (bootState != 0)
                {
                    bare.add(new long[] {e.index(), cpu, bootState, kick[node]});
                }
            }
        }
        else if (kind == EventKind.STORE && e.size() == 8)
        {
            if (e.vaddr() == Globals.AP_ONLINE_ACK && e.value() == -1L)
            {
                kick[cpu / perNode] = e.index();
                return;
            }
            final long p = pcpu[cpu] != 0 ? pcpu[cpu] : pcpu(cpu);
            if (p == 0 || e.vaddr() != p + PerCpu.CURRENT || e.value() == 0)
            {
                return;
            }
            switches++;
            final long task = e.value();
            if (shadow.readVirt64(cpu, task + Task.MM) == 0)
            {
                return;
            }
            final int node = cpu / perNode;
            userCpus[node] |= 1L << (cpu % perNode);
            userTasks[node]++;
            if (firstUser[node] == null)
            {
                firstUser[node] = new long[] {e.index(), task, shadow.readVirt64(cpu, task + Task.CPUS_ALLOWED),
                    shadow.readVirt64(cpu, task + Task.PARENT), cpu};
            }
        }
    }

    @Override
    public void afterPass(final AnalysisContext context)
    {
        for (final long[] b : bare)
        {
            // The AP's own stack says little (a fresh idle stack); the path that booted it is the
            // boot cpu's, at its kick of this AP.
            final Probe.Sight s = Probe.look(context.trace, symbols, List.of(b[3] >= 0 ? b[3] : b[0])).get(0);
            final String chain = symbols.chain(s.event.pc(), s.stack);
            final int cpu = (int)b[1];
            final String title = String.format("cpu %d of node %d came online without its hotplug states (cpuhp_state 0; the boot " +
                "cpu reached %d): no per-cpu timer, kworker, worker pool or sched_cpu_activate for it; booted by %s", cpu % perNode,
                cpu / perNode, b[2], culprit(s));
            final String report = "BUG: cpu-bringup: " + title + "\n  the boot cpu kicked it at event " + s.event.index() + ": " + chain +
                "\n  it reached CPU_UP at event " + b[0] + " with cpuhp_state 0\n";
            findings.add(new Finding(NAME, b[0], title, report, Finding.Role.CAUSE, NAME, culprit(s), 70, s.event.index()));
        }
        for (int node = 0; node < online.length; node++)
        {
            final long[] f = firstUser[node];
            if (f == null || Long.bitCount(online[node]) < 2 || Long.bitCount(userCpus[node]) != 1 || userTasks[node] < 2 ||
                f[2] != userCpus[node])
            {
                continue;
            }
            confined(context, node, f);
        }
    }

    /** Follows the confining mask back through the tasks it was copied from to the store that narrowed it. */
    private void confined(final AnalysisContext context, final int node, final long[] f)
    {
        final WhoWroteIndex idx = context.whoWrote();
        final int cpu = (int)f[4];
        long task = f[1];
        long before = f[0];
        final long mask = f[2];
        final List<Long> hops = new ArrayList<>();
        for (int hop = 0; hop < 6 && task != 0; hop++)
        {
            final long pa = shadow.translate(cpu, task + Task.CPUS_ALLOWED);
            if (pa == -1)
            {
                break;
            }
            final List<WhoWroteIndex.Write> ws = idx.writers(pa, 8, before, false);
            if (ws.isEmpty())
            {
                break;
            }
            hops.add(ws.get(0).event);
            before = ws.get(0).event;
            // The parent had the same mask before this store: it was inherited; go on to the parent's.
            final long parent = shadow.readVirt64(cpu, task + Task.PARENT);
            if (parent == 0 || parent == task || shadow.readVirt64(cpu, parent + Task.CPUS_ALLOWED) != mask)
            {
                break;
            }
            task = parent;
        }
        if (hops.isEmpty())
        {
            return;
        }
        final List<Probe.Sight> sights = Probe.look(context.trace, symbols, hops);
        final Probe.Sight origin = sights.get(sights.size() - 1);
        final int only = Long.numberOfTrailingZeros(mask);
        final String title = String.format("every user task of node %d ran on cpu %d only, with %d cpus online: cpus_allowed 0x%x, " +
            "set by %s and inherited by every task forked since (nothing widened it)", node, only, Long.bitCount(online[node]), mask,
            symbols.function(origin.event.pc()));
        final StringBuilder r = new StringBuilder("BUG: cpu-bringup: ").append(title).append('\n');
        r.append(String.format("  first user task: task %x at event %d on cpu %d, cpus_allowed 0x%x; %d switches to user tasks, all on cpu %d%n",
            f[1], f[0], cpu % perNode, mask, userTasks[node], only));
        for (int i = 0; i < sights.size(); i++)
        {
            final Probe.Sight s = sights.get(i);
            r.append(String.format("  %s at event %d: cpus_allowed = 0x%x by %s%n", i == sights.size() - 1 ? "narrowed" : "copied  ",
                s.event.index(), s.event.value(), symbols.chain(s.event.pc(), s.stack)));
        }
        findings.add(new Finding(NAME, origin.event.index(), title, r.toString(), Finding.Role.CAUSE, NAME, culprit(origin), 70, f[0]));
    }

    private String culprit(final Probe.Sight s)
    {
        final String chain = symbols.chain(s.event.pc(), s.stack);
        final String[] parts = chain.split(" <- ");
        return parts.length <= 2 ? chain : parts[0] + " <- " + parts[1];
    }

    @Override
    public String checked()
    {
        return NAME + ": " + switches + " context switches, " + Long.bitCount(online.length > 0 ? online[0] : 0) + " cpus online on node 0";
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    /** {@code pal analyze --only cpu-bringup}. */
    public static final class Factory extends palimpsest.analyzers.ShadowAnalyzerFactory
    {
        public Factory()
        {
            super(NAME, "cpus online without their hotplug states, user tasks confined to one cpu by an inherited cpus_allowed",
                (shadow, owners, symbols) -> new CpuBringup(shadow, symbols));
        }
    }
}
