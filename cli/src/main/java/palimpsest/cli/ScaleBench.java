package palimpsest.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.state.StateIndex;
import palimpsest.replayer.state.TraceExtent;
import palimpsest.trace.TempDirs;

/**
 * {@code pal bench --scale}: the long workload (word-count over one text of {@code --arg words=N},
 * counted {@code --arg passes=F} times: F = 1, 10, 100) at 1x, 10x and 100x length, each verb run
 * as a child JVM as a user runs it (so its peak RSS is its own: VmHWM from /proc, polled while it
 * runs), then the in-process query times. Says whether time grows within 1.2x of linear (100x
 * against 10x: at 1x the JVM's start dominates) and memory stays flat (anonymous RSS at 100x within
 * 1.2x of 10x's, peak RSS under 1 GiB: VmHWM also counts the pages of the mapped trace a pass has
 * read, page cache that grows with the trace by nature). The length grows by passes over the same
 * text, not by a longer text: a longer text is more emulated memory touched (and so larger shadows
 * of it, rightly), which is the machine's size, not the trace's length.
 */
final class ScaleBench
{
    static final String SCENARIO = "word-count";
    /** Words of the text: one pass makes about 43 events per word, so 100 passes are about 110 M events. */
    static final long DEFAULT_BASE = 25_000;
    static final int[] FACTORS = {1, 10, 100};
    static final double LINEAR = 1.2;
    static final long RSS_LIMIT = 1L << 30;
    /** A query as a command, JVM start included (issue 17). */
    static final long COMMAND_NANOS = 500_000_000L;
    /** In-process (pal gdb, a test): a who-wrote index query and a state --at. */
    static final double QUERY_MICROS = 10_000;
    static final double STATE_MILLIS = 200;
    /**
     * The JVM options the pal launcher gives a query verb (C1 only, the serial collector): a child
     * runs as a user's command does.
     */
    static final List<String> QUICK = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData");

    private final Io io;
    private final Path work;

    /** One child run: wall time and peak RSS. */
    static final class Run
    {
        long nanos;
        /** CPU (user + system) of the child, as last seen while it ran (20 ms polls): wall time on a shared machine is the load's. */
        long cpuNanos;
        long peakRss;
        /**
         * The largest anonymous RSS (RssAnon: heap, stacks, malloc) seen in the polls: peak RSS
         * less the mapped trace and index files, whose pages are the page cache's to reclaim.
         */
        long peakAnon;
        int rc;
    }

    /** One length. */
    static final class Step
    {
        int factor;
        long words;
        int passes;
        long events;
        double bytesPerEvent;
        long keyframeBytes;
        long indexBytes;
        final List<String> verbs = new ArrayList<>();
        final List<Run> runs = new ArrayList<>();
        double queryMicros;
        double stateMillis;
        /** The same state --at's CPU on this thread: wall on a loaded machine is the load's. */
        double stateCpuMillis;
    }

    private ScaleBench(final Io io, final Path work)
    {
        this.io = io;
        this.work = work;
    }

    static int run(final Io io, final long base, final ScenarioCatalog catalog) throws IOException, InterruptedException
    {
        final Path work = TempDirs.create("pal-bench-scale");
        try
        {
            return new ScaleBench(io, work).all(base, catalog);
        }
        finally
        {
            TempDirs.delete(work);
        }
    }

    private int all(final long base, final ScenarioCatalog catalog) throws IOException, InterruptedException
    {
        final List<Step> steps = new ArrayList<>();
        for (final int f : FACTORS)
        {
            final Step s = step(f, base, catalog);
            steps.add(s);
            print(s);
        }
        verdict(steps);
        return 0;
    }

