package palimpsest.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import palimpsest.trace.TracePacker;
import palimpsest.trace.TraceReader;

@Command(name = "unpack", mixinStandardHelpOptions = true,
    header = "Turn a file made by 'pal pack' back into a trace directory.",
    description = "Turn a file made by 'pal pack' back into a trace directory, and check it.")
final class UnpackCommand implements Callable<Integer>
{
    private final Io io;

    @Parameters(index = "0", paramLabel = "FILE", description = "Pack file.")
    Path file;

    @Parameters(index = "1", paramLabel = "DIR", description = "Trace directory to create (must not exist or be empty).")
    Path dir;

    UnpackCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        final TracePacker.Result r = TracePacker.unpack(file, dir);
        final String status;
        try (TraceReader reader = DumpCommand.open(dir))
        {
            reader.verify();
            status = reader.statusMessage();
        }
        io.out.println("unpacked " + file + " into " + dir + ": " + Fmt.count(r.excerpts()) + " excerpts; " + status);
        return 0;
    }
}
