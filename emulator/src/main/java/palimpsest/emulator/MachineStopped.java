package palimpsest.emulator;

/**
 * Thrown through the Java stack of every fiber when the machine stops, so that emulated code
 * unwinds without running further. Not an Exception: emulated software must never catch it.
 */
public final class MachineStopped extends Error
{
    static final MachineStopped INSTANCE = new MachineStopped();

    private MachineStopped()
    {
        super("machine stopped", null, false, false);
    }
}
