package palimpsest.emulator;

/**
 * A named workload: software to load into a machine plus the stimuli that drive it, and how to
 * judge how the run ended. Built-in and user scenarios are found with {@link java.util.ServiceLoader}
 * ({@code META-INF/services/palimpsest.emulator.Scenario}), so a plugin jar adds its own.
 */
public interface Scenario
{
    /** The name users type: lower-case words joined by '-'. */
    String name();

    /** One line for {@code pal scenarios}. */
    String description();

    /** Whether the scenario boots the kernel (and so takes --kernel / --patch). */
    default boolean usesKernel()
    {
        return false;
    }

    /**
     * The {@code --arg} names this scenario takes, with their defaults and help ({@code pal scenarios
     * --args} lists them). Declare them: {@code pal record} then refuses any other name, and values
     * that are not of the declared kind, with the list of known ones. The default, null, means "not
     * declared": every argument is passed through unchecked (a scenario written before declarations).
     */
    default java.util.List<ScenarioArg> args()
    {
        return null;
    }

    /** Machine shape used when the user does not give one. */
    default MachineConfig defaultConfig()
    {
        return MachineConfig.defaults();
    }

    /**
     * Names of the nodes for consoles and the trace header (for example P0, M1 for a processor and a
     * memory component), or null for plain node numbers.
     */
    default String[] nodeLabels(final MachineConfig config, final ScenarioContext context)
    {
        return null;
    }

    /**
     * A short description of a network frame this scenario's software sends (its protocol: for
     * LegoOS "REQ PCACHE_MISS msg 0x.. a0=.."), for {@code pal dump}; null when it has none.
     */
    default String describeFrame(final byte[] frame, final int length)
    {
        return null;
    }

    /** Virtual-time budget after which the run stops with {@link Outcome.Kind#LIMIT}. */
    default long maxInstructions()
    {
        return 2_000_000_000L;
    }

    /**
     * Loads software and schedules stimuli. Throw {@link IllegalArgumentException} with a one-line
     * message for unusable arguments or machine shapes.
     */
    void load(Machine machine, ScenarioContext context);

    /** Judges a finished run. */
    Verdict verdict(Machine machine, Outcome outcome);
}
