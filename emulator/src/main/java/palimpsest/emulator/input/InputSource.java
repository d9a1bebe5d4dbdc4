package palimpsest.emulator.input;

/**
 * Every nondeterministic choice the machine makes comes from here, and the executor records each
 * answer as an INPUT event, so any source (even a genuinely nondeterministic one) yields a
 * replayable trace. Sources know nothing of traces; replay plugs in a source fed from one.
 *
 * <p>Calls come in a deterministic order given the answers, so a replaying source can answer them
 * from a recorded stream in order.
 */
public interface InputSource
{
    /** The kind written to the trace header: free, seeded, chaos, replay... */
    String kind();

    /** Seed this source was built with (0 when it has none). */
    long seed();

    /** Length in instructions (>= 1) of the slice the executor is starting on cpu. */
    long slice(int cpu);

    /**
     * Which cpu runs next. {@code runnable} has bit i set for every runnable cpu (at least one);
     * the answer must be one of them. {@code previous} is the cpu whose slice just ended (-1 at start).
     */
    int pickCpu(long runnable, int previous);

    /** Extra virtual-time ticks before an interrupt (timer, IPI, device, PMU skid) is delivered. */
    long irqDelay(int cpu, int vector);

    /** Latency in ticks of a frame from node src to node dst. */
    long netLatency(int src, int dst, int length);

    /** Whether the fabric drops this frame. */
    boolean netDrop(int src, int dst, int length);

    /** A random 64-bit number for the software (rdrand). */
    long random();

    /** The virtual time at which an external stimulus scheduled for about {@code nominal} fires. */
    long stimulus(int id, long nominal);
}
