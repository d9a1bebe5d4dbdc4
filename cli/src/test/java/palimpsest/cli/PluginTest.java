package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;
import palimpsest.emulator.Scenario;
import palimpsest.trace.EventSink;
import palimpsest.trace.TraceReader;

/** A user's scenario jar, compiled and packed here, is listed and recorded with --plugin. */
class PluginTest
{
    private static final String SOURCE = """
        package userland;

        import palimpsest.emulator.*;

        public final class Hello implements Scenario {
            public String name() { return "user-hello"; }
            public String description() { return "a user's own scenario from a plugin jar"; }
            public MachineConfig defaultConfig() { return new MachineConfig(1, 1, 2); }
            public void load(Machine m, ScenarioContext ctx) {
                final long n = ctx.longArg("n", 100);
                m.code().define("hello_main", 0x2000, 0x40, cpu -> {
                    for (char c : "hello from a plugin\\n".toCharArray()) { cpu.out(0x3F8, c); }
                    for (long i = 0; i < n; i++) { cpu.store32(0x8000 + (i & 15) * 4, i); }
                    cpu.out(Machine.POWER_PORT, 0);
                });
                m.setBootEntry(0, 0x2000);
            }
            public Verdict verdict(Machine m, Outcome o) {
                return o.clean() ? Verdict.good("said hello") : Verdict.bad(o.toString());
            }
        }
        """;

    private static final String PATCH_SOURCE = """
        package userland;

        import palimpsest.kernel.patches.Patch;

        public final class UserNote implements Patch {
            public String name() { return "user-note"; }
            public String description() { return "a user's own patch from a plugin jar"; }
            public boolean optional() { return true; }
        }
        """;

    @TempDir
    static Path tmp;
    static Path jar;

