package palimpsest.replayer.state;

import java.nio.file.Path;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineStopped;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.input.SeededInput;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.ReplayInput;
import palimpsest.trace.EventSink;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;

/**
 * A replay of a trace (recorded inputs) whose event sink stops the machine the moment it receives
 * event n-1: what the machine really was after n events, to hold a {@link TraceState} against
 * (null when event n-1 was recorded while the scenario loaded, before the machine ran).
 */
final class ReExecution
{
    private ReExecution()
    {
    }

    static Machine stoppedAfter(final Path trace, final ScenarioCatalog catalog, final long n)
    {
        try (TraceReader inputs = TraceReader.open(trace))
        {
            final TraceHeader h = inputs.header();
            final Scenario scenario = catalog.find(h.scenario());
            final Machine[] holder = new Machine[1];
            final EventSink stopper = new EventSink()
            {
                private long count;

                private void counted()
                {
                    if (++count == n)
                    {
                        holder[0].stop(new Outcome(Outcome.Kind.POWEROFF, 0, "stopped after " + n + " events", null));
                    }
                }

                @Override
                public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
                    final long paddr, final int size, final long value, final long oldValue)
                {
                    counted();
                }

                @Override
                public void event(final int kind, final int cpu, final long icount, final long pc, final long a,
                    final long b, final long c)
                {
                    counted();
                }

                @Override
                public void net(final int kind, final int device, final long vtime, final long peerNode,
                    final long frameId, final byte[] payload, final int offset, final int length)
                {
                    counted();
                }
            };
            final Machine m = new Machine(ScenarioCatalog.configOf(h), stopper,
                new ReplayInput(inputs, new SeededInput(h.seed())));
            holder[0] = m;
            try
            {
                scenario.load(m, ScenarioCatalog.contextOf(h));
            }
            catch (final MachineStopped inLoad)
            {
                // Event n-1 was recorded while the scenario loaded (a stimulus scheduled at load
                // time records its input then): the machine has not started, nothing to compare.
                return null;
            }
            m.run(scenario.maxInstructions());
            return m;
        }
    }
}
