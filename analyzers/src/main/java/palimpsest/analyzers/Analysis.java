package palimpsest.analyzers;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.function.LongConsumer;

import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.owner.Owners;
import palimpsest.analyzers.whowrote.IndexInPass;
import palimpsest.trace.DecodeAhead;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceStatus;

/**
 * {@code pal analyze}: every registered analyzer ({@link AnalyzerFactory}, ServiceLoader) in one
 * streaming pass, then their second stages, then the findings merged and ranked into
 * {@link Stories} with a one-line verdict. Per event: the analyzers subscribed to its kind look
 * first, then the memory owners and the machine shadow take the event in, and the who-wrote index
 * (when it is not on disk yet) takes it too: the trace is decoded once for all of them. The second
 * stages' probes are then taken in one shared pass ({@link Analyzer#probes}), only when some
 * stage has something to report.
 */
public final class Analysis
{
    /** What a run found. */
    public static final class Result
    {
        /** Every finding, in event order. */
        public final List<Finding> findings = new ArrayList<>();
        /** The findings as stories, best first. */
        public List<Stories.Story> stories = List.of();
        /** One line: the most likely cause (see {@link Stories#verdict}). */
        public String verdict = "";
        /** The analyzers that ran, in order. */
        public final List<String> analyzers = new ArrayList<>();
        /** What each analyzer checked (its {@link Analyzer#checked} line, prefixed with its name). */
        public final List<String> checked = new ArrayList<>();
        public long events;
        public String traceStatus = "";
        /** Whether the trace was read whole; the findings cover events 0..eventsRead-1 only otherwise. */
        public TraceStatus status = TraceStatus.READING;
        public long eventsRead;
        /** Threads the pass's analyzers ran on: 1, or 2 with {@link #DECODE_SIDE} on the decode thread. */
        public int threads = 1;
        /** Passes the second stages' probes cost after the analysis pass (0 on a clean run; 1 when every stage announced its probes). */
        public int probePasses;
    }

    private Analysis()
    {
    }

    /**
     * The analyzers that run on the decode thread when the pass splits. An analyzer belongs here only
     * if during the pass it reads nothing of the context but the shadow's registers, tasks and
     * translations (the decode side's shadow keeps no memory, and the symbols and owners it is given
     * are the analysis thread's, safe to read only after the pass): today kcsan (DataRaces: vector
     * clocks and its own per-word shadow; symbols and probes only in its second stage), the
     * heaviest analyzer of the pass (JFR of the 0xf0 trace: 10.7% of the analysis thread's samples).
     * Which side an analyzer runs on changes nothing it reports.
     */
    static final java.util.Set<String> DECODE_SIDE = java.util.Set.of("kcsan");

    /** The analyzers that run on the decode thread when the pass splits (for bench's why line). */
    public static java.util.List<String> decodeSide()
    {
        return new java.util.ArrayList<>(new java.util.TreeSet<>(DECODE_SIDE));
    }

    /**
     * System property: 1 keeps every analyzer on the analysis thread (for a one-core machine, or to
     * compare); default 2 on a machine with two cores or more.
     */
    public static final String THREADS_PROPERTY = "pal.analyze.threads";

    /** Whether the pass splits: two cores (or the property), and analyzers for both sides. */
    private static boolean splits(final List<AnalyzerFactory> factories)
    {
        final String p = System.getProperty(THREADS_PROPERTY);
        final int threads = p != null ? Integer.parseInt(p.trim()) : Runtime.getRuntime().availableProcessors() >= 2 ? 2 : 1;
        if (threads < 2)
        {
            return false;
        }
        int decodes = 0;
        for (final AnalyzerFactory f : factories)
        {
            decodes += DECODE_SIDE.contains(f.name()) ? 1 : 0;
        }
        return decodes > 0 && decodes < factories.size();
    }

    /** The registered analyzers (built-in and from jars on the context class loader), in pass order. */
    public static List<AnalyzerFactory> factories()
    {
        final List<AnalyzerFactory> all = new ArrayList<>();
        ClassLoader l = Thread.currentThread().getContextClassLoader();
        if (l == null)
        {
            l = Analysis.class.getClassLoader();
        }
        for (final AnalyzerFactory f : ServiceLoader.load(AnalyzerFactory.class, l))
        {
            all.add(f);
        }
        return all;
    }

    public static Result run(final Path trace, final Symbols symbols, final LongConsumer progress)
    {
        return run(trace, symbols, progress, List.of());
    }

