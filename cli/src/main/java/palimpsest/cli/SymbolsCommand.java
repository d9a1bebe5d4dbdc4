package palimpsest.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import palimpsest.gdb.elf.ElfSymbolFile;
import palimpsest.gdb.elf.SymbolFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "symbols", mixinStandardHelpOptions = true,
    header = "Write the run's symbol table as an ELF64 file for gdb (kernel, programs and every module loaded).",
    description = {"An ELF64 x86-64 file with no code: a .symtab of FUNC symbols with sizes (the kernel's, its",
        "programs', and every module the run loaded, at its load address), NOBITS text sections covering them,",
        "and a .debug_frame with the kernel's frame-pointer rule so gdb's bt walks the RBP chain. In gdb:",
        "file FILE, target remote :PORT (pal gdb), bt, info symbol, x/8gx, p $pc."})
final class SymbolsCommand implements Callable<Integer>
{
    private final Io io;

    @Parameters(index = "0", paramLabel = "TRACE", description = "Trace directory.")
    Path trace;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "The ELF file to write.")
    Path output;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    SymbolsCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        try (palimpsest.trace.TraceReader r = DumpCommand.open(trace))
        {
            ReplayCommand.checkHeader(trace, r.header(), plugins.catalog());
        }
        final Path dir = output.toAbsolutePath().getParent();
        if (dir != null && !Files.isDirectory(dir))
        {
            throw new UserError(output + ": directory " + dir + " does not exist");
        }
        if (Files.isDirectory(output))
        {
            throw new UserError(output + " is a directory; -o wants a file name (for example vmlinux.elf)");
        }
        final byte[] elf = elf(trace, plugins);
        try
        {
            Files.write(output, elf);
        }
        catch (final IOException e)
        {
            throw new UserError("cannot write " + output + ": " + e.getMessage());
        }
        final List<ElfSymbolFile.Section> sections = palimpsest.gdb.elf.ElfReader.sections(elf);
        int functions = 0;
        for (final ElfSymbolFile.Section s : sections)
        {
            functions += s.functions().size();
        }
        io.out.printf("wrote %s: %d functions in %d text sections%n", output, functions, sections.size());
        for (final ElfSymbolFile.Section s : sections)
        {
            io.out.printf("  %-24s %016x-%016x  %d functions%n", s.name(), s.start(), s.end(), s.functions().size());
        }
        io.out.println("in gdb: file " + output + "   (then: target remote :PORT of pal gdb)");
        return Whole.exit(io, 0, Whole.of(trace));
    }

    static byte[] elf(final Path trace, final PluginOptions plugins)
    {
        try
        {
            return SymbolFiles.elfOf(trace, plugins.catalog());
        }
        catch (final IllegalArgumentException e)
        {
            throw new UserError(Main.firstLine(e.getMessage()));
        }
    }
}
