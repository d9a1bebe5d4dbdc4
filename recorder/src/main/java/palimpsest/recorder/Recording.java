package palimpsest.recorder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Objects;
import java.util.stream.Stream;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioArg;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.input.InputSource;
import palimpsest.emulator.input.InputSources;
import palimpsest.recorder.image.LoadedImage;
import palimpsest.recorder.keyframe.KeyframeFile;
import palimpsest.recorder.keyframe.KeyframeRecorder;
import palimpsest.recorder.keyframe.KeyframeWriter;
import palimpsest.trace.EventSink;
import palimpsest.trace.TraceException;
import palimpsest.trace.TraceFormat;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceWriter;

/**
 * One recording: builds the trace header, opens a {@link TraceWriter} that encodes on its own thread
 * ({@link TraceWriter#createEncodingAhead}: the emulator only copies each event into a preallocated
 * batch, nothing is allocated per event) and hands it to the machine as its event sink, loads the
 * scenario, runs the machine, and closes the trace with the outcome.
 *
 * <p>{@link #events()} and {@link #virtualTime()} may be polled from another thread while
 * {@link #run()} executes; they are progress figures, read without synchronisation.
 */
public final class Recording
{
    /** Receives the emulated consoles' output as it is written (on the emulated CPU's thread). */
    @FunctionalInterface
    public interface ConsoleListener
    {
        void write(int node, char ch);
    }

    /** Header argument naming the nodes' roles, when the scenario has any ({@link Scenario#nodeLabels}). */
    public static final String ROLES = "roles";

    private final Scenario scenario;
    private MachineConfig config;
    private ScenarioContext context = ScenarioContext.empty();
    private String scheduleKind = "seeded";
    private long seed;
    private Path output;
    private ConsoleListener console;
    private long keyframeEvery = KeyframeFile.DEFAULT_EVERY;
    private int keyframes;
    private boolean measureEncoder;
    private long encoderCpuNanos = -1;
    private long batches;
    private long batchStalls;

    private volatile TraceWriter writer;
    private volatile Machine machine;
    /** Highest progress figure handed out (polls race with chunk flushes; keep them monotonic). */
    private final java.util.concurrent.atomic.AtomicLong eventsSeen = new java.util.concurrent.atomic.AtomicLong();
    private volatile long finalEvents = -1;
    private volatile boolean interrupted;

    private java.util.List<String> plugins = java.util.List.of();

    public Recording(final Scenario scenario)
    {
        this.scenario = Objects.requireNonNull(scenario, "scenario");
        this.config = scenario.defaultConfig();
    }

    public Recording config(final MachineConfig config)
    {
        this.config = Objects.requireNonNull(config);
        return this;
    }

    public Recording context(final ScenarioContext context)
    {
        this.context = Objects.requireNonNull(context);
        return this;
    }

    /** Schedule kind (free, seeded, chaos: see {@link InputSources}) and seed. */
    public Recording schedule(final String kind, final long seed)
    {
        this.scheduleKind = Objects.requireNonNull(kind);
        this.seed = seed;
        return this;
    }

    /** The trace directory: must not exist or be empty. */
    /** Events between keyframes ({@link KeyframeFile}); 0 writes none. */
    public Recording keyframeEvery(final long events)
    {
        if (events < 0)
        {
            throw new IllegalArgumentException("--keyframe-every must be >= 0: " + events);
        }
        this.keyframeEvery = events;
        return this;
    }

    /**
     * Also measure the encoder thread (for {@code pal bench}): after {@link #run},
     * {@link #encoderCpuNanos()}, {@link #batches()} and {@link #batchStalls()} say whether the
     * encoder kept up with the machine. Costs a look at java.management after the run, nothing during it.
     */
    public Recording measureEncoder(final boolean on)
    {
        this.measureEncoder = on;
        return this;
    }

    /** CPU time of the encoder thread over the last {@link #run} (with {@link #measureEncoder}), else -1. */
    public long encoderCpuNanos()
    {
        return encoderCpuNanos;
    }

    /** Event batches the last {@link #run} handed to the encoder thread. */
    public long batches()
    {
        return batches;
    }

    /** Of {@link #batches()}, the handoffs where the machine waited for the encoder to free a batch. */
    public long batchStalls()
    {
        return batchStalls;
    }

    /** Keyframes written by the last {@link #run}. */
    public int keyframes()
    {
        return keyframes;
    }

    public Recording output(final Path dir)
    {
        this.output = dir;
        return this;
    }

    public Recording console(final ConsoleListener listener)
    {
        this.console = listener;
        return this;
    }

    /** The header a recording with these settings writes (also used to check settings cheaply). */
    public TraceHeader header()
    {
        return header(scenario, config, context, scheduleKind, seed).withPlugins(plugins);
    }

    /** The file names of the plugin jars this recording needs (written to the header: analyze and replay ask for them). */
    public Recording plugins(final java.util.List<String> jarNames)
    {
        this.plugins = java.util.List.copyOf(jarNames);
        return this;
    }

    public static TraceHeader header(final Scenario scenario, final MachineConfig config, final ScenarioContext context,
        final String scheduleKind, final long seed)
    {
        final TraceHeader.Builder b = TraceHeader.builder()
            .machine(config.nodes, config.cpusPerNode, config.memMiB)
            .scenario(scenario.name())
            .args(context.args());
        final String[] labels = scenario.nodeLabels(config, context);
        if (labels != null)
        {
            // The nodes' roles (P0, M1...) travel in the header as the argument "roles".
            b.arg(ROLES, String.join(",", labels));
        }
        return b
            .schedule(scheduleKind, seed)
            .kernel(context.kernelVersion(), context.patches())
            .toolVersion(Version.tool())
            .build();
    }

