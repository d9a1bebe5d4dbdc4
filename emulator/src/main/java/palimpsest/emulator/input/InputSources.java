package palimpsest.emulator.input;

/** Builds the record-mode sources by the names users type. */
public final class InputSources
{
    public static final String[] KINDS = {"free", "seeded", "chaos"};

    private InputSources()
    {
    }

    /** @throws IllegalArgumentException with a one-line message for an unknown kind. */
    public static InputSource create(final String kind, final long seed)
    {
        switch (kind)
        {
            case "free": return new FreeInput();
            case "seeded": return new SeededInput(seed);
            case "chaos": return new ChaosInput(seed);
            default: throw new IllegalArgumentException("unknown schedule '" + kind + "' (free, seeded or chaos)");
        }
    }
}
