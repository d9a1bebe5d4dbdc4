package palimpsest.analyzers.regs;

import java.nio.file.Path;

import palimpsest.trace.Event;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceSeeker;

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

    /**
     * As {@link #lastWrite}, but reading backwards from N in windows of chunks that double (1, 2, 4...
     * chunks before the one holding N-1, each with one more chunk before it for the context that
     * tells how a write happened: the delivery or the trap-frame loads just before it), through the
     * chunk table ({@link TraceSeeker}): a register written shortly before N costs a chunk or two,
     * not a pass. The answer is the pass's; a window reaching event 0 is the pass.
     */
    public static Answer lastWriteNear(final Path trace, final int cpu, final int reg, final long before)
    {
        try (TraceSeeker s = TraceSeeker.open(trace))
        {
            if (s == null || s.chunks() == 0)
            {
                return lastWrite(trace, cpu, reg, before);
            }
            if (cpu < 0 || cpu >= s.header().cpuCount())
            {
                throw new IllegalArgumentException("--cpu " + cpu + ": the trace has cpus 0.." + (s.header().cpuCount() - 1));
            }
            final long end = Math.min(before, s.events());
            int last = s.chunks() - 1;
            while (last > 0 && s.chunkFirstIndex(last) >= end)
            {
                last--;
            }
            for (int width = 1; ; width *= 2)
            {
                final int from = Math.max(0, last - width + 1);
                final long start = from == 0 ? 0 : s.chunkFirstIndex(from - 1);
                final long counted = from == 0 ? 0 : s.chunkFirstIndex(from);
                final RegisterWriters w = new RegisterWriters(s.header().cpuCount());
                final Event e = new Event();
                if (!s.seek(start))
                {
                    return lastWrite(trace, cpu, reg, before);
                }
                final Answer a = new Answer();
                long at = start;
                while (at < end && s.next(e))
                {
                    w.onEvent(e);
                    at = e.index() + 1;
                }
                if (w.event(cpu, reg) >= counted || from == 0)
                {
                    a.scanned = end;
                    a.event = w.event(cpu, reg);
                    if (a.event >= 0)
                    {
                        a.pc = w.pc(cpu, reg);
                        a.value = w.value(cpu, reg);
                        a.how = w.describe(cpu, reg);
                    }
                    if (from == 0 && before > s.events())
                    {
                        return lastWrite(trace, cpu, reg, before); // past the table: the reader reads the rest
                    }
                    return a;
                }
            }
        }
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
