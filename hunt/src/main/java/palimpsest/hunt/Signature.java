package palimpsest.hunt;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import palimpsest.emulator.Verdict;

/**
 * What groups failing runs of a campaign: the function the oops IP was in (from the emulated
 * console's {@code IP: [<...>] fn+0x../0x..} line, when there is one) and the class of the verdict.
 * Both go through {@link #normalise}, so that two runs of one bug with the oops at another
 * address, another event number, cpu or count land in the same group.
 *
 * <p>{@link #ofLine} takes any one-line description of a run's cause (such as a first line of
 * {@code pal analyze}) through the same normalisation, so a later, better line can replace the
 * verdict without changing how groups form.
 */
public final class Signature
{
    /** The IP line of an x86-style oops: {@code IP: [<ffffffff80202c24>] __d_lookup+0x44/0x100}. */
    private static final Pattern OOPS_IP = Pattern.compile("(?m)^\\s*IP: \\[<[0-9a-fA-F]+>\\] ([A-Za-z_.$][\\w.$]*)(\\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+)?");
    /** A verdict's own copy of the IP line, left off the verdict class (the IP part says it once). */
    private static final Pattern IP_SUFFIX = Pattern.compile("\\s*\\(IP: [^)]*\\)");
    private static final Pattern BRACKETED_ADDRESS = Pattern.compile("\\[<[0-9a-fA-F]+>\\]");
    private static final Pattern SYMBOL_OFFSET = Pattern.compile("([A-Za-z_.$][\\w.$]*)\\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+");
    private static final Pattern HEX = Pattern.compile("\\b0x[0-9a-fA-F]+\\b");
    /** A bare address or value: 8 or more hex digits with at least one digit (so words like "deadbeef"-free text stays). */
    private static final Pattern BARE_HEX = Pattern.compile("\\b(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}\\b");
    private static final Pattern DECIMAL = Pattern.compile("\\b\\d+\\b");
    private static final Pattern SPACES = Pattern.compile("\\s+");

    private Signature()
    {
    }

    /**
     * The signature of a run from its verdict and its console text: {@code fn | kind: message}
     * with an oops, {@code kind: message} without. Messages are normalised.
     */
    public static String of(final Verdict verdict, final CharSequence console)
    {
        final String ip = oopsFunction(console);
        final String v = verdict.kind.name().toLowerCase() + ": " + IP_SUFFIX.matcher(verdict.message == null ? "" : verdict.message).replaceAll("");
        final String cls = normalise(v);
        return ip == null ? cls : ip + " | " + cls;
    }

    /** A signature from a one-line description of the cause (e.g. an analyzer's first line). */
    public static String ofLine(final String line)
    {
        return normalise(line);
    }

    /** The function of the first oops IP line in the console, or null. */
    public static String oopsFunction(final CharSequence console)
    {
        if (console == null)
        {
            return null;
        }
        final Matcher m = OOPS_IP.matcher(console);
        return m.find() ? m.group(1) : null;
    }

    /**
     * Replaces what differs between runs of one bug: {@code [<addr>]} and bare addresses by
     * {@code ADDR}, {@code 0x..} values by {@code 0x?}, offsets within a function
     * ({@code fn+0x44/0x100} -> {@code fn}), and decimal numbers (event numbers, counts, cpus) by
     * {@code N}; collapses white space and tabs (a signature is one manifest field).
     */
    public static String normalise(final String s)
    {
        String t = s == null ? "" : s;
        t = BRACKETED_ADDRESS.matcher(t).replaceAll("[<ADDR>]");
        t = SYMBOL_OFFSET.matcher(t).replaceAll("$1");
        t = HEX.matcher(t).replaceAll("0x?");
        t = BARE_HEX.matcher(t).replaceAll("ADDR");
        t = DECIMAL.matcher(t).replaceAll("N");
        t = SPACES.matcher(t).replaceAll(" ").strip();
        return t.length() > 300 ? t.substring(0, 300) : t;
    }
}
