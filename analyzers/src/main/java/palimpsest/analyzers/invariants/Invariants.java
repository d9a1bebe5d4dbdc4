package palimpsest.analyzers.invariants;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** The invariants found by ServiceLoader on a class loader (built-ins and plugin jars), by name. */
public final class Invariants
{
    private final List<Invariant> all = new ArrayList<>();

    private Invariants()
    {
    }

    public static Invariants load(final ClassLoader loader)
    {
        final Invariants c = new Invariants();
        for (final Invariant i : ServiceLoader.load(Invariant.class, loader))
        {
            if (c.find(i.name()) == null)
            {
                c.all.add(i);
            }
        }
        c.all.sort((a, b) -> a.name().compareTo(b.name()));
        return c;
    }

    public static Invariants load()
    {
        final ClassLoader tccl = Thread.currentThread().getContextClassLoader();
        return load(tccl != null ? tccl : Invariants.class.getClassLoader());
    }

    public Invariant find(final String name)
    {
        for (final Invariant i : all)
        {
            if (i.name().equals(name))
            {
                return i;
            }
        }
        return null;
    }

    public List<Invariant> all()
    {
        return List.copyOf(all);
    }

    public List<String> names()
    {
        final List<String> n = new ArrayList<>();
        all.forEach(i -> n.add(i.name()));
        return n;
    }
}