    /**
     * Events written so far (0 before the trace is open). Safe to call from any thread: while the run
     * is going it is a progress figure (never decreasing, read without synchronisation from the
     * writer, so it may be ahead by up to one chunk for a moment); after {@link #run()} it is exact.
     */
    public long events()
    {
        final long f = finalEvents;
        if (f >= 0)
        {
            return f;
        }
        final TraceWriter w = writer;
        if (w == null)
        {
            return 0;
        }
        final long now = w.events();
        return eventsSeen.accumulateAndGet(now, Math::max);
    }

    /**
     * Stops the run from any thread (a signal handler) at the machine's next switch point: the trace is
     * closed with the outcome {@link Outcome#interrupted()} and every event written before replays.
     */
    public void interrupt()
    {
        interrupted = true;
        final Machine m = machine;
        if (m != null)
        {
            m.requestStop(Outcome.interrupted());
        }
    }

    /** The machine's virtual time so far (0 before it exists). Safe to call from any thread. */
    public long virtualTime()
    {
        final Machine m = machine;
        return m == null ? 0 : m.now();
    }

    /**
     * The loaded machine's symbols and RAM beside the trace ({@link LoadedImage}), before it runs:
     * what every later query reads instead of loading the scenario again. Best effort: without it a
     * query loads the scenario, as before.
     */
    private void writeImage(final Machine m, final TraceHeader header)
    {
        try
        {
            LoadedImage.write(output, header.digest(), m);
        }
        catch (final java.io.UncheckedIOException | TraceException e)
        {
            // a full disk: the queries fall back to loading the scenario
        }
    }

    /**
     * Records the run.
     *
     * @throws IllegalArgumentException for an unknown schedule kind or arguments the scenario
     *     rejects (one-line message; the half-made trace directory is removed).
     * @throws TraceException if the output directory cannot be used.
     */
    public RecordingSummary run()
    {
        if (output == null)
        {
            throw new IllegalStateException("no output directory");
        }
        ScenarioArg.check(scenario, context.args());
        final InputSource input = InputSources.create(scheduleKind, seed);
        final TraceHeader header = header(scenario, config, context, input.kind(), seed).withPlugins(plugins);
        final boolean existed = Files.exists(output);
        // Encoding, digesting and appending run on the encoder thread (the machine's other core).
        final TraceWriter w = TraceWriter.createEncodingAhead(output, header);
        final Machine m;
        KeyframeWriter kw = null;
        KeyframeRecorder kr = null;
        try
        {
            EventSink sink = w;
            if (keyframeEvery > 0)
            {
                final long bytesPerNode = (long)config.memMiB << 20;
                kw = new KeyframeWriter(KeyframeFile.of(output), keyframeEvery, config.nodes, config.totalCpus(),
                    (int)(bytesPerNode / KeyframeFile.PAGE_SIZE), header.digest());
                kr = new KeyframeRecorder(w, kw, keyframeEvery, config.nodes, config.cpusPerNode, bytesPerNode);
                sink = kr;
            }
            m = new Machine(config, sink, input);
            if (kr != null)
            {
                kr.attach(m);
            }
            if (console != null)
            {
                for (int n = 0; n < config.nodes; n++)
                {
                    final int node = n;
                    m.console(n).listener(ch -> console.write(node, (char)ch));
                }
            }
            scenario.load(m, context);
        }
        catch (final RuntimeException | Error e)
        {
            if (kw != null)
            {
                kw.close();
            }
            w.close(new Outcome(Outcome.Kind.INTERNAL_ERROR, 0, "load failed", null).wireCode(), String.valueOf(e.getMessage()));
            removeQuietly(output, existed);
            throw e;
        }
        writer = w;
        machine = m;
        writeImage(m, header);
        if (interrupted)
        {
            m.requestStop(Outcome.interrupted()); // asked before the machine existed
        }
        final long start = System.nanoTime();
        Outcome outcome;
        try
        {
            outcome = m.run(scenario.maxInstructions());
        }
        catch (final RuntimeException | Error e)
        {
            outcome = new Outcome(Outcome.Kind.INTERNAL_ERROR, 0, String.valueOf(e), e);
        }
        final long elapsed = System.nanoTime() - start;
        batches = w.batchesHandedOff();
        batchStalls = w.batchStalls();
        if (measureEncoder)
        {
            try
            {
                encoderCpuNanos = w.encoderCpuNanos();
            }
            catch (final RuntimeException e)
            {
                encoderCpuNanos = -1; // the encoder failed: close says how
            }
        }
        final long events = w.events();
        w.close(outcome.wireCode(), outcome.toString());
        if (kw != null)
        {
            kw.close();
            keyframes = kw.keyframes();
        }
        finalEvents = events;
        final long chunks = w.chunks();
        final long bytes = w.payloadBytes() + chunks * TraceFormat.CHUNK_HEADER_LENGTH;
        long instructions = 0;
        for (int i = 0; i < m.cpuCount(); i++)
        {
            instructions += m.core(i).icount();
        }
        Verdict verdict;
        try
        {
            verdict = scenario.verdict(m, outcome);
        }
        catch (final RuntimeException e)
        {
            verdict = Verdict.bad("verdict failed: " + e);
        }
        return new RecordingSummary(header, output, events, chunks, bytes, elapsed, instructions, m.now(), outcome,
            verdict);
    }

    private static void removeQuietly(final Path dir, final boolean keepDir)
    {
        try (Stream<Path> s = Files.walk(dir))
        {
            s.sorted(Comparator.reverseOrder())
                .filter(p -> !(keepDir && p.equals(dir)))
                .forEach(p -> p.toFile().delete());
        }
        catch (final IOException | RuntimeException ignored)
        {
            // best effort
        }
    }
}
