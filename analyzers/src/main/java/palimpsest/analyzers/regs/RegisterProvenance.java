package palimpsest.analyzers.regs;

import java.nio.file.Path;

import palimpsest.trace.Event;
import palimpsest.trace.TraceReader;

/**
 * {@code pal who-wrote TRACE --reg R --cpu C --before N}: the last write of a register on one cpu
 * before an event, from the trace's REG events alone (one pass up to N).
 */
public final class RegisterProvenance
{
    /** The answer: the writing event (-1: never written before N), its pc, the value written and how. */
    public static final class Answer
    {
        public long event = -1;
        public long pc;
        public long value;
        public String how = "";
        /** Events read (N, or fewer if the trace ended first). */
        public long scanned;
    }

    private RegisterProvenance()
    {
    }

    public static Answer lastWrite(final Path trace, final int cpu, final int reg, final long before)
    {
        final Answer a = new Answer();
        try (TraceReader r = TraceReader.open(trace))
        {
            if (cpu < 0 || cpu >= r.header().cpuCount())
            {
                throw new IllegalArgumentException("--cpu " + cpu + ": the trace has cpus 0.." + (r.header().cpuCount() - 1));
            }
            final RegisterWriters w = new RegisterWriters(r.header().cpuCount());
            final Event e = new Event();
            while (r.next(e) && e.index() < before)
            {
                w.onEvent(e);
                a.scanned++;
            }
            a.event = w.event(cpu, reg);
            if (a.event >= 0)
            {
                a.pc = w.pc(cpu, reg);
                a.value = w.value(cpu, reg);
                a.how = w.describe(cpu, reg);
            }
        }
        return a;
    }
}
