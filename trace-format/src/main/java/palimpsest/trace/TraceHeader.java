package palimpsest.trace;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What a trace is a recording of. First excerpt of every trace. Holds no wall-clock time, host name
 * or anything else that would make two recordings of the same run differ.
 *
 * <p>Binary layout (little-endian; {@code str} = u32 byte length + UTF-8 bytes):
 * <pre>
 *  0       8       10      12      16      20      24
 *  +-------+-------+-------+-------+-------+-------+----------------------------------------+
 *  | MAGIC |version| flags | nodes | cpus/ | mem   | str scenario                           |
 *  |"PALIM | u16   | u16=0 | u32   | node  | MiB   |                                        |
 *  |  PST" |       |       |       | u32   | u32   |                                        |
 *  +-------+-------+-------+-------+-------+-------+----------------------------------------+
 *  | u32 argCount | argCount x (str key, str value), keys in ascending String order          |
 *  | str scheduleKind | i64 seed | str kernelVersion | u32 patchCount | patchCount x str      |
 *  | str toolVersion | [u32 pluginCount | pluginCount x str jar name]  (only when plugins)    |
 *  | u64 digest = XXH64(every header byte before it, seed "PALHEAD")                           |
 *  +------------------------------------------------------------------------------------------+
 * </pre>
 * Readers check MAGIC and version before anything else; fields may only be appended, with a
 * {@link TraceFormat#VERSION} bump.
 */
public final class TraceHeader
{
    private final int formatVersion;
    private final int nodes;
    private final int cpusPerNode;
    private final int memMiB;
    private final String scenario;
    private final SortedMap<String, String> scenarioArgs;
    private final String scheduleKind;
    private final long seed;
    private final String kernelVersion;
    private final List<String> kernelPatches;
    private final String toolVersion;
    /** File names of the --plugin jars the recording had (an optional trailing field: absent when empty). */
    private final List<String> plugins;

    public TraceHeader(
        final int nodes,
        final int cpusPerNode,
        final int memMiB,
        final String scenario,
        final Map<String, String> scenarioArgs,
        final String scheduleKind,
        final long seed,
        final String kernelVersion,
        final List<String> kernelPatches,
        final String toolVersion)
    {
        this(TraceFormat.VERSION, nodes, cpusPerNode, memMiB, scenario, scenarioArgs, scheduleKind, seed,
            kernelVersion, kernelPatches, toolVersion, List.of());
    }

    private TraceHeader(
        final int formatVersion,
        final int nodes,
        final int cpusPerNode,
        final int memMiB,
        final String scenario,
        final Map<String, String> scenarioArgs,
        final String scheduleKind,
        final long seed,
        final String kernelVersion,
        final List<String> kernelPatches,
        final String toolVersion,
        final List<String> plugins)
    {
        this.formatVersion = formatVersion;
        this.plugins = List.copyOf(plugins);
        this.nodes = nodes;
        this.cpusPerNode = cpusPerNode;
        this.memMiB = memMiB;
        this.scenario = Objects.requireNonNull(scenario, "scenario");
        this.scenarioArgs = Collections.unmodifiableSortedMap(new TreeMap<>(Objects.requireNonNull(scenarioArgs)));
        this.scheduleKind = Objects.requireNonNull(scheduleKind, "scheduleKind");
        this.seed = seed;
        this.kernelVersion = kernelVersion == null ? "" : kernelVersion;
        this.kernelPatches = List.copyOf(kernelPatches == null ? List.of() : kernelPatches);
        this.toolVersion = toolVersion == null ? "" : toolVersion;
    }

    public static Builder builder()
    {
        return new Builder();
    }

    /** Format version of the trace this header was read from ({@link TraceFormat#VERSION} when new). */
    public int formatVersion()
    {
        return formatVersion;
    }

    public int nodes()
    {
        return nodes;
    }

    public int cpusPerNode()
    {
        return cpusPerNode;
    }

    public int cpuCount()
    {
        return nodes * cpusPerNode;
    }

    public int memMiB()
    {
        return memMiB;
    }

    public String scenario()
    {
        return scenario;
    }

    /** Scenario arguments, sorted by key. */
    public SortedMap<String, String> scenarioArgs()
    {
        return scenarioArgs;
    }

    /** free, seeded, chaos, replay... */
    public String scheduleKind()
    {
        return scheduleKind;
    }

    public long seed()
    {
        return seed;
    }

    /** Kernel version, possibly empty. */
    public String kernelVersion()
    {
        return kernelVersion;
    }

    public List<String> kernelPatches()
    {
        return kernelPatches;
    }

    /** The plugin jars (file names) the recording was made with; analyzing or replaying it needs them. */
    public List<String> plugins()
    {
        return plugins;
    }

    /** This header with the plugin jars' file names recorded. */
    public TraceHeader withPlugins(final List<String> jars)
    {
        return new TraceHeader(formatVersion, nodes, cpusPerNode, memMiB, scenario, scenarioArgs, scheduleKind, seed,
            kernelVersion, kernelPatches, toolVersion, jars);
    }

    public String toolVersion()
    {
        return toolVersion;
    }

    /**
     * The header's digest (its last 8 bytes as written): what ties files kept beside a trace, such as
     * its keyframes, to the trace they were made for.
     */
    public long digest()
    {
        final byte[] b = encode();
        return Bits.getLong(b, b.length - 8);
    }

    /** @return the header excerpt bytes. */
    public byte[] encode()
    {
        final List<byte[]> strings = new ArrayList<>();
        int len = 8 + 2 + 2 + 4 + 4 + 4;
        len += str(strings, scenario);
        len += 4;
        for (final Map.Entry<String, String> e : scenarioArgs.entrySet())
        {
            len += str(strings, e.getKey());
            len += str(strings, e.getValue());
        }
        len += str(strings, scheduleKind);
        len += 8;
        len += str(strings, kernelVersion);
        len += 4;
        for (final String p : kernelPatches)
        {
            len += str(strings, p);
        }
        len += str(strings, toolVersion);
        if (!plugins.isEmpty())
        {
            // Optional field before the digest: a header without plugins has no count at all.
            len += 4;
            for (final String j : plugins)
            {
                len += str(strings, j);
            }
        }
        len += 8;

        final byte[] b = new byte[len];
        int p = 0;
        Bits.putLong(b, p, TraceFormat.MAGIC);
        p += 8;
        Bits.putShort(b, p, TraceFormat.VERSION);
        p += 2;
        Bits.putShort(b, p, 0);
        p += 2;
        Bits.putInt(b, p, nodes);
        p += 4;
        Bits.putInt(b, p, cpusPerNode);
        p += 4;
        Bits.putInt(b, p, memMiB);
        p += 4;
        int s = 0;
        p = put(b, p, strings.get(s++));
        Bits.putInt(b, p, scenarioArgs.size());
        p += 4;
        for (int i = 0; i < scenarioArgs.size(); i++)
        {
            p = put(b, p, strings.get(s++));
            p = put(b, p, strings.get(s++));
        }
        p = put(b, p, strings.get(s++));
        Bits.putLong(b, p, seed);
        p += 8;
        p = put(b, p, strings.get(s++));
        Bits.putInt(b, p, kernelPatches.size());
        p += 4;
        for (int i = 0; i < kernelPatches.size(); i++)
        {
            p = put(b, p, strings.get(s++));
        }
        p = put(b, p, strings.get(s++));
        if (!plugins.isEmpty())
        {
            Bits.putInt(b, p, plugins.size());
            p += 4;
            for (int i = 0; i < plugins.size(); i++)
            {
                p = put(b, p, strings.get(s++));
            }
        }
        Bits.putLong(b, p, Hash64.hash(b, 0, p, TraceFormat.HEADER_DIGEST_SEED));
        p += 8;
        if (p != len)
        {
            throw new IllegalStateException("header length " + p + " != " + len);
        }
        return b;
    }

    /** @return true if the bytes start with {@link TraceFormat#MAGIC}. */
    public static boolean hasMagic(final byte[] b, final int off, final int len)
    {
        return len >= 8 && Bits.getLong(b, off) == TraceFormat.MAGIC;
    }

    /**
     * Decodes a header excerpt.
     *
     * @throws TraceException if it is not a header, of a newer version, or cut short.
     */
    public static TraceHeader decode(final byte[] b, final int off, final int len)
    {
        if (!hasMagic(b, off, len))
        {
            throw new TraceException("not a Palimpsest trace (first excerpt does not start with PALIMPST)");
        }
        if (len < 12)
        {
            throw new TraceException("trace header is cut short (" + len + " bytes)");
        }
        final int version = Bits.getUShort(b, off + 8);
        final boolean intact = len >= 20 &&
            Bits.getLong(b, off + len - 8) == Hash64.hash(b, off, len - 8, TraceFormat.HEADER_DIGEST_SEED);
        if (version > TraceFormat.VERSION)
        {
            throw new TraceException("was written by trace format v" + version + ", this pal reads up to v" +
                TraceFormat.VERSION + "; upgrade pal");
        }
        if (version < TraceFormat.VERSION)
        {
            throw new TraceException(TraceFormat.olderFormat(version));
        }
        if (!intact)
        {
            throw new TraceException("trace damaged: header digest mismatch (the header's bytes changed after it " +
                "was written): what was recorded cannot be trusted");
        }
        try
        {
            final Cursor c = new Cursor(b, off + 12, off + len - 8);
            final int nodes = c.i32();
            final int cpusPerNode = c.i32();
            final int memMiB = c.i32();
            final String scenario = c.str();
            final int argCount = c.count();
            final TreeMap<String, String> args = new TreeMap<>();
            for (int i = 0; i < argCount; i++)
            {
                args.put(c.str(), c.str());
            }
            final String scheduleKind = c.str();
            final long seed = c.i64();
            final String kernelVersion = c.str();
            final int patchCount = c.count();
            final List<String> patches = new ArrayList<>(patchCount);
            for (int i = 0; i < patchCount; i++)
            {
                patches.add(c.str());
            }
            final String toolVersion = c.str();
            final List<String> plugins = new ArrayList<>();
            if (c.remaining() >= 4)
            {
                final int n = c.count();
                for (int i = 0; i < n; i++)
                {
                    plugins.add(c.str());
                }
            }
            return new TraceHeader(version, nodes, cpusPerNode, memMiB, scenario, args, scheduleKind, seed,
                kernelVersion, patches, toolVersion, plugins);
        }
        catch (final IndexOutOfBoundsException ex)
        {
            throw new TraceException("trace header is damaged (fields run past its " + len + " bytes)");
        }
    }

    private static int str(final List<byte[]> out, final String s)
    {
        final byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.add(b);
        return 4 + b.length;
    }

    private static int put(final byte[] b, final int p, final byte[] s)
    {
        Bits.putInt(b, p, s.length);
        System.arraycopy(s, 0, b, p + 4, s.length);
        return p + 4 + s.length;
    }

    private static final class Cursor
    {
        private final byte[] b;
        private final int end;
        private int p;

        Cursor(final byte[] b, final int p, final int end)
        {
            this.b = b;
            this.p = p;
            this.end = end;
        }

        private void need(final int n)
        {
            if (n < 0 || p + n > end)
            {
                throw new IndexOutOfBoundsException();
            }
        }

        int i32()
        {
            need(4);
            final int v = Bits.getInt(b, p);
            p += 4;
            return v;
        }

        int remaining()
        {
            return end - p;
        }

        int count()
        {
            final int n = i32();
            need(n); // every element takes at least one byte
            return n;
        }

        long i64()
        {
            need(8);
            final long v = Bits.getLong(b, p);
            p += 8;
            return v;
        }

        String str()
        {
            final int n = i32();
            need(n);
            final String s = new String(b, p, n, StandardCharsets.UTF_8);
            p += n;
            return s;
        }
    }

    @Override
    public boolean equals(final Object o)
    {
        if (this == o)
        {
            return true;
        }
        if (!(o instanceof TraceHeader))
        {
            return false;
        }
        final TraceHeader h = (TraceHeader)o;
        return formatVersion == h.formatVersion && nodes == h.nodes && cpusPerNode == h.cpusPerNode &&
            memMiB == h.memMiB && seed == h.seed && scenario.equals(h.scenario) &&
            scenarioArgs.equals(h.scenarioArgs) && scheduleKind.equals(h.scheduleKind) &&
            kernelVersion.equals(h.kernelVersion) && kernelPatches.equals(h.kernelPatches) &&
            toolVersion.equals(h.toolVersion) && plugins.equals(h.plugins);
    }

    @Override
    public int hashCode()
    {
        return Objects.hash(formatVersion, nodes, cpusPerNode, memMiB, scenario, scenarioArgs, scheduleKind, seed,
            kernelVersion, kernelPatches, toolVersion, plugins);
    }

    @Override
    public String toString()
    {
        return "TraceHeader{format=" + formatVersion + ", machine=" + nodes + "x" + cpusPerNode + " cpus, " + memMiB +
            " MiB, scenario=" + scenario + " " + scenarioArgs + ", schedule=" + scheduleKind + ", seed=" + seed +
            ", kernel=" + kernelVersion + " " + kernelPatches + ", tool=" + toolVersion + (plugins.isEmpty() ? "" : ", plugins=" + plugins) + "}";
    }

    /** Fluent builder; unset strings are empty, unset numbers zero. */
    public static final class Builder
    {
        private int nodes = 1;
        private int cpusPerNode = 1;
        private int memMiB;
        private String scenario = "";
        private final TreeMap<String, String> args = new TreeMap<>();
        private String scheduleKind = "free";
        private long seed;
        private String kernelVersion = "";
        private final List<String> patches = new ArrayList<>();
        private String toolVersion = "";

        public Builder machine(final int nodes, final int cpusPerNode, final int memMiB)
        {
            this.nodes = nodes;
            this.cpusPerNode = cpusPerNode;
            this.memMiB = memMiB;
            return this;
        }

        public Builder scenario(final String scenario)
        {
            this.scenario = scenario;
            return this;
        }

        public Builder arg(final String key, final String value)
        {
            args.put(key, value);
            return this;
        }

        public Builder args(final Map<String, String> args)
        {
            this.args.putAll(args);
            return this;
        }

        public Builder schedule(final String kind, final long seed)
        {
            this.scheduleKind = kind;
            this.seed = seed;
            return this;
        }

        public Builder kernel(final String version, final List<String> patches)
        {
            this.kernelVersion = version;
            this.patches.clear();
            this.patches.addAll(patches);
            return this;
        }

        public Builder toolVersion(final String toolVersion)
        {
            this.toolVersion = toolVersion;
            return this;
        }

        public TraceHeader build()
        {
            return new TraceHeader(nodes, cpusPerNode, memMiB, scenario, args, scheduleKind, seed, kernelVersion,
                patches, toolVersion);
        }
    }
}
