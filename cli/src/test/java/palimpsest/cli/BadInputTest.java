package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;

/** Every bad input: exit 2, exactly one line on stderr starting with "pal: ", no stack trace. */
class BadInputTest
{
    @TempDir
    Path tmp;

    private static Result bad(final String... args)
    {
        final Result r = pal(args);
        assertEquals(2, r.rc(), String.join(" ", args) + "\n" + r);
        assertOneLine(r);
        return r;
    }

    static void assertOneLine(final Result r)
    {
        final String err = r.err();
        assertTrue(err.startsWith("pal: "), "stderr starts with 'pal: ':\n" + r);
        assertEquals(1, err.lines().count(), "one line on stderr:\n" + r);
        assertFalse(err.contains("\tat ") || err.contains("Exception in thread"), "no stack trace:\n" + r);
    }

    @Test
    void unknownScenarioListsTheKnownOnes()
    {
        final Result r = bad("record", "--scenario", "no-such", "-o", tmp.resolve("x").toString());
        assertTrue(r.err().contains("no-such") && r.err().contains("ipi-pingpong") && r.err().contains("net-echo"), r.err());
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void nonEmptyOutputDirectoryWithoutForce() throws IOException
    {
        final Path d = Files.createDirectories(tmp.resolve("full"));
        Files.writeString(d.resolve("precious.txt"), "keep me");
        final Result r = bad("record", "--scenario", "test-loop", "-o", d.toString());
        assertTrue(r.err().contains("not empty") && r.err().contains("--force"), r.err());
        assertEquals("keep me", Files.readString(d.resolve("precious.txt")));
    }

    @Test
    void garbageDirectoryAsATrace() throws IOException
    {
        final Path d = Files.createDirectories(tmp.resolve("garbage"));
        Files.write(d.resolve("20240101.cq4"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        Files.writeString(d.resolve("notes.txt"), "hello");
        bad("dump", d.toString());
    }

    @Test
    void plainDirectoryAndMissingPathAsATrace() throws IOException
    {
        final Path d = Files.createDirectories(tmp.resolve("plain"));
        Files.writeString(d.resolve("notes.txt"), "hello");
        assertTrue(bad("dump", d.toString()).err().contains("not a Palimpsest trace"));
        assertTrue(bad("dump", tmp.resolve("missing").toString()).err().contains("no such trace"));
        bad("dump", d.resolve("notes.txt").toString());
    }

    @Test
    void foreignChronicleQueueAsATrace()
    {
        final Path d = tmp.resolve("foreign");
        try (ChronicleQueue q = ChronicleQueue.singleBuilder(d.toFile()).build();
            ExcerptAppender a = q.createAppender())
        {
            a.writeText("hello from some other program");
            a.writeText("and another excerpt");
        }
        final Result r = bad("dump", d.toString());
        assertTrue(r.err().contains("not a Palimpsest trace"), r.err());
    }

    @Test
    void badNumbers()
    {
        final String o = tmp.resolve("n").toString();
        bad("record", "--scenario", "test-loop", "-o", o, "--cpus", "abc");
        bad("record", "--scenario", "test-loop", "-o", o, "--cpus", "0");
        bad("record", "--scenario", "test-loop", "-o", o, "--mem", "999999");
        bad("record", "--scenario", "test-loop", "-o", o, "--seed", "0x");
        bad("record", "--scenario", "test-loop", "-o", o, "--arg", "rounds=lots");
        assertFalse(Files.exists(tmp.resolve("n")), "no half-made trace left behind");
        bad("dump", o, "--limit", "ten");
    }

    @Test
    void kernelOptionsOnAHardwareScenario()
    {
        final Result r = bad("record", "--scenario", "ipi-pingpong", "-o", tmp.resolve("k").toString(), "--kernel", "v1");
        assertTrue(r.err().contains("--kernel"), r.err());
        bad("record", "--scenario", "ipi-pingpong", "-o", tmp.resolve("k").toString(), "--patch", "+fix");
    }

    @Test
    void missingOrBrokenPluginJar() throws IOException
    {
        assertTrue(bad("scenarios", "--plugin", tmp.resolve("nope.jar").toString()).err().contains("nope.jar"));
        final Path notJar = Files.writeString(tmp.resolve("fake.jar"), "not a zip");
        bad("record", "--scenario", "test-loop", "-o", tmp.resolve("p").toString(), "--plugin", notJar.toString());
    }

    @Test
    void unknownOptionAndMissingArguments()
    {
        assertTrue(bad("record", "--scenario", "test-loop", "-o", tmp.resolve("u").toString(), "--bogus").err().contains("--bogus"));
        bad("record", "--scenario", "test-loop");
        bad("dump");
        bad("frobnicate");
        bad();
        bad("dump", tmp.toString(), "--kind", "teleport");
        bad("record", "--scenario", "test-loop", "-o", tmp.resolve("s").toString(), "--schedule", "sometimes");
    }

    @Test
    void internalErrorsAreOneLineWithExit3UnlessDebugging()
    {
        final Map<String, String> env = Map.of("PAL_PROGRESS", "off");
        final Result r = PalRunner.pal(env, "record", "--scenario", "test-crash", "--arg", "in=load", "-o",
            tmp.resolve("c").toString());
        assertEquals(3, r.rc(), r.toString());
        assertOneLine(r);
        assertTrue(r.err().contains("internal error") && r.err().contains("PAL_DEBUG"), r.err());
        final Result d = PalRunner.pal(Map.of("PAL_PROGRESS", "off", "PAL_DEBUG", "1"), "record", "--scenario",
            "test-crash", "--arg", "in=load", "-o", tmp.resolve("c2").toString());
        assertEquals(3, d.rc(), d.toString());
        assertTrue(d.err().contains("\tat "), "stack trace with PAL_DEBUG=1:\n" + d);
    }

    @Test
    void softwareCrashingInsideTheMachineIsABadRunNotACrashOfPal()
    {
        final Result r = PalRunner.pal(Map.of("PAL_PROGRESS", "off"), "record", "--scenario", "test-crash", "-o",
            tmp.resolve("c").toString());
        assertEquals(1, r.rc(), r.toString());
        assertTrue(r.out().contains("internal-error"), r.toString());
        assertFalse(r.err().contains("\tat "), r.toString());
    }
}
