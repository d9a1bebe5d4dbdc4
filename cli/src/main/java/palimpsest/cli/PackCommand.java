package palimpsest.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import palimpsest.trace.TraceException;
import palimpsest.trace.TracePacker;

@Command(name = "pack", mixinStandardHelpOptions = true,
    header = "Pack a trace into one compact, portable file.",
    description = {"Pack a trace directory into one compact, portable file (queue files are sparse and preallocated;",
        "a pack holds only the excerpts, compressed). 'pal unpack' turns it back into a trace.",
        "A truncated or damaged trace is packed as it is, and the output says so (exit 0): its unpacked copy",
        "reads exactly as truncated or damaged as the original."})
final class PackCommand implements Callable<Integer>
{
    private final Io io;

    @Parameters(index = "0", paramLabel = "TRACE", description = "Trace directory.")
    Path trace;

    @Parameters(index = "1", paramLabel = "FILE", description = "Pack file to write.")
    Path file;

    @Option(names = "--force", description = "Replace FILE if it exists.")
    boolean force;

    PackCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        if (Files.exists(file) && !force)
        {
            throw new UserError(file + " exists (use --force to replace it)");
        }
        if (Files.isDirectory(file))
        {
            throw new UserError(file + " is a directory");
        }
        final TracePacker.Result r = TracePacker.pack(trace, file);
        io.out.println("packed " + trace + " into " + file + ": " + Fmt.count(r.excerpts()) + " excerpts, " +
            Fmt.bytes(r.excerptBytes()) + " of excerpts -> " + Fmt.bytes(r.fileBytes()));
        String state;
        try
        {
            final Whole.Extent x = Whole.of(trace);
            state = x.complete() ? null : x.message;
        }
        catch (final TraceException e)
        {
            state = Main.firstLine(e.getMessage()); // a damaged header: packed all the same
        }
        if (state != null)
        {
            // Packed as it is: the pack unpacks to the same damage, which every verb then reports.
            io.out.println("  packed as it is: " + state);
        }
        return 0;
    }
}
