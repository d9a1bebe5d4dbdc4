package palimpsest.analyzers.invariants;

/**
 * A property of kernel state that must hold at every event, checked from memory alone. Built-in
 * invariants and those of plugin jars are found with {@link java.util.ServiceLoader}
 * ({@code META-INF/services/palimpsest.analyzers.invariants.Invariant}), like scenarios.
 *
 * <p>Two checks: {@link #check(KernelState)} looks at the whole state (for a state at any event, a
 * keyframe or a post-mortem); {@link #checkWrite} looks only at what one write could have broken,
 * and is called by {@link InvariantBisect} after each write for which {@link #touches} says yes, so
 * a linear pass costs a cheap filter per store and real work only where the invariant lives.
 */
public interface Invariant
{
    /** Lower-case words joined by '-'. */
    String name();

    /** One line. */
    String description();

    /** Whether the kernel the state comes from promises this invariant at all (e.g. slab poisoning is a patch). */
    default boolean applies(final KernelState state)
    {
        return true;
    }

    /** The violation (one line), or null when the invariant holds in this state. */
    String check(KernelState state);

    /** Whether a write of size bytes at physical pa can affect this invariant. */
    default boolean touches(final KernelState state, final long pa, final int size)
    {
        return true;
    }

    /**
     * Whether {@code pal analyze} should watch this invariant after every write of a trace with this
     * header ({@link InvariantWatch}): only for invariants cheap enough to check that often, and
     * only where the kernel promises them (default: never).
     */
    default boolean watched(final palimpsest.trace.TraceHeader header)
    {
        return false;
    }

    /** The violation caused by the write just done at pa (memory already holds it), or null. */
    default String checkWrite(final KernelState state, final long pa, final int size)
    {
        return check(state);
    }
}
