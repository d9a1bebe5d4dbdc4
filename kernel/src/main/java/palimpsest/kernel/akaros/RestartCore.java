package palimpsest.kernel.akaros;

/**
 * Thrown by proc_restartcore to drop the Java frames of a stack that smp_idle abandoned: Akaros
 * never returns through them (the core restarts the process from its saved context), and neither
 * may the emulated code. Caught only by the system-call entry that saved that context.
 */
final class RestartCore extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    static final RestartCore INSTANCE = new RestartCore();

    private RestartCore()
    {
        super("proc_restartcore", null, false, false);
    }
}
