package palimpsest.trace;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import net.openhft.chronicle.wire.DocumentContext;

/** A separate JVM for tests: writes a trace, or dies in the middle of writing one (kill -9 style). */
public final class TraceChild
{
    private TraceChild()
    {
    }

    public static void main(final String[] args)
    {
        final Path dir = Path.of(args[1]);
        final long events = Long.parseLong(args[2]);
        if (args[0].equals("write"))
        {
            DeterminismTest.write(dir, 5, events);
            return;
        }
        // "crash": whole chunks, then an excerpt left half-written (header still marked as being written),
        // then the process halts without any shutdown hook or close: what kill -9 leaves.
        final TraceWriter w = TraceWriter.create(dir, TestEvents.header());
        new SyntheticTrace(5, 4).generate(w, events);
        w.flush();
        System.out.println("chunks=" + w.chunks() + " events=" + w.events());
        System.out.flush();
        final DocumentContext dc = w.queue().createAppender().writingDocument();
        dc.wire().bytes().write(new byte[] {'C', 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8});
        Runtime.getRuntime().halt(9);
    }

    /** Runs main in a new JVM with this JVM's flags and class path; returns its stdout. */
    static String run(final String... args) throws IOException, InterruptedException
    {
        final List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (final String a : ManagementFactory.getRuntimeMXBean().getInputArguments())
        {
            if (a.startsWith("--add-") || a.startsWith("-D"))
            {
                cmd.add(a);
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(TraceChild.class.getName());
        cmd.addAll(List.of(args));
        final File out = File.createTempFile("trace-child", ".out");
        try
        {
            final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out).start();
            if (!p.waitFor(60, TimeUnit.SECONDS))
            {
                p.destroyForcibly();
                throw new IllegalStateException("child JVM did not finish");
            }
            return java.nio.file.Files.readString(out.toPath());
        }
        finally
        {
            out.delete();
        }
    }
}
