package palimpsest.trace;

/**
 * Something is wrong with a trace (missing, foreign, newer, unreadable). The message is one line meant
 * for the user as it is: print {@link #getMessage()}, not the stack trace.
 */
public final class TraceException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    public TraceException(final String message)
    {
        super(message);
    }

    public TraceException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