    @BeforeAll
    static void buildPluginJar() throws Exception
    {
        final Path src = Files.createDirectories(tmp.resolve("src/userland")).resolve("Hello.java");
        Files.writeString(src, SOURCE);
        final Path patchSrc = tmp.resolve("src/userland/UserNote.java");
        Files.writeString(patchSrc, PATCH_SOURCE);
        final Path classes = Files.createDirectories(tmp.resolve("classes"));
        final String cp = location(Scenario.class) + java.io.File.pathSeparator + location(EventSink.class) +
            java.io.File.pathSeparator + location(palimpsest.kernel.patches.Patch.class);
        final JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        final int rc = javac.run(null, null, null, "--release", "17", "-cp", cp, "-d", classes.toString(), src.toString(),
            patchSrc.toString());
        assertEquals(0, rc, "plugin compiles");
        jar = tmp.resolve("user-plugin.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar)))
        {
            out.putNextEntry(new JarEntry("META-INF/services/palimpsest.emulator.Scenario"));
            out.write("userland.Hello\n".getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
            out.putNextEntry(new JarEntry("META-INF/services/palimpsest.kernel.patches.Patch"));
            out.write("userland.UserNote\n".getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
            try (Stream<Path> files = Files.walk(classes))
            {
                for (final Path f : files.filter(Files::isRegularFile).collect(Collectors.toList()))
                {
                    out.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                    try (OutputStream ignored = null)
                    {
                        out.write(Files.readAllBytes(f));
                    }
                    out.closeEntry();
                }
            }
        }
    }

    private static String location(final Class<?> c) throws URISyntaxException
    {
        return Paths.get(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    @Test
    void scenariosListsBuiltInsAndThePlugin()
    {
        final Result without = pal("scenarios");
        assertEquals(0, without.rc(), without.toString());
        assertFalse(without.out().contains("user-hello"));
        for (final String s : List.of("ipi-pingpong", "net-echo", "tlb-stale"))
        {
            assertTrue(without.out().contains(s), s + " in\n" + without.out());
        }
        final Result with = pal("scenarios", "--plugin", jar.toString());
        assertEquals(0, with.rc(), with.toString());
        final String line = with.out().lines().filter(l -> l.startsWith("user-hello")).findFirst().orElse("");
        assertTrue(line.contains("hardware") && line.contains("a user's own scenario") && line.contains("[plugin]"), with.out());
    }

    @Test
    void recordRunsThePluginScenarioAndDumpSymbolizesIt()
    {
        final Path out = tmp.resolve("hello-trace");
        final Result r = pal("record", "--plugin", jar.toString(), "--scenario", "user-hello", "-o", out.toString(),
            "--arg", "n=50");
        assertEquals(0, r.rc(), r.toString());
        assertTrue(r.out().startsWith("hello from a plugin\n"), r.out());
        assertTrue(r.out().contains("said hello"), r.out());
        try (TraceReader t = TraceReader.open(out))
        {
            assertEquals("user-hello", t.header().scenario());
        }
        final Result d = pal("dump", out.toString(), "--plugin", jar.toString(), "--kind", "store", "--limit", "3");
        assertEquals(0, d.rc(), d.toString());
        assertTrue(d.out().contains("pc=hello_main+0x"), d.out());
        final Result noPlugin = pal("dump", out.toString(), "--kind", "store", "--limit", "3");
        assertEquals(0, noPlugin.rc(), "dump still works without the plugin, with numeric pcs");
        try (TraceReader t = TraceReader.open(out))
        {
            assertEquals(java.util.List.of("user-plugin.jar"), t.header().plugins(), "the header names the jar");
        }
        // analyze without the jar would run without the scenario's symbols and patches: refused, naming the jar.
        final Result a = pal("analyze", out.toString());
        assertEquals(2, a.rc(), a.toString());
        assertEquals("pal: analyze: the trace was recorded with --plugin user-plugin.jar; pass --plugin PATH/user-plugin.jar\n", a.err());
        final Result ok = pal("analyze", out.toString(), "--plugin", jar.toString());
        assertEquals(0, ok.rc(), ok.toString());
    }

    @Test
    void aPluginPatchJoinsTheKernelSeriesAndIsRecordedInTheHeader()
    {
        final Path out = tmp.resolve("patched-boot");
        final Result r = pal("record", "--plugin", jar.toString(), "--scenario", "boot", "--patch", "+user-note",
            "-o", out.toString());
        assertEquals(0, r.rc(), r.toString());
        final String kernel = r.out().lines().filter(l -> l.strip().startsWith("kernel ")).findFirst().orElse("");
        assertTrue(kernel.contains("+user-note"), "the applied plugin patch is in the recorded kernel: " + r.out());
        try (TraceReader t = TraceReader.open(out))
        {
            assertTrue(t.header().kernelPatches().contains("+user-note"), t.header().toString());
        }
        final Result without = pal("record", "--scenario", "boot", "--patch", "+user-note", "-o", tmp.resolve("x").toString());
        assertEquals(2, without.rc(), "without the jar the patch is unknown: " + without);
    }

    @Test
    void aHuntRunsThePluginScenarioLocallyAndOnAWorkerStartedWithThePlugin() throws Exception
    {
        final Path local = tmp.resolve("hunt-local");
        final Result r = pal("hunt", "--plugin", jar.toString(), "--scenario", "user-hello", "--seeds", "1..3", "-o", local.toString());
        assertEquals(0, r.rc(), r.toString());
        assertTrue(r.out().contains("3 good, 0 bad"), r.out());

        final String name = "pal-plugin-test-" + java.util.UUID.randomUUID();
        try (java.net.URLClassLoader loader = new java.net.URLClassLoader(new java.net.URL[] {jar.toUri().toURL()},
            PluginTest.class.getClassLoader());
            palimpsest.hunt.cluster.Worker w = palimpsest.hunt.cluster.Worker.start(name, "127.0.0.1", 15801, List.of(), 1, null, loader))
        {
            final Path remote = tmp.resolve("hunt-cluster");
            final Result c = pal("hunt", "--plugin", jar.toString(), "--scenario", "user-hello", "--seeds", "1..3", "-o", remote.toString(),
                "--cluster", w.address(), "--name", name);
            assertEquals(0, c.rc(), c.toString());
            assertTrue(c.out().contains("3 good, 0 bad") && c.out().contains("cluster at " + w.address() + " (1 member)"), c.out());
            assertEquals(palimpsest.hunt.Manifest.read(local).stream().map(palimpsest.hunt.Manifest.Entry::digest).sorted().toList(),
                palimpsest.hunt.Manifest.read(remote).stream().map(palimpsest.hunt.Manifest.Entry::digest).sorted().toList(),
                "the worker found the plugin scenario and recorded the same runs");
        }
    }
}
