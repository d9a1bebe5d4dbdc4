package palimpsest.kernel.patches;

import java.util.ArrayList;
import java.util.List;

/** The applied patches of one kernel build: what kernel code consults at its behaviour points. */
public final class Patches
{
    private final String version;
    private final List<Patch> applied;
    private final String[] names;

    public Patches(final String version, final List<Patch> applied)
    {
        this.version = version == null || version.isEmpty() ? PatchSeries.DEFAULT_VERSION : version;
        this.applied = List.copyOf(applied);
        this.names = new String[applied.size()];
        for (int i = 0; i < names.length; i++)
        {
            names[i] = applied.get(i).name();
        }
    }

    /** Resolves a version and toggles against the series found on the class path. */
    public static Patches of(final String version, final List<String> toggles)
    {
        return new Patches(version, PatchSeries.load().resolve(version, toggles));
    }

    public boolean enabled(final String name)
    {
        for (final String n : names)
        {
            if (n.equals(name))
            {
                return true;
            }
        }
        return false;
    }

    public String version()
    {
        return version;
    }

    public List<Patch> applied()
    {
        return applied;
    }

    public List<String> names()
    {
        final List<String> l = new ArrayList<>();
        for (final String n : names)
        {
            l.add(n);
        }
        return l;
    }

    @Override
    public String toString()
    {
        return version + " " + names();
    }
}
