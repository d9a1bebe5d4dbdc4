package palimpsest.emulator;

import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.input.InputSource;
import palimpsest.emulator.net.Fabric;
import palimpsest.emulator.net.Nic;
import palimpsest.trace.EventSink;

/**
 * The emulated machine: nodes, each with its own RAM, CPUs, console and devices; one shared code
 * map; one deterministic executor. Knows nothing of any kernel: software is loaded into memory
 * and the code map before {@link #run}, and each node's boot CPU starts at its boot entry.
 *
 * <p>Global CPU ids run across nodes: cpu = node * cpusPerNode + local APIC id. Ports 0x3F8
 * (console) and 0x604 (power: write 0 to power off cleanly, anything else to report failure)
 * exist on every node, and so does a NIC at ports 0xC000..0xC00F ({@link Nic}), linked to the
 * other nodes by the {@link Fabric}.
 */
public final class Machine
{
    public static final int POWER_PORT = 0x604;

    private final MachineConfig config;
    private final PhysicalMemory[] memory;
    private final Console[] consoles;
    private final List<List<IoDevice>> devices = new ArrayList<>();
    private final CpuCore[] cores;
    private final CodeMap code = new CodeMap();
    private final Executor exec;
    private final long[] bootEntry;
    private final Fabric fabric;
    private boolean ran;
    /** Whether each node powers off on its own (a cluster) rather than the first power-off stopping all. */
    private boolean powerOffPerNode;
    private final boolean[] nodeOff;
    private final java.util.Map<Object, Object> attachments = new java.util.IdentityHashMap<>();

    public Machine(final MachineConfig config, final EventSink sink, final InputSource input)
    {
        this.config = config;
        this.memory = new PhysicalMemory[config.nodes];
        this.consoles = new Console[config.nodes];
        this.cores = new CpuCore[config.totalCpus()];
        this.bootEntry = new long[config.nodes];
        this.nodeOff = new boolean[config.nodes];
        for (int n = 0; n < config.nodes; n++)
        {
            memory[n] = new PhysicalMemory((long)config.memMiB << 20);
            consoles[n] = new Console();
            devices.add(new ArrayList<>());
            devices.get(n).add(consoles[n]);
            for (int i = 0; i < config.cpusPerNode; i++)
            {
                final int id = n * config.cpusPerNode + i;
                cores[id] = new CpuCore(id, n, i, memory[n]);
            }
        }
        this.exec = new Executor(this, sink, input, cores);
        this.fabric = Nic.attach(this);
    }

    public MachineConfig config()
    {
        return config;
    }

    public PhysicalMemory memory(final int node)
    {
        return memory[node];
    }

    public Console console(final int node)
    {
        return consoles[node];
    }

    /** The network between the nodes. */
    public Fabric fabric()
    {
        return fabric;
    }

    /** Node's network card (ports {@link Nic#BASE}..). */
    public Nic nic(final int node)
    {
        return fabric.nic(node);
    }

    public CodeMap code()
    {
        return code;
    }

    public CpuCore core(final int id)
    {
        return cores[id];
    }

    public int cpuCount()
    {
        return cores.length;
    }

    public EventSink sink()
    {
        return exec.sink;
    }

    public InputSource input()
    {
        return exec.input;
    }

    /** Virtual time in ticks. */
    public long now()
    {
        return exec.now();
    }

    /** Where node's boot CPU starts (a routine registered in the code map). */
    /**
     * Attaches what a scenario loaded into this machine (its kernel, its expectations) under a key
     * of the scenario's choosing: the machine owns it, so it goes when the machine goes.
     */
    public synchronized void attach(final Object key, final Object value)
    {
        attachments.put(key, value);
    }

    public synchronized Object attachment(final Object key)
    {
        return attachments.get(key);
    }

    /** Where node's boot cpu starts (its pc when the run begins). */
    public long bootEntry(final int node)
    {
        return bootEntry[node];
    }

    /**
     * The id the next new fiber gets. {@link #run} creates the boot fibers first, one per node in
     * node order, so before the run they will be {@code nextFiberId() + node}.
     */
    public long nextFiberId()
    {
        return exec.nextFiberId();
    }

    public void setBootEntry(final int node, final long address)
    {
        bootEntry[node] = address;
    }

    public void addDevice(final int node, final IoDevice device)
    {
        devices.get(node).add(device);
    }

    /** A new fiber that starts at entry when first switched to. */
    public Fiber newFiber(final String name, final Routine entry)
    {
        return exec.newFiber(name, entry);
    }

    /** Runs action (with the baton held) once virtual time reaches due. For devices. */
    public void schedule(final long due, final Runnable action)
    {
        exec.schedule(due, action);
    }

