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
    private final java.util.function.Function<AnalysisContext, Analyzer> maker;

    protected ShadowAnalyzerFactory(final String name, final String description, final Maker maker)
    {
        this(c -> maker.make(c.shadow, c.owners, c.symbols), name, description);
    }

    /** For an analyzer made from other parts of the context (the header's cpu count, the trace). */
    protected ShadowAnalyzerFactory(final java.util.function.Function<AnalysisContext, Analyzer> maker, final String name,
        final String description)
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
        return maker.apply(c);
    }
}
