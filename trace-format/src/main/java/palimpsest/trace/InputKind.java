package palimpsest.trace;

/** Subtypes of {@link EventKind#INPUT}: each nondeterministic choice the emulator makes. */
public final class InputKind
{
    /** Length in instructions of the slice the executor is starting on a cpu. */
    public static final int SLICE = 0;
    /** Which cpu the executor runs next (value = cpu). */
    public static final int PICK_CPU = 1;
    /** Delay in virtual-time ticks added to an interrupt's delivery (timer, IPI, device). */
    public static final int IRQ_DELAY = 2;
    /** Network latency in ticks for a frame. */
    public static final int NET_LATENCY = 3;
    /** Whether the fabric drops a frame (1 = drop). */
    public static final int NET_DROP = 4;
    /** A random number handed to the software (rdrand). */
    public static final int RANDOM = 5;
    /** Virtual time at which an external stimulus (button, console input, injected frame) fires. */
    public static final int STIMULUS = 6;

    public static final int COUNT = 7;

    private static final String[] NAMES = {"slice", "pick-cpu", "irq-delay", "net-latency", "net-drop", "random", "stimulus"};

    private InputKind()
    {
    }

    public static String name(final int kind)
    {
        return kind >= 0 && kind < COUNT ? NAMES[kind] : "input#" + kind;
    }
}
