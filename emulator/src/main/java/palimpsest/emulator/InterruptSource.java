package palimpsest.emulator;

/** Why an interrupt was raised: operand b of an INTERRUPT event. */
public final class InterruptSource
{
    public static final int IPI = 0;
    public static final int TIMER = 1;
    public static final int PMU = 2;
    public static final int DEVICE = 3;
    public static final int STIMULUS = 4;
    /** {@code int n} executed by software. */
    public static final int SOFTWARE = 5;

    private static final String[] NAMES = {"ipi", "timer", "pmu", "device", "stimulus", "software"};

    public static String name(final int source)
    {
        return source >= 0 && source < NAMES.length ? NAMES[source] : "src" + source;
    }

    private InterruptSource()
    {
    }
}