    /** Raises an interrupt on a cpu (for devices; call with the baton held). */
    public void raiseInterrupt(final int cpu, final int vector, final int source)
    {
        exec.raise(cores[cpu], vector, source);
    }

    /** Recorded network choices, for the fabric. */
    public long netLatency(final int src, final int dst, final int length)
    {
        return exec.netLatency(src, dst, length);
    }

    public boolean netDrop(final int src, final int dst, final int length)
    {
        return exec.netDrop(src, dst, length);
    }

    /**
     * An external stimulus (a button, a cable): raises vector on cpu at a virtual time the input
     * source chooses around nominal. Call before {@link #run} or with the baton held.
     */
    public void stimulus(final int id, final long nominal, final int cpu, final int vector)
    {
        final long at = exec.stimulus(id, nominal);
        exec.schedule(at, () -> exec.raise(cores[cpu], vector, InterruptSource.STIMULUS));
    }

    /**
     * Stops the machine with the given outcome from code holding the baton (an event sink that
     * found what it was looking for, a replay verifier): unwinds the caller with
     * {@link MachineStopped}.
     */
    public void stop(final Outcome outcome)
    {
        exec.stop(outcome);
    }

    /**
     * Asks the machine, from any thread, to stop at its next switch point with this outcome (an
     * interrupted recording). The running fiber stops itself there, so nothing is half-written.
     */
    public void requestStop(final Outcome outcome)
    {
        exec.requestStop(outcome);
    }

    /** Marks a core offline after the software parked it for good (hot-unplug); it needs INIT+SIPI again. */
    public void offline(final int cpu)
    {
        exec.offline(cores[cpu]);
    }

    /**
     * Runs until the software powers off, a triple fault, idleness, or maxInstructions ticks of
     * virtual time. A machine runs once.
     */
    public Outcome run(final long maxInstructions)
    {
        if (ran)
        {
            throw new IllegalStateException("a machine runs once");
        }
        ran = true;
        final CpuCore[] boot = new CpuCore[config.nodes];
        final Fiber[] fibers = new Fiber[config.nodes];
        for (int n = 0; n < config.nodes; n++)
        {
            final Routine r = code.routineAt(bootEntry[n]);
            if (r == null)
            {
                throw new IllegalStateException("node " + n + " has no boot code at " + Long.toHexString(bootEntry[n]));
            }
            boot[n] = cores[n * config.cpusPerNode];
            boot[n].pc = bootEntry[n];
            fibers[n] = exec.newFiber("cpu" + boot[n].id + "-boot", r);
        }
        return exec.run(boot, fibers, maxInstructions <= 0 ? Long.MAX_VALUE : maxInstructions);
    }

    public String symbolizeOrHex(final long pc)
    {
        final String s = code.symbolize(pc);
        return s != null ? s : String.format("%016x", pc);
    }

    /**
     * Makes every node power off on its own (a cluster of separate machines): a node's clean
     * power-off takes its cores offline for good, and the run ends POWEROFF when the last node
     * powered off; a failure code from any node still stops everything. Call before {@link #run}.
     */
    public void powerOffPerNode()
    {
        powerOffPerNode = true;
    }

    /** Whether node has powered off (with {@link #powerOffPerNode}). */
    public boolean poweredOff(final int node)
    {
        return nodeOff[node];
    }

    void portOut(final Cpu cpu, final int node, final int port, final long value)
    {
        if (port == POWER_PORT && powerOffPerNode && value == 0 && config.nodes > 1)
        {
            nodeOff[node] = true;
            boolean all = true;
            for (final boolean off : nodeOff)
            {
                all &= off;
            }
            if (!all)
            {
                for (int i = 0; i < config.cpusPerNode; i++)
                {
                    exec.offline(cores[node * config.cpusPerNode + i]);
                }
                return;
            }
        }
        if (port == POWER_PORT)
        {
            exec.stop(new Outcome(value == 0 ? Outcome.Kind.POWEROFF : Outcome.Kind.FAILURE, value,
                value == 0 ? "powered off" : "failure reported by software", null));
        }
        final IoDevice d = device(node, port);
        if (d != null)
        {
            d.out(cpu, port, value);
        }
    }

    long portIn(final Cpu cpu, final int node, final int port)
    {
        final IoDevice d = device(node, port);
        return d != null ? d.in(cpu, port) : -1L;
    }

    private IoDevice device(final int node, final int port)
    {
        final List<IoDevice> list = devices.get(node);
        for (int i = 0, n = list.size(); i < n; i++)
        {
            final IoDevice d = list.get(i);
            if (port >= d.basePort() && port < d.basePort() + d.portCount())
            {
                return d;
            }
        }
        return null;
    }
}
