package palimpsest.analyzers;

import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.owner.Owners;

/** An {@link AnalyzerFactory} for an analyzer made from the pass's shadow, owners and symbols (the usual case). */
public abstract class ShadowAnalyzerFactory implements AnalyzerFactory
{
    /** The analyzer's constructor. */
    public interface Maker
    {
        Analyzer make(MachineShadow shadow, Owners owners, Symbols symbols);
    }

    private final String name;
    private final String description;
    private final Maker maker;

    protected ShadowAnalyzerFactory(final String name, final String description, final Maker maker)
    {
        this.name = name;
        this.description = description;
        this.maker = maker;
    }

    @Override
    public final String name()
    {
        return name;
    }

    @Override
    public final String description()
    {
        return description;
    }

    @Override
    public Analyzer create(final AnalysisContext c)
    {
        return maker.make(c.shadow, c.owners, c.symbols);
    }
}
