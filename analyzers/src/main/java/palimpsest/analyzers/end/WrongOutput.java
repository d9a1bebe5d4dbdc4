package palimpsest.analyzers.end;

import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.AnalysisContext;
import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.AnalyzerFactory;
import palimpsest.analyzers.Finding;
import palimpsest.emulator.Console;
import palimpsest.emulator.Scenario;
import palimpsest.kernel.scenarios.KernelScenario;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.EndRecord;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * Wrong output: a run whose program said it saw wrong data, however the run ended (a program
 * stops at its first mismatch, and the kernel may power off with a failure code after it). The
 * console is in the trace (node 0's writes to the console port); the scenario that recorded the
 * run says which lines mean wrong data ({@link KernelScenario#wrongOutput}), as its verdict does.
 * A SYMPTOM with the line and where it was printed, so the verdict says "no cause found; checked:
 * ..." when no analyzer found the cause, and is never tied to an unrelated earlier event.
 */
public final class WrongOutput implements Analyzer
{
    public static final String NAME = "output";

    private final int cpusPerNode;
    private final String scenario;
    /** Where the scenarios are (plugin jars included): the catalog is loaded only for a clean power-off. */
    private final ClassLoader loader;
    private final StringBuilder console = new StringBuilder(4096);
    /** Event of the first console byte of each line (index = line number), to say where the bad line was printed. */
    private final List<Long> lineEvents = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();
    private boolean lineStart = true;

    WrongOutput(final AnalysisContext c, final ClassLoader loader)
    {
        this.cpusPerNode = c.header.cpusPerNode();
        this.scenario = c.header.scenario();
        this.loader = loader;
    }

    @Override
    public String name()
    {
        return NAME;
    }

    /** Only the kinds onEvent looks at (console bytes are IO events): the pass calls it for nothing else. */
    @Override
    public int kinds()
    {
        return 1 << EventKind.IO;
    }

    @Override
    public void onEvent(final Event e)
    {
        if (e.kind() == EventKind.IO && e.c() == 1 && e.a() == Console.PORT && e.cpu() < cpusPerNode)
        {
            if (lineStart)
            {
                lineEvents.add(e.index());
                lineStart = false;
            }
            final char ch = (char)(e.b() & 0xff);
            console.append(ch);
            lineStart = ch == '\n';
        }
    }

    @Override
    public void afterPass(final AnalysisContext context)
    {
        final EndRecord end = context.end();
        if (end == null || console.length() == 0)
        {
            return; // a truncated trace: its console is not whole
        }
        final Scenario s = (loader != null ? ScenarioCatalog.load(loader) : ScenarioCatalog.load()).find(scenario);
        if (!(s instanceof KernelScenario))
        {
            return;
        }
        final String text = console.toString();
        final String line = ((KernelScenario)s).wrongOutput(text);
        if (line == null)
        {
            return;
        }
        final int at = text.indexOf(line);
        int n = 0;
        for (int i = 0; i < at; i++)
        {
            n += text.charAt(i) == '\n' ? 1 : 0;
        }
        final long event = n < lineEvents.size() ? lineEvents.get(n) : Math.max(0, end.totalEvents() - 1);
        findings.add(new Finding(NAME, event, "wrong output: " + line, "  the run ended " + end.outcomeMessage() + "; console line " + (n + 1)
            + " (printed from event " + event + ") says the program saw wrong data:\n    " + line + "\n", Finding.Role.SYMPTOM,
            "wrong-output", "", 50, event));
    }

    @Override
    public String checked()
    {
        return console.length() + " console bytes against the scenario's wrong-data lines";
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    /** Registers this analyzer as {@code output}. */
    public static final class Factory implements AnalyzerFactory
    {
        @Override
        public String name()
        {
            return NAME;
        }

        @Override
        public String description()
        {
            return "wrong output: a console line that says the program saw wrong data (the scenario's own lines)";
        }

        @Override
        public Analyzer create(final AnalysisContext c)
        {
            return new WrongOutput(c, Thread.currentThread().getContextClassLoader());
        }
    }
}
