package palimpsest.hunt.cluster;

import java.util.ArrayList;
import java.util.List;

/** {@code host:port,host:port,...} as given to {@code --cluster} and {@code --join}. */
public final class ClusterAddresses
{
    private ClusterAddresses()
    {
    }

    /**
     * @throws IllegalArgumentException (one line) unless every item is host:port with 1 <= port <= 65535.
     */
    public static List<String> parse(final String option, final String text)
    {
        final List<String> out = new ArrayList<>();
        for (final String raw : (text == null ? "" : text).split(","))
        {
            final String a = raw.strip();
            if (a.isEmpty())
            {
                continue;
            }
            final int colon = a.lastIndexOf(':');
            if (colon <= 0 || colon == a.length() - 1)
            {
                throw new IllegalArgumentException(option + " wants host:port[,host:port...], got '" + a + "'");
            }
            final int port;
            try
            {
                port = Integer.parseInt(a.substring(colon + 1));
            }
            catch (final NumberFormatException e)
            {
                throw new IllegalArgumentException(option + ": bad port in '" + a + "'");
            }
            if (port < 1 || port > 65535)
            {
                throw new IllegalArgumentException(option + ": port out of range in '" + a + "'");
            }
            out.add(a);
        }
        if (out.isEmpty())
        {
            throw new IllegalArgumentException(option + " wants host:port[,host:port...]");
        }
        return out;
    }
}
