package palimpsest.emulator;

/** A scenario's judgement of a run: good, bad, or cannot tell (exit codes as git bisect run wants). */
public final class Verdict
{
    public enum Kind
    {
        GOOD(0), BAD(1), SKIP(125);

        public final int exitCode;

        Kind(final int exitCode)
        {
            this.exitCode = exitCode;
        }
    }

    public final Kind kind;
    public final String message;

    public Verdict(final Kind kind, final String message)
    {
        this.kind = kind;
        this.message = message;
    }

    public static Verdict good(final String message)
    {
        return new Verdict(Kind.GOOD, message);
    }

    public static Verdict bad(final String message)
    {
        return new Verdict(Kind.BAD, message);
    }

    public static Verdict skip(final String message)
    {
        return new Verdict(Kind.SKIP, message);
    }

    @Override
    public String toString()
    {
        return kind.name().toLowerCase() + ": " + message;
    }
}
