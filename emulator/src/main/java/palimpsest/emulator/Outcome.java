package palimpsest.emulator;

/** How a run of the machine ended. */
public final class Outcome
{
    public enum Kind
    {
        /** Software wrote 0 to the power port: a clean shutdown. */
        POWEROFF,
        /** Software wrote a non-zero code to the power port (a panic, a failed check). */
        FAILURE,
        /** An exception could not be delivered (no handler, fault while delivering). */
        TRIPLE_FAULT,
        /** Every CPU halted and nothing is pending that could wake one. */
        IDLE,
        /** The instruction limit was reached. */
        LIMIT,
        /** The emulator or the Java code of the emulated software threw: a bug of ours. */
        INTERNAL_ERROR,
        /**
         * The user stopped the recording (SIGINT, SIGTERM) between two slices: every event before is
         * whole and replays; the replay stops at the same event.
         */
        INTERRUPTED
    }

    /** The one outcome of an interrupted recording, and of its replay (same code, same message). */
    public static Outcome interrupted()
    {
        return new Outcome(Kind.INTERRUPTED, 0, "the recording was stopped by SIGINT or SIGTERM", null);
    }

    public final Kind kind;
    /** Power-port code for POWEROFF/FAILURE, else 0. */
    public final long code;
    public final String message;
    public final Throwable cause;

    public Outcome(final Kind kind, final long code, final String message, final Throwable cause)
    {
        this.kind = kind;
        this.code = code;
        this.message = message;
        this.cause = cause;
    }

    public boolean clean()
    {
        return kind == Kind.POWEROFF && code == 0;
    }

    /** Stable small integer for the trace's end record. */
    public int wireCode()
    {
        return kind.ordinal() << 16 | (int)(code & 0xFFFF);
    }

    /** A wire code by name ("poweroff", "failure code 3"); an unknown kind shows as its number. */
    public static String describeWire(final int wire)
    {
        final int k = wire >>> 16;
        final int code = wire & 0xFFFF;
        final String kind = k < Kind.values().length ? Kind.values()[k].name().toLowerCase().replace('_', '-') :
            "unknown kind " + k;
        return kind + (code != 0 ? " code " + code : "");
    }

    @Override
    public String toString()
    {
        return kind.name().toLowerCase().replace('_', '-') + (code != 0 ? " (code " + code + ")" : "") +
            (message == null || message.isEmpty() ? "" : ": " + message);
    }
}
