package palimpsest.kernel.patches;

/** A patch that is only a flag consulted by the kernel code. */
public class SimplePatch implements Patch
{
    private final String name;
    private final String description;
    private final boolean optional;

    public SimplePatch(final String name, final String description)
    {
        this(name, description, false);
    }

    public SimplePatch(final String name, final String description, final boolean optional)
    {
        this.name = name;
        this.description = description;
        this.optional = optional;
    }

    @Override
    public String name()
    {
        return name;
    }

    @Override
    public String description()
    {
        return description;
    }

    @Override
    public boolean optional()
    {
        return optional;
    }
}
