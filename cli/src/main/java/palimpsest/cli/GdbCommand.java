package palimpsest.cli;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import palimpsest.gdb.GdbServer;
import palimpsest.gdb.ReplayTarget;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "gdb", mixinStandardHelpOptions = true,
    header = "Serve a trace to gdb (Remote Serial Protocol): every cpu a thread, reverse execution from the index.",
    description = {"A gdb remote target over a recorded run, answered from the trace, its keyframes and the who-wrote",
        "index (nothing is re-executed): registers (RIP, RSP, RBP, EFLAGS, cr3 are real; the rest read 0), memory",
        "through each cpu's page tables at the current event, breakpoints, watchpoints (on the physical bytes:",
        "a write through any mapping fires them), continue and step both ways (reverse-continue, reverse-stepi),",
        "and monitor when | goto N | who-wrote ADDR [LEN]. It starts at the last event, on the cpu that oopsed.",
        "Writes TRACE/vmlinux.elf (pal symbols) if it is missing, prints the gdb command line, serves one",
        "connection and exits when gdb detaches or quits."})
final class GdbCommand implements Callable<Integer>
{
    static final String SYMBOL_FILE = "vmlinux.elf";

    private final Io io;

    @Parameters(index = "0", paramLabel = "TRACE", description = "Trace directory.")
    Path trace;

    @Option(names = "--port", paramLabel = "N", description = "TCP port on 127.0.0.1 (default 2345; 0 = any free one).")
    int port = 2345;

    @Option(names = "--node", paramLabel = "K", description = "Only this node's cpus are threads (default: every cpu).")
    Integer node;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    GdbCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        try (palimpsest.trace.TraceReader r = DumpCommand.open(trace))
        {
            ReplayCommand.checkHeader(trace, r.header(), plugins.catalog());
            if (node != null && (node < 0 || node >= r.header().nodes()))
            {
                throw new UserError("--node " + node + ": the machine has nodes 0.." + (r.header().nodes() - 1));
            }
        }
        if (port < 0 || port > 65535)
        {
            throw new UserError("--port must be 0..65535, not " + port);
        }
        final Whole.Extent extent = Whole.of(trace);
        final Path elf = trace.resolve(SYMBOL_FILE);
        if (!Files.exists(elf))
        {
            try
            {
                Files.write(elf, SymbolsCommand.elf(trace, plugins));
            }
            catch (final IOException e)
            {
                throw new UserError("cannot write " + elf + ": " + e.getMessage());
            }
        }
        final ReplayTarget target;
        try
        {
            target = ReplayTarget.open(trace, plugins.catalog());
        }
        catch (final IllegalArgumentException e)
        {
            throw new UserError(Main.firstLine(e.getMessage()));
        }
        try (ServerSocket server = listen(); ReplayTarget t = target)
        {
            final int at = server.getLocalPort();
            final int cpus = node == null ? t.cpuCount() : t.state().config().cpusPerNode;
            io.out.printf("pal gdb: %s, %d events, %d cpu(s) as gdb threads; listening on 127.0.0.1:%d%n", trace,
                t.events(), cpus, at);
            final GdbServer gdb = new GdbServer(t, node == null ? -1 : node, io.out); // moves to --node's first cpu if need be
            io.out.printf("pal gdb: standing at the last event on cpu%d%s%n", t.thread(),
                t.faultEvent() >= 0 && t.thread() == t.faultCpu() ? " (the cpu of the oops, event " + t.faultEvent() + ")" : "");
            if (!extent.complete())
            {
                io.out.println("pal gdb: the trace is " + extent.status.name().toLowerCase(java.util.Locale.ROOT) +
                    ": only events 0.." + (extent.events - 1) + " are served");
            }
            io.out.printf("connect with:%n  gdb -q %s -ex 'target remote 127.0.0.1:%d'%n", elf, at);
            io.out.flush();
            try (Socket s = server.accept())
            {
                io.out.println("pal gdb: gdb connected from " + s.getRemoteSocketAddress());
                io.out.flush();
                gdb.serve(s);
            }
        }
        catch (final IOException e)
        {
            throw new UserError("gdb connection: " + e.getMessage());
        }
        io.out.println("pal gdb: session over");
        return Whole.exit(io, 0, extent);
    }

    private ServerSocket listen() throws IOException
    {
        try
        {
            return new ServerSocket(port, 1, InetAddress.getLoopbackAddress());
        }
        catch (final BindException e)
        {
            throw new UserError("port " + port + " is in use (" + e.getMessage() + "): pick another with --port N, or --port 0");
        }
    }
}