    /**
     * Runs the analyzers named in only (all when empty) over the trace.
     *
     * @throws IllegalArgumentException for a name no factory has (the message lists the known ones)
     */
    public static Result run(final Path trace, final Symbols symbols, final LongConsumer progress, final Collection<String> only)
    {
        final List<AnalyzerFactory> factories = select(only);
        final Result result = new Result();
        final List<Analyzer> analyzers = new ArrayList<>();
        final AnalysisContext context;
        // Decoding runs on the decode-ahead thread, overlapped with the analyzers on this one. The same
        // pass builds the who-wrote index the second stages query (unless it is on disk already), on the
        // decode thread too, with the analyzers of DECODE_SIDE over a shadow without memory: it only
        // reads the events, and this thread is the pass's bottleneck.
        final boolean split = splits(factories);
        final DecodeSide[] side = new DecodeSide[1];
        try (DecodeAhead r = DecodeAhead.open(trace, header ->
        {
            final IndexInPass index = IndexInPass.start(trace, header.cpusPerNode());
            side[0] = index == null && !split ? null : new DecodeSide(index);
            return side[0];
        }))
        {
            final TraceHeader h = r.header();
            final DecodeSide decodeSide = side[0];
            final List<Analyzer> here = new ArrayList<>();
            try
            {
                final MachineShadow shadow = new MachineShadow(h.cpuCount(), h.cpusPerNode());
                symbols.readModulesFrom(shadow.memory());
                final Owners owners = new Owners(shadow, symbols);
                context = new AnalysisContext(trace, h, symbols, shadow, owners, progress);
                AnalysisContext twin = null;
                final List<Analyzer> there = new ArrayList<>();
                if (split)
                {
                    // Symbols and owners are the analysis thread's: DECODE_SIDE analyzers use them only after the pass.
                    twin = new AnalysisContext(context, symbols, new MachineShadow(h.cpuCount(), h.cpusPerNode(), false), owners);
                }
                for (final AnalyzerFactory f : factories)
                {
                    final boolean decodes = split && DECODE_SIDE.contains(f.name());
                    final Analyzer a = f.create(decodes ? twin : context);
                    analyzers.add(a);
                    (decodes ? there : here).add(a);
                    result.analyzers.add(f.name());
                }
                if (split)
                {
                    decodeSide.install(new DecodeSide.Group(byKind(there), there.toArray(new Analyzer[0]), twin.shadow));
                    result.threads = 2;
                }
            }
            finally
            {
                if (decodeSide != null)
                {
                    decodeSide.install(null);
                }
            }
            final Analyzer[][] byKind = byKind(here);
            final Analyzer[] all = here.toArray(new Analyzer[0]);
            final MachineShadow shadow = context.shadow;
            final Owners owners = context.owners;
            Event e;
            while ((e = r.next()) != null)
            {
                final int kind = e.kind();
                for (final Analyzer a : kind >= 0 && kind < byKind.length ? byKind[kind] : all)
                {
                    a.onEvent(e);
                }
                owners.onEvent(e);
                symbols.onEvent(e);
                shadow.apply(e);
                if (progress != null && (e.index() & 0xfffff) == 0)
                {
                    progress.accept(e.index());
                }
                result.events++;
            }
            if (decodeSide != null)
            {
                decodeSide.rethrow();
            }
            context.end(r.end());
            for (final Analyzer a : analyzers)
            {
                a.onEnd();
            }
            result.traceStatus = r.statusMessage();
            result.status = r.status();
            result.eventsRead = r.eventsVerified();
            final IndexInPass index = decodeSide == null ? null : decodeSide.index();
            if (index != null)
            {
                context.index(index.finish(new palimpsest.replayer.state.TraceExtent(r.status(), r.eventsVerified(), r.statusMessage())));
            }
        }
        // Second stages: every probe they announce is taken in one shared pass, then each runs.
        final List<Long> probes = new ArrayList<>();
        for (final Analyzer a : analyzers)
        {
            probes.addAll(a.probes(context));
        }
        context.prefetch(probes);
        for (final Analyzer a : analyzers)
        {
            a.afterPass(context);
        }
        result.probePasses = context.probePasses();
        for (final Analyzer a : analyzers)
        {
            result.findings.addAll(a.findings());
            final String c = a.checked();
            if (!c.isEmpty())
            {
                result.checked.add(a.name() + ": " + c);
            }
        }
        result.findings.sort(Comparator.comparingLong(f -> f.event));
        result.stories = Stories.of(result.findings);
        result.verdict = Stories.verdict(result.stories, result.checked);
        return result;
    }

    /** Per event kind, the analyzers that subscribe to it ({@link Analyzer#kinds}), in pass order. */
    private static Analyzer[][] byKind(final List<Analyzer> analyzers)
    {
        final Analyzer[][] t = new Analyzer[EventKind.COUNT][];
        for (int k = 0; k < EventKind.COUNT; k++)
        {
            final List<Analyzer> l = new ArrayList<>();
            for (final Analyzer a : analyzers)
            {
                if ((a.kinds() & 1 << k) != 0)
                {
                    l.add(a);
                }
            }
            t[k] = l.toArray(new Analyzer[0]);
        }
        return t;
    }

    private static List<AnalyzerFactory> select(final Collection<String> only)
    {
        final List<AnalyzerFactory> all = factories();
        if (only == null || only.isEmpty())
        {
            return all;
        }
        final List<AnalyzerFactory> chosen = new ArrayList<>();
        for (final String name : only)
        {
            AnalyzerFactory found = null;
            for (final AnalyzerFactory f : all)
            {
                if (f.name().equals(name))
                {
                    found = f;
                }
            }
            if (found == null)
            {
                final List<String> names = new ArrayList<>();
                all.forEach(f -> names.add(f.name()));
                throw new IllegalArgumentException("unknown analyzer '" + name + "'; known analyzers: " + String.join(", ", names));
            }
            if (!chosen.contains(found))
            {
                chosen.add(found);
            }
        }
        // Keep the registered pass order whatever order --only gave.
        chosen.sort(Comparator.comparingInt(all::indexOf));
        return chosen;
    }
}
