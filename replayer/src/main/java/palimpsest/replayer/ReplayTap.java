package palimpsest.replayer;

import palimpsest.emulator.Machine;
import palimpsest.trace.EventSink;

/**
 * Sees every event a replay regenerates, after the verifier compared it, with the replayed machine's
 * memory already holding the effect of the event (stores write memory before they are reported).
 * For checkers that watch state as it evolves (invariants); it may stop the machine.
 */
public interface ReplayTap extends EventSink
{
    /** Called once, before the run, with the machine being replayed. */
    default void attach(final Machine machine)
    {
    }
}
