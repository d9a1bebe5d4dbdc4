package palimpsest.recorder;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The tool version written into trace headers (the Maven project version; never a timestamp). */
public final class Version
{
    private static final String VERSION = load();

    private Version()
    {
    }

    public static String get()
    {
        return VERSION;
    }

    /** "palimpsest VERSION", as written in the header's tool field. */
    public static String tool()
    {
        return "palimpsest " + VERSION;
    }

    private static String load()
    {
        try (InputStream in = Version.class.getResourceAsStream("version.properties"))
        {
            if (in != null)
            {
                final Properties p = new Properties();
                p.load(in);
                final String v = p.getProperty("version", "");
                if (!v.isEmpty() && !v.startsWith("${"))
                {
                    return v;
                }
            }
        }
        catch (final IOException ignored)
        {
            // fall through
        }
        return "dev";
    }
}
