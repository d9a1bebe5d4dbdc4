package palimpsest.cli;

import java.util.Locale;

/** Number formatting for people. */
final class Fmt
{
    private Fmt()
    {
    }

    /** 1234567 -> "1,234,567". */
    static String count(final long n)
    {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** 12345678 -> "12.3 M". */
    static String si(final double v)
    {
        final double a = Math.abs(v);
        if (a >= 1e9)
        {
            return String.format(Locale.ROOT, "%.2f G", v / 1e9);
        }
        if (a >= 1e6)
        {
            return String.format(Locale.ROOT, "%.2f M", v / 1e6);
        }
        if (a >= 1e3)
        {
            return String.format(Locale.ROOT, "%.1f k", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f", v);
    }

    static String bytes(final long b)
    {
        if (b >= 1L << 30)
        {
            return String.format(Locale.ROOT, "%.2f GiB", b / (double)(1L << 30));
        }
        if (b >= 1L << 20)
        {
            return String.format(Locale.ROOT, "%.2f MiB", b / (double)(1L << 20));
        }
        if (b >= 1L << 10)
        {
            return String.format(Locale.ROOT, "%.1f KiB", b / (double)(1L << 10));
        }
        return b + " B";
    }

    static String fixed(final double v, final int decimals)
    {
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    static String seconds(final long nanos)
    {
        return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
    }
}
