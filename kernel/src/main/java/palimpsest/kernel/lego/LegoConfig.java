package palimpsest.kernel.lego;

/**
 * How a LegoOS cluster is built: node 0 is the processor component (P), nodes 1..memoryNodes the
 * memory components (M); the pcache's size and associativity; whether every shipped page carries
 * a checksum the receiver verifies and prints (the diary's {@code csum:} lines).
 */
public final class LegoConfig
{
    public final int memoryNodes;
    /** pcache size in KiB (a multiple of 4 * ways). */
    public final int pcacheKiB;
    public final int pcacheWays;
    public final boolean pageCsum;
    /** kpcache_sweepd's period in jiffies (LegoOS's LRU configuration); 0: no sweep thread. */
    public int sweepJiffies;
    /** argv[1..] of the processor's init program (argv[0] is its path). */
    public final java.util.List<String> initArgs = new java.util.ArrayList<>();

    public LegoConfig(final int memoryNodes, final int pcacheKiB, final int pcacheWays, final boolean pageCsum)
    {
        if (memoryNodes < 1)
        {
            throw new IllegalArgumentException("memory-nodes must be >= 1, got " + memoryNodes);
        }
        if (pcacheWays < 1 || pcacheWays > 64 || pcacheKiB < 4 * pcacheWays || pcacheKiB % (4 * pcacheWays) != 0 ||
            pcacheKiB > 16384)
        {
            throw new IllegalArgumentException("pcache must be a multiple of 4 KiB x ways (1..64 ways, at most 16 MiB), got " +
                pcacheKiB + " KiB, " + pcacheWays + " ways");
        }
        this.memoryNodes = memoryNodes;
        this.pcacheKiB = pcacheKiB;
        this.pcacheWays = pcacheWays;
        this.pageCsum = pageCsum;
    }

    public int nodes()
    {
        return 1 + memoryNodes;
    }

    /** The console/trace label of a node: P0, M1, M2... */
    public static String label(final int node)
    {
        return (node == 0 ? "P" : "M") + node;
    }
}