    private Step step(final int factor, final long words, final ScenarioCatalog catalog) throws IOException, InterruptedException
    {
        final Step s = new Step();
        s.factor = factor;
        s.words = words;
        s.passes = factor;
        final Path t = work.resolve(factor + "x");
        io.err.println("bench --scale: " + factor + "x (words=" + words + ", passes=" + factor + "): record...");
        child(s, "record", "record", "--scenario", SCENARIO, "--arg", "words=" + words, "--arg", "passes=" + factor, "-o", t.toString(),
            "--force");
        s.events = TraceExtent.verify(t).events;
        s.bytesPerEvent = bytesPerEvent(work.resolve("child.log"));
        s.keyframeBytes = Files.exists(t.resolve("keyframes.kryo")) ? Files.size(t.resolve("keyframes.kryo")) : 0;
        io.err.println("bench --scale: " + factor + "x: " + Fmt.count(s.events) + " events: replay, analyze, who-wrote, state, diff...");
        child(s, "replay", "replay", t.toString());
        child(s, "analyze", "analyze", t.toString(), "--summary");
        final String addr = "100000";
        child(s, "who-wrote (builds the index)", "who-wrote", t.toString(), "--phys", "--addr", addr, "--len", "8");
        s.indexBytes = Files.size(WhoWroteIndex.fileOf(t));
        final WhoWroteIndex idx = WhoWroteIndex.openOrBuild(t, null);
        final long phys = idx.pageAddress(idx.pages() / 2);
        final long at = Math.max(0, s.events - 1000);
        // Once untimed: the first query of a trace builds what every later one reads (keyframes.idx, chunks.idx).
        child(new Step(), "state (builds its indexes)", "state", t.toString(), "--at", "0");
        // And the launcher's class-data archive of each query verb, made by its first run after a build.
        child(new Step(), "who-wrote (index on disk: warm-up)", "who-wrote", t.toString(), "--phys", "--addr", addr, "--len", "8");
        child(s, "who-wrote (index on disk)", "who-wrote", t.toString(), "--phys", "--addr", Long.toHexString(phys), "--len", "8");
        child(s, "state --at " + at, "state", t.toString(), "--at", String.valueOf(at));
        child(s, "diff (with itself)", "diff", t.toString(), t.toString());
        // In-process: what pal gdb or a test pays once the JVM and the files are warm.
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 200; i++)
        {
            final long t0 = System.nanoTime();
            idx.writers(idx.pageAddress((int)((i * 7919L) % idx.pages())) + ((i * 104729L) & 0xff8), 8, Long.MAX_VALUE, false);
            best = Math.min(best, System.nanoTime() - t0);
        }
        s.queryMicros = best / 1e3;
        // As pal state reads it: a paged view (the keyframe's registers, the gap, the pages it touches).
        final StateIndex si = StateIndex.open(t, () -> catalog);
        si.view(at, null, null);
        long bestState = Long.MAX_VALUE;
        long bestCpu = Long.MAX_VALUE;
        final java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        for (int i = 0; i < 3; i++)
        {
            final long c0 = threads.getCurrentThreadCpuTime();
            final long t0 = System.nanoTime();
            si.view(at, null, null);
            bestState = Math.min(bestState, System.nanoTime() - t0);
            bestCpu = Math.min(bestCpu, threads.getCurrentThreadCpuTime() - c0);
        }
        s.stateMillis = bestState / 1e6;
        s.stateCpuMillis = bestCpu / 1e6;
        return s;
    }

    /** The recording's own count (its summary line {@code (N bytes/event)}): queue files are sparse and preallocated. */
    private static double bytesPerEvent(final Path recordLog) throws IOException
    {
        final java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(([0-9.]+) bytes/event\\)").matcher(Files.readString(recordLog));
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    /** A query verb: the launcher starts it with {@link #QUICK}, and its target is a wall time. */
    static boolean query(final String label)
    {
        return label.startsWith("who-wrote (index") || label.startsWith("state");
    }

    /**
     * Runs {@code pal ARGS} as a child JVM with this JVM's flags (and, for a query, the launcher's
     * {@link #QUICK} ones); polls its VmHWM until it ends.
     */
    private void child(final Step s, final String label, final String... args) throws IOException, InterruptedException
    {
        final List<String> cmd = new ArrayList<>();
        final boolean quick = query(label);
        final String launcher = System.getenv("PAL_LAUNCHER");
        if (quick && launcher != null && Files.isExecutable(Path.of(launcher)))
        {
            // A query's target is a user's command, JVM start and the launcher's class-data archive included.
            cmd.add(launcher);
            cmd.addAll(List.of(args));
            run(s, label, cmd, args);
            return;
        }
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (final String a : ManagementFactory.getRuntimeMXBean().getInputArguments())
        {
            final boolean gc = a.startsWith("-XX:+Use") && a.endsWith("GC");
            if (!a.startsWith("-agentlib") && !a.startsWith("-javaagent") && !(quick && (gc || a.startsWith("-XX:TieredStopAtLevel"))))
            {
                cmd.add(a);
            }
        }
        if (quick)
        {
            cmd.addAll(QUICK);
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(List.of(args));
        run(s, label, cmd, args);
    }

    private void run(final Step s, final String label, final List<String> cmd, final String... args) throws IOException, InterruptedException
    {
        final ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("PAL_JAVA_OPTS");
        pb.environment().put("PAL_PROGRESS", "off");
        final Path log = work.resolve("child.log");
        pb.redirectOutput(log.toFile());
        pb.redirectError(ProcessBuilder.Redirect.appendTo(work.resolve("child.err").toFile()));
        final long t0 = System.nanoTime();
        final Process p = pb.start();
        final Path status = Path.of("/proc", String.valueOf(p.pid()), "status");
        long peak = 0;
        long anon = 0;
        long cpu = 0;
        while (p.isAlive())
        {
            peak = Math.max(peak, hwm(status));
            anon = Math.max(anon, statusKb(status, "RssAnon:"));
            cpu = Math.max(cpu, p.info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L));
            Thread.sleep(20);
        }
        final Run r = new Run();
        r.rc = p.waitFor();
        r.nanos = System.nanoTime() - t0;
        r.peakRss = peak;
        r.peakAnon = anon;
        r.cpuNanos = cpu;
        s.verbs.add(label);
        s.runs.add(r);
        if (r.rc > 1)
        {
            throw new UserError("bench --scale: pal " + String.join(" ", args) + " exited " + r.rc + " (see " + work + "/child.err)");
        }
    }

    /** VmHWM of a live process in bytes, 0 when it cannot be read (ended, or no /proc). */
    static long hwm(final Path status)
    {
        return statusKb(status, "VmHWM:");
    }

    /** A kB field of /proc/PID/status in bytes, 0 when it cannot be read (ended, or no /proc). */
    static long statusKb(final Path status, final String field)
    {
        try
        {
            for (final String line : Files.readAllLines(status))
            {
                if (line.startsWith(field))
                {
                    return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]) * 1024;
                }
            }
        }
        catch (final IOException | RuntimeException e)
        {
            // the process just ended
        }
        return 0;
    }

    private void print(final Step s)
    {
        io.out.printf(Locale.ROOT, "%nscale %dx: %s --arg words=%s --arg passes=%d: %s events, %.2f bytes/event, who-wrote index %s, keyframes %s%n",
            s.factor, SCENARIO, Fmt.count(s.words), s.passes, Fmt.count(s.events), s.bytesPerEvent, Fmt.bytes(s.indexBytes), Fmt.bytes(s.keyframeBytes));
        for (int i = 0; i < s.verbs.size(); i++)
        {
            final Run r = s.runs.get(i);
            final String v = s.verbs.get(i);
            // A query's target is its wall time as a command; every verb's, a peak RSS under 1 GiB.
            final String target = query(v) ?
                String.format(Locale.ROOT, "[%s < %s wall]", r.nanos < COMMAND_NANOS ? "met" : "MISSED", Fmt.seconds(COMMAND_NANOS)) :
                String.format(Locale.ROOT, "%12s events/s", Fmt.si(s.events * 1e9 / Math.max(1, r.nanos)));
            io.out.printf(Locale.ROOT, "  %-30s %9s wall %9s cpu  %-22s peak RSS %9s [%s < %s] (anon %s)%n", v, Fmt.seconds(r.nanos),
                Fmt.seconds(r.cpuNanos), target,
                Fmt.bytes(r.peakRss), r.peakRss < RSS_LIMIT ? "met" : "MISSED", Fmt.bytes(RSS_LIMIT), Fmt.bytes(r.peakAnon));
        }
        io.out.printf(Locale.ROOT, "  in-process: who-wrote index query %.1f us [%s < %.0f ms], state --at %.0f ms wall, %.0f ms cpu " +
            "(load + keyframe + gap) [%s < %.0f ms]%n", s.queryMicros, s.queryMicros < QUERY_MICROS ? "met" : "MISSED", QUERY_MICROS / 1000,
            s.stateMillis, s.stateCpuMillis, s.stateMillis < STATE_MILLIS ? "met" : "MISSED", STATE_MILLIS);
    }

    private void verdict(final List<Step> steps)
    {
        final Step ten = steps.get(1);
        final Step hundred = steps.get(2);
        final double events = (double)hundred.events / Math.max(1, ten.events);
        io.out.printf(Locale.ROOT, "%ngrowth 10x -> 100x (%.1fx the events; JVM start dominates 1x):%n", events);
        boolean linear = true;
        boolean flat = true;
        boolean commands = true;
        for (int i = 0; i < hundred.verbs.size(); i++)
        {
            final String v = hundred.verbs.get(i);
            final boolean query = query(v);
            // A query's growth is its CPU's: its wall time on a shared machine is mostly the load's (its target stays a wall time).
            final double time = query ? (double)hundred.runs.get(i).cpuNanos / Math.max(1, ten.runs.get(i).cpuNanos)
                : (double)hundred.runs.get(i).nanos / Math.max(1, ten.runs.get(i).nanos);
            final double mem = (double)hundred.runs.get(i).peakRss / Math.max(1, ten.runs.get(i).peakRss);
            final double anon = (double)hundred.runs.get(i).peakAnon / Math.max(1, ten.runs.get(i).peakAnon);
            // A pass may take events x 1.2 the time; a query should not grow with the trace at all.
            final boolean okTime = query ? time <= LINEAR : time <= events * LINEAR;
            // Flat is the anonymous memory's: VmHWM also counts the pages of the mapped trace a pass
            // has read, page cache the kernel takes back, which grow with the trace by nature.
            final boolean okMem = anon <= LINEAR && hundred.runs.get(i).peakRss < RSS_LIMIT;
            linear &= okTime;
            flat &= okMem;
            commands &= !query || hundred.runs.get(i).nanos < COMMAND_NANOS;
            io.out.printf(Locale.ROOT, "  %-30s %s x%.2f [%s, target <= %.1f]  anon RSS x%.2f, peak RSS x%.2f, %s [%s]%n", v,
                query ? "cpu " : "time", time, okTime ? "met" : "MISSED", query ? LINEAR : events * LINEAR, anon, mem,
                Fmt.bytes(hundred.runs.get(i).peakRss), okMem ? "met" : "MISSED");
        }
        final boolean inProcess = hundred.queryMicros < QUERY_MICROS && hundred.stateMillis < STATE_MILLIS;
        io.out.printf(Locale.ROOT, "time %s, memory %s (anon RSS within %.1fx, peak RSS < %s at %s events), queries as commands %s (< %s wall, JVM start " +
            "included), in-process %s (who-wrote < %.0f ms, state --at < %.0f ms)%n", linear ? "within 1.2x of linear" : "NOT linear",
            flat ? "flat" : "NOT flat", LINEAR, Fmt.bytes(RSS_LIMIT), Fmt.count(hundred.events), commands ? "met" : "MISSED",
            Fmt.seconds(COMMAND_NANOS), inProcess ? "met" : "MISSED", QUERY_MICROS / 1000, STATE_MILLIS);
        io.out.println("verdict: " + (linear && flat && commands && inProcess ? "every --scale target met" :
            "MISSED: " + String.join(", ", missed(linear, flat, commands, inProcess))));
    }

    private static List<String> missed(final boolean linear, final boolean flat, final boolean commands, final boolean inProcess)
    {
        final List<String> m = new ArrayList<>();
        if (!linear)
        {
            m.add("linear time");
        }
        if (!flat)
        {
            m.add("flat memory under 1 GiB");
        }
        if (!commands)
        {
            m.add("queries under 0.5 s as commands");
        }
        if (!inProcess)
        {
            m.add("in-process query times");
        }
        return m;
    }
}
