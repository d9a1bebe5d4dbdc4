package palimpsest.emulator;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What a scenario is asked to run with: its arguments, and for kernel scenarios the kernel build. */
public final class ScenarioContext
{
    private final Map<String, String> args;
    private final String kernelVersion;
    private final List<String> patches;

    public ScenarioContext(final Map<String, String> args, final String kernelVersion, final List<String> patches)
    {
        this.args = Collections.unmodifiableMap(new TreeMap<>(args));
        this.kernelVersion = kernelVersion == null ? "" : kernelVersion;
        this.patches = List.copyOf(patches);
    }

    public static ScenarioContext empty()
    {
        return new ScenarioContext(Map.of(), "", List.of());
    }

    public Map<String, String> args()
    {
        return args;
    }

    /** Kernel version asked for (empty: the scenario's default). */
    public String kernelVersion()
    {
        return kernelVersion;
    }

    /** Patch toggles as typed: "+name" or "-name". */
    public List<String> patches()
    {
        return patches;
    }

    public String arg(final String name, final String dflt)
    {
        return args.getOrDefault(name, dflt);
    }

    public long longArg(final String name, final long dflt)
    {
        final String v = args.get(name);
        if (v == null)
        {
            return dflt;
        }
        try
        {
            return Long.decode(v);
        }
        catch (final NumberFormatException e)
        {
            throw new IllegalArgumentException("argument " + name + " must be a number, got '" + v + "'");
        }
    }
}
