package palimpsest.analyzers;

/** One thing an analyzer reports: which analyzer, the event it is about, a one-line title and the full report. */
public final class Finding
{
    public final String analyzer;
    public final long event;
    public final String title;
    public final String report;

    public Finding(final String analyzer, final long event, final String title, final String report)
    {
        this.analyzer = analyzer;
        this.event = event;
        this.title = title;
        this.report = report;
    }

    @Override
    public String toString()
    {
        return report;
    }
}
