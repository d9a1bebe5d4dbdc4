package palimpsest.cli;

/** Bad input from the user: printed as one line "pal: message", exit status 2. */
final class UserError extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    UserError(final String message)
    {
        super(message);
    }
}
