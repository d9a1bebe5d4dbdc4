package palimpsest.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import palimpsest.recorder.Version;
import palimpsest.trace.TraceException;
import palimpsest.trace.TraceFormat;

/**
 * The {@code pal} command. Exit status: what the verb says (record: 0 good, 1 bad, 125 skip), 2 for
 * bad input (one line on stderr starting with "pal: "), 3 for an internal error (one line; the stack
 * trace too when PAL_DEBUG=1).
 */
public final class Main
{
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_INTERNAL = 3;

    private Main()
    {
    }

    public static void main(final String[] args)
    {
        final int rc = run(args, System.out, System.err, System.getenv(), System.console() != null);
        System.out.flush();
        System.err.flush();
        System.exit(rc);
    }

    /** Runs one command in-process (tests use this with captured streams). */
    public static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        return run(args, out, err, System.getenv(), false);
    }

    public static int run(final String[] args, final PrintStream out, final PrintStream err,
        final Map<String, String> env, final boolean terminal)
    {
        System.setProperty("chronicle.analytics.disable", "true");
        if (args.length == 1 && ("--version".equals(args[0]) || "-V".equals(args[0])))
        {
            // What picocli would print, without starting picocli (half of pal --version's CPU).
            for (final String line : new VersionProvider().getVersion())
            {
                out.println(line);
            }
            out.flush();
            return 0;
        }
        final Io io = new Io(out, err, env, terminal);
        final Integer quick = quick(io, args);
        if (quick != null)
        {
            out.flush();
            err.flush();
            return quick;
        }
        try
        {
            final CommandLine cl = commandLine(io, args.length > 0 ? args[0] : null);
            return cl.execute(args);
        }
        catch (final RuntimeException | Error e)
        {
            // picocli itself failed (should not happen): still one line.
            return internal(io, e);
        }
        finally
        {
            out.flush();
            err.flush();
        }
    }

    /** The verbs that answer a question from indexes: they start without picocli when their line is plain ({@link QuickArgs}). */
    static final java.util.Set<String> QUERIES = java.util.Set.of("who-wrote", "state");

    /** The exit status of a query verb run without picocli, or null: then picocli parses the line. */
    static Integer quick(final Io io, final String[] args)
    {
        if (args.length < 2 || !QUERIES.contains(args[0]) || "0".equals(io.env.get("PAL_QUICK_ARGS")))
        {
            return null;
        }
        final Object command = verbs(io).get(args[0]).get();
        if (!QuickArgs.parse(command, args, 1))
        {
            return null;
        }
        try
        {
            return ((Callable<?>)command).call() instanceof Integer rc ? rc : 0;
        }
        catch (final Exception | Error e)
        {
            return handle(io, e);
        }
    }

    static CommandLine commandLine(final Io io)
    {
        return commandLine(io, null);
    }

    /**
     * The command line with every verb, or, when only names one of them (the verb the user typed),
     * with that verb alone: picocli reads the annotations of every command it is given, and for a
     * query that was a third of the JVM's start (pal --help and a mistyped verb still see them all).
     */
    static CommandLine commandLine(final Io io, final String only)
    {
        final CommandLine cl = new CommandLine(new Pal(io));
        final boolean version = "--version".equals(only) || "-V".equals(only);
        final boolean one = only != null && verbs(io).containsKey(only);
        for (final Map.Entry<String, java.util.function.Supplier<Object>> v : verbs(io).entrySet())
        {
            if (!version && (!one || v.getKey().equals(only)))
            {
                cl.addSubcommand(v.getKey(), v.getValue().get());
            }
        }
        cl.setOut(new PrintWriter(io.out, true));
        cl.setErr(new PrintWriter(io.err, true));
        cl.setParameterExceptionHandler((ex, args) ->
        {
            final String cmd = ex.getCommandLine().getCommandName();
            io.err.println("pal: " + firstLine(ex.getMessage()) + " (see: pal " +
                ("pal".equals(cmd) ? "" : cmd + " ") + "--help)");
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> handle(io, ex));
        return cl;
    }

    /** Every verb, in the order pal --help lists them, made only when asked for. */
    private static Map<String, java.util.function.Supplier<Object>> verbs(final Io io)
    {
        final Map<String, java.util.function.Supplier<Object>> v = new java.util.LinkedHashMap<>();
        v.put("record", () -> new RecordCommand(io));
        v.put("dump", () -> new DumpCommand(io));
        v.put("replay", () -> new ReplayCommand(io));
        v.put("state", () -> new StateCommand(io));
        v.put("scenarios", () -> new ScenariosCommand(io));
        v.put("pack", () -> new PackCommand(io));
        v.put("unpack", () -> new UnpackCommand(io));
        v.put("bisect", () -> new BisectCommand(io));
        v.put("diff", () -> new DiffCommand(io));
        v.put("check", () -> new CheckCommand(io));
        v.put("bench", () -> new BenchCommand(io));
        v.put("analyze", () -> new AnalyzeCommand(io));
        v.put("who-wrote", () -> new WhoWroteCommand(io));
        v.put("hunt", () -> new HuntCommand(io));
        v.put("worker", () -> new WorkerCommand(io));
        v.put("gdb", () -> new GdbCommand(io));
        v.put("symbols", () -> new SymbolsCommand(io));
        v.put("timeline", () -> new TimelineCommand(io));
        v.put("completion", () -> new CompletionCommand(io));
        return v;
    }

    static int handle(final Io io, final Throwable ex)
    {
        if (ex instanceof UserError || ex instanceof TraceException || ex instanceof IllegalArgumentException)
        {
            io.err.println("pal: " + firstLine(ex.getMessage()));
            if (io.debug)
            {
                ex.printStackTrace(io.err);
            }
            return EXIT_USAGE;
        }
        return internal(io, ex);
    }

    static int internal(final Io io, final Throwable ex)
    {
        io.err.println("pal: internal error: " + firstLine(String.valueOf(ex)) +
            (io.debug ? "" : " (PAL_DEBUG=1 shows the stack trace)"));
        if (io.debug)
        {
            ex.printStackTrace(io.err);
        }
        return EXIT_INTERNAL;
    }

    static String firstLine(final String s)
    {
        if (s == null)
        {
            return "";
        }
        final String t = s.strip();
        final int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl).strip();
    }

    @Command(name = "pal", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Record and inspect runs of an emulated multi-CPU machine.",
        footer = {"", "Exit status: record gives 0 good, 1 bad, 125 skip (as git bisect run wants);",
            "2 bad input; 3 internal error (PAL_DEBUG=1 prints the stack trace)."})
    static final class Pal implements Callable<Integer>
    {
        private final Io io;
        @Spec
        CommandSpec spec;

        Pal(final Io io)
        {
            this.io = io;
        }

        @Override
        public Integer call()
        {
            io.err.println("pal: missing command: one of " +
                String.join(", ", spec.subcommands().keySet()) + " (see: pal --help)");
            return EXIT_USAGE;
        }
    }

    static final class VersionProvider implements CommandLine.IVersionProvider
    {
        @Override
        public String[] getVersion()
        {
            return new String[] {Version.tool(), "trace format " + TraceFormat.VERSION + " (writes format " + TraceFormat.VERSION +
                "; reads only format " + TraceFormat.VERSION + ": older traces name the last pal that reads them)"};
        }
    }
}
