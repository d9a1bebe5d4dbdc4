package palimpsest.recorder;

import java.lang.ref.SoftReference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;

import palimpsest.emulator.CodeMap;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.input.InputSources;
import palimpsest.recorder.image.LoadedImage;
import palimpsest.trace.EventSink;
import palimpsest.trace.TraceHeader;

/**
 * The scenarios visible through a class loader ({@link ServiceLoader} over
 * {@code META-INF/services/palimpsest.emulator.Scenario}), sorted by name. When two providers use
 * the same name the first one found wins (built-ins come before plugin jars on the class path).
 */
public final class ScenarioCatalog
{
    private final TreeMap<String, Scenario> byName = new TreeMap<>();
    private final List<String> problems = new ArrayList<>();

    private ScenarioCatalog()
    {
    }

    /** Scenarios on the class path of this module's class loader. */
    public static ScenarioCatalog load()
    {
        return load(ScenarioCatalog.class.getClassLoader());
    }

    /**
     * Scenarios visible through loader. A provider that cannot be instantiated is skipped and noted
     * in {@link #problems()} rather than failing the whole catalog.
     */
    public static ScenarioCatalog load(final ClassLoader loader)
    {
        final ScenarioCatalog c = new ScenarioCatalog();
        final Iterator<Scenario> it = ServiceLoader.load(Scenario.class, loader).iterator();
        while (true)
        {
            final Scenario s;
            try
            {
                if (!it.hasNext())
                {
                    break;
                }
                s = it.next();
            }
            catch (final ServiceConfigurationError | LinkageError e)
            {
                c.problems.add(oneLine(e));
                continue;
            }
            c.byName.putIfAbsent(s.name(), s);
        }
        return c;
    }

    private static String oneLine(final Throwable t)
    {
        String m = t.getMessage() == null ? t.toString() : t.getMessage();
        final int nl = m.indexOf('\n');
        if (nl >= 0)
        {
            m = m.substring(0, nl);
        }
        return m;
    }

    /** @return the scenario of that name, or null. */
    public Scenario find(final String name)
    {
        return byName.get(name);
    }

    public List<Scenario> all()
    {
        return Collections.unmodifiableList(new ArrayList<>(byName.values()));
    }

    public List<String> names()
    {
        return new ArrayList<>(byName.keySet());
    }

    /** Providers that failed to load (one line each). */
    public List<String> problems()
    {
        return Collections.unmodifiableList(problems);
    }

    /** The machine shape a trace was recorded on. */
    public static MachineConfig configOf(final TraceHeader h)
    {
        return new MachineConfig(h.nodes(), h.cpusPerNode(), h.memMiB());
    }

    /** The scenario context (arguments, kernel version and patches) a trace was recorded with. */
    public static ScenarioContext contextOf(final TraceHeader h)
    {
        final Map<String, String> args = h.scenarioArgs();
        return new ScenarioContext(args, h.kernelVersion(), h.kernelPatches());
    }

    /**
     * Rebuilds the machine a trace was recorded on and loads its scenario, without running it: for
     * symbols ({@code machine.code()}) and static layout. Events go nowhere. The caller owns the
     * machine (pal state writes the trace's events into its memory): when {@link #codeWithoutRunning}
     * just loaded one for the same header and scenario, that one is handed over instead of loading
     * again, since loading is the dearest step of a query (a long word-count makes its whole text).
     */
    public static Machine loadWithoutRunning(final Scenario scenario, final TraceHeader h)
    {
        synchronized (ScenarioCatalog.class)
        {
            final Image i = last == null ? null : last.get();
            if (i != null && i.matches(scenario, h) && i.spare != null)
            {
                final Machine m = i.spare;
                i.spare = null;
                return m;
            }
        }
        final Machine m = load(scenario, h);
        synchronized (ScenarioCatalog.class)
        {
            last = new SoftReference<>(new Image(scenario, h.digest(), m.code(), null));
        }
        return m;
    }

    /**
     * The code map (symbols) of the machine a trace was recorded on, loaded without running it:
     * read only. The last one is kept (softly) with its machine, so a verb that wants both the
     * symbols and the loaded machine ({@link #loadWithoutRunning}) loads once.
     */
    public static CodeMap codeWithoutRunning(final Scenario scenario, final TraceHeader h)
    {
        synchronized (ScenarioCatalog.class)
        {
            final Image i = last == null ? null : last.get();
            if (i != null && i.matches(scenario, h))
            {
                return i.code;
            }
        }
        final Machine m = load(scenario, h);
        synchronized (ScenarioCatalog.class)
        {
            last = new SoftReference<>(new Image(scenario, h.digest(), m.code(), m));
        }
        return m.code();
    }

    /**
     * The loaded image of a trace ({@link LoadedImage}): the one beside it when usable, else the
     * scenario loaded without running and its image written beside the trace for the next query.
     * Null when neither can be had (a scenario this pal lacks, a trace directory it cannot write):
     * the caller then works from a loaded machine, or without symbols.
     *
     * @param catalog asked only when the image must be made (loading every scenario is a query's cost too)
     */
    public static LoadedImage imageOf(final java.nio.file.Path trace, final TraceHeader h,
        final java.util.function.Supplier<ScenarioCatalog> catalog)
    {
        final LoadedImage img = LoadedImage.open(trace, h.digest());
        if (img != null)
        {
            return img;
        }
        try
        {
            final Scenario s = catalog.get().find(h.scenario());
            if (s == null)
            {
                return null;
            }
            Machine m = null;
            synchronized (ScenarioCatalog.class)
            {
                final Image i = last == null ? null : last.get();
                if (i != null && i.matches(s, h))
                {
                    m = i.spare; // still as loaded (a machine handed over is no longer the spare)
                }
            }
            if (m == null)
            {
                m = load(s, h);
                synchronized (ScenarioCatalog.class)
                {
                    last = new SoftReference<>(new Image(s, h.digest(), m.code(), m));
                }
            }
            LoadedImage.write(trace, h.digest(), m);
            return LoadedImage.open(trace, h.digest());
        }
        catch (final RuntimeException | LinkageError e)
        {
            return null; // cannot load the scenario, or cannot write beside the trace
        }
    }

    private static Machine load(final Scenario scenario, final TraceHeader h)
    {
        final Machine m = new Machine(configOf(h), EventSink.NULL, InputSources.create("seeded", h.seed()));
        scenario.load(m, contextOf(h));
        return m;
    }

    /** The last machine loaded without running: its scenario, header digest, code, and itself while nobody took it. */
    private static final class Image
    {
        final Scenario scenario;
        final long digest;
        final CodeMap code;
        Machine spare;

        Image(final Scenario scenario, final long digest, final CodeMap code, final Machine spare)
        {
            this.scenario = scenario;
            this.digest = digest;
            this.code = code;
            this.spare = spare;
        }

        boolean matches(final Scenario s, final TraceHeader h)
        {
            return s == scenario && h.digest() == digest;
        }
    }

    /** Soft: a long-lived process (a test run, pal hunt) lets the collector take it back under pressure. */
    private static SoftReference<Image> last;
}
