package palimpsest.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

import palimpsest.emulator.CodeMap;
import palimpsest.gdb.ReplayTarget;
import palimpsest.kernel.Layout;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceReader;

/**
 * pal bench's gdb row: on the 0xf0 trace, what {@code watch -l} on the scribbled byte (its
 * direct-map address) and {@code reverse-continue} cost in {@code pal gdb}: the who-wrote index
 * query and the state at the writer's event (keyframe + roll forward). The byte is the one the
 * last store of text_poke through an alias wrote (the benchmark knows its story; no analyzer does).
 */
final class GdbBench
{
    /** Target for the reverse-continue (issue 18). */
    static final double TARGET_SECONDS = 1.0;

    private GdbBench()
    {
    }

    static void row(final Path trace, final ScenarioCatalog catalog, final PrintStream out)
    {
        try (ReplayTarget t = ReplayTarget.open(trace, catalog))
        {
            final CodeMap code = t.state().machine().code();
            long phys = -1;
            try (TraceReader r = TraceReader.open(trace))
            {
                final Event e = new Event();
                while (r.next(e))
                {
                    if (e.kind() == EventKind.STORE && "text_poke".equals(code.nameAt(e.pc())) &&
                        e.vaddr() != Layout.PAGE_OFFSET + e.paddr())
                    {
                        phys = e.paddr();
                    }
                }
            }
            if (phys < 0)
            {
                out.println("gdb reverse-continue: not measured (text_poke wrote through no alias in this run)");
                return;
            }
            final long watched = Layout.PAGE_OFFSET + phys;
            final long i0 = System.nanoTime();
            t.index();
            final long indexNanos = System.nanoTime() - i0;
            if (!t.addWatch(ReplayTarget.WRITE, watched, 1))
            {
                out.println("gdb reverse-continue: not measured (" + Long.toHexString(watched) + " is not mapped)");
                return;
            }
            final long t0 = System.nanoTime();
            final ReplayTarget.Stop s = t.reverse(false, t.thread());
            final long nanos = System.nanoTime() - t0;
            final double secs = nanos / 1e9;
            out.println(String.format(Locale.ROOT, "gdb reverse-continue: watch -l %x, from event %d back to event %d (%s) in %s " +
                "(who-wrote index opened in %s); target < %.0f s: %s", watched, t.events(), s.event,
                code.symbolize(t.pc(t.thread())), Fmt.seconds(nanos), Fmt.seconds(indexNanos), TARGET_SECONDS,
                secs < TARGET_SECONDS ? "met" : "MISSED"));
        }
    }
}
