package palimpsest.analyzers;

/**
 * Makes one analyzer for one pass. Found by {@link java.util.ServiceLoader}
 * ({@code META-INF/services/palimpsest.analyzers.AnalyzerFactory}, in a plugin jar too); the order
 * of that file is the order analyzers see each event. {@link #name} is what {@code pal analyze
 * --only NAME} selects.
 */
public interface AnalyzerFactory
{
    String name();

    /** One line: what the analyzer reports. */
    String description();

    Analyzer create(AnalysisContext context);
}
