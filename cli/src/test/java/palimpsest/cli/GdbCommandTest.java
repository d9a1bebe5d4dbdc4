package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;
import palimpsest.gdb.elf.ElfReader;

/** pal symbols on a recorded run, and pal gdb / pal symbols refusing bad input with one line, exit 2. */
class GdbCommandTest
{
    @TempDir
    static Path tmp;
    static Path trace;

    @BeforeAll
    static void record()
    {
        trace = tmp.resolve("ipi");
        final Result r = pal("record", "--scenario", "ipi-pingpong", "--arg", "rounds=2", "-o", trace.toString());
        assertEquals(0, r.rc(), r::toString);
    }

    @Test
    void symbolsWritesAnElfThatParsesBack() throws Exception
    {
        final Path elf = tmp.resolve("ipi.elf");
        final Result r = pal("symbols", trace.toString(), "-o", elf.toString());
        assertEquals(0, r.rc(), r::toString);
        final var sections = ElfReader.sections(Files.readAllBytes(elf));
        final int functions = sections.stream().mapToInt(s -> s.functions().size()).sum();
        assertTrue(functions > 0);
        assertTrue(r.out().startsWith("wrote " + elf + ": " + functions + " functions in " + sections.size() + " text sections"), r.out());
    }

    @Test
    void badInput() throws Exception
    {
        one(pal("gdb", tmp.resolve("missing").toString()));
        one(pal("gdb", trace.toString(), "--port", "70000"));
        one(pal("gdb", trace.toString(), "--node", "3"));
        one(pal("symbols", trace.toString(), "-o", tmp.resolve("no/such/dir/x.elf").toString()));
        one(pal("symbols", trace.toString(), "-o", tmp.toString()));
        one(pal("symbols", tmp.resolve("missing").toString(), "-o", tmp.resolve("y.elf").toString()));
        try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            final Result r = pal("gdb", trace.toString(), "--port", String.valueOf(busy.getLocalPort()));
            one(r);
            assertTrue(r.err().contains("is in use"), r.err());
        }
    }

    private static void one(final Result r)
    {
        assertEquals(2, r.rc(), r::toString);
        BadInputTest.assertOneLine(r);
    }
}
