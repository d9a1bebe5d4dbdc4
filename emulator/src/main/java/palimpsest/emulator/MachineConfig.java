package palimpsest.emulator;

/** The shape of the machine: how many nodes, CPUs per node and MiB of RAM per node. */
public final class MachineConfig
{
    public static final int MAX_CPUS_PER_NODE = 64;
    public static final int MAX_NODES = 16;

    public final int nodes;
    public final int cpusPerNode;
    public final int memMiB;

    public MachineConfig(final int nodes, final int cpusPerNode, final int memMiB)
    {
        if (nodes < 1 || nodes > MAX_NODES)
        {
            throw new IllegalArgumentException("nodes must be 1.." + MAX_NODES + ", got " + nodes);
        }
        if (cpusPerNode < 1 || cpusPerNode > MAX_CPUS_PER_NODE)
        {
            throw new IllegalArgumentException("cpus must be 1.." + MAX_CPUS_PER_NODE + ", got " + cpusPerNode);
        }
        if (memMiB < 1 || memMiB > 1536)
        {
            throw new IllegalArgumentException("mem must be 1..1536 MiB, got " + memMiB);
        }
        this.nodes = nodes;
        this.cpusPerNode = cpusPerNode;
        this.memMiB = memMiB;
    }

    public static MachineConfig defaults()
    {
        return new MachineConfig(1, 4, 128);
    }

    public int totalCpus()
    {
        return nodes * cpusPerNode;
    }

    @Override
    public String toString()
    {
        return nodes + " node(s) x " + cpusPerNode + " cpu(s), " + memMiB + " MiB/node";
    }
}
