package palimpsest.cli;

/**
 * The one rule for numeric options, the same in every verb: a count, an event number or a cpu is
 * never negative, and a negative one is refused as bad input (never read as "all" or "none").
 */
final class Limits
{
    private Limits()
    {
    }

    /** value itself, or a {@link UserError} naming the option when it is below min. */
    static long atLeast(final String option, final long value, final long min)
    {
        if (value < min)
        {
            throw new UserError(option + " must be >= " + min + ", got " + value);
        }
        return value;
    }

    /** As {@link #atLeast} for an option that may be absent (null). */
    static Long atLeast(final String option, final Long value, final long min)
    {
        return value == null ? null : atLeast(option, value.longValue(), min);
    }

    static Integer atLeast(final String option, final Integer value, final int min)
    {
        return value == null ? null : (int)atLeast(option, value.longValue(), min);
    }
}
