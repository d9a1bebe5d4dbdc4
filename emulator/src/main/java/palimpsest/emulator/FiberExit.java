package palimpsest.emulator;

/** Unwinds the Java stack of a fiber that exited with {@link Cpu#exitTo}. */
final class FiberExit extends Error
{
    static final FiberExit INSTANCE = new FiberExit();

    private FiberExit()
    {
        super("fiber exited", null, false, false);
    }
}
