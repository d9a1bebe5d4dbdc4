package palimpsest.cli;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;

import picocli.CommandLine.Option;
import palimpsest.emulator.Scenario;
import palimpsest.recorder.ScenarioCatalog;

/** {@code --plugin JAR}: user scenarios (and later patches) from jars, found with ServiceLoader. */
final class PluginOptions
{
    @Option(names = "--plugin", paramLabel = "JAR",
        description = "A jar of user scenarios (META-INF/services/palimpsest.emulator.Scenario); repeatable.")
    List<Path> jars = new ArrayList<>();

    private ScenarioCatalog catalog;

    /** The built-in scenarios plus those of the plugin jars. */
    ScenarioCatalog catalog()
    {
        if (catalog == null)
        {
            final List<URL> urls = new ArrayList<>();
            for (final Path jar : jars)
            {
                if (!Files.isRegularFile(jar))
                {
                    throw new UserError("plugin jar not found: " + jar);
                }
                try (JarFile ignored = new JarFile(jar.toFile()))
                {
                    urls.add(jar.toUri().toURL());
                }
                catch (final MalformedURLException e)
                {
                    throw new UserError("bad plugin path " + jar + ": " + e.getMessage());
                }
                catch (final IOException e)
                {
                    throw new UserError("plugin " + jar + " is not a readable jar: " + e.getMessage());
                }
            }
            final ClassLoader parent = Main.class.getClassLoader();
            final ClassLoader loader = urls.isEmpty() ? parent :
                new URLClassLoader("pal-plugins", urls.toArray(new URL[0]), parent);
            // Kernel scenarios find plugin patches through the context class loader.
            Thread.currentThread().setContextClassLoader(loader);
            catalog = ScenarioCatalog.load(loader);
        }
        return catalog;
    }

    /** The scenario of that name, or a user error listing the known ones. */
    Scenario scenario(final String name)
    {
        final ScenarioCatalog c = catalog();
        final Scenario s = c.find(name);
        if (s == null)
        {
            final List<String> names = c.names();
            throw new UserError("unknown scenario '" + name + "'; known scenarios: " +
                (names.isEmpty() ? "(none)" : String.join(", ", names)));
        }
        return s;
    }

    /** The file names of the --plugin jars, as a recording's header keeps them. */
    List<String> jarNames()
    {
        final List<String> names = new ArrayList<>();
        for (final Path j : jars)
        {
            names.add(j.getFileName().toString());
        }
        return names;
    }

    /**
     * Refuses a trace whose header asks for a plugin jar this command was not given: its
     * scenario, patches or analyzers would be missing and every report would be wrong.
     */
    void requireFor(final palimpsest.trace.TraceHeader h, final String verb)
    {
        final List<String> have = jarNames();
        for (final String want : h.plugins())
        {
            if (!have.contains(want))
            {
                throw new UserError(verb + ": the trace was recorded with --plugin " + want + "; pass --plugin PATH/" + want);
            }
        }
    }

    static boolean isPlugin(final Scenario s)
    {
        final ClassLoader l = s.getClass().getClassLoader();
        return l != null && "pal-plugins".equals(l.getName());
    }
}
