package palimpsest.cli.timeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.Symbols;
import palimpsest.emulator.Apic;
import palimpsest.emulator.InterruptSource;
import palimpsest.kernel.Mark;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;
import palimpsest.trace.TraceHeader;

/**
 * The timeline's slices and arrows from a hand-written event stream: a trap closes at the iret that
 * reads its frame, a trap open at a task switch is closed there and reopened where the task runs
 * next (another cpu here), an IPI is an arrow to the delivery of its vector, one never delivered
 * ends at the end on a slice saying so, and a finding is a marker at its event.
 */
class TimelineTest
{
    private final List<String> out = new ArrayList<>();
    private final Event e = new Event();
    private long index;
    private Timeline timeline;

    /** Writes what the timeline asks for, one short line each. */
    private final TimelineSink sink = new TimelineSink()
    {
        @Override
        public void track(final int node, final int tid, final String name)
        {
            out.add("track " + node + "/" + tid + " " + name);
        }

        @Override
        public void begin(final int node, final int tid, final long ts, final String name, final String category, final String... args)
        {
            out.add("B " + tid + " @" + ts + " " + name);
        }

        @Override
        public void end(final int node, final int tid, final long ts)
        {
            out.add("E " + tid + " @" + ts);
        }

        @Override
        public void complete(final int node, final int tid, final long ts, final long duration, final String name, final String category,
            final String... args)
        {
            out.add("X " + tid + " @" + ts + " " + name);
        }

        @Override
        public void instant(final int node, final int tid, final long ts, final String name, final String category, final String... args)
        {
            out.add("i " + tid + " @" + ts + " " + name);
        }

        @Override
        public void flow(final boolean start, final long id, final int node, final int tid, final long ts, final String name,
            final String category)
        {
            out.add((start ? "s " : "f ") + id + " " + tid + " @" + ts + " " + name);
        }

        @Override
        public void finish(final long firstTs, final long lastTs, final String traceStatus)
        {
            out.add("finish " + firstTs + ".." + lastTs + " " + traceStatus);
        }
    };

    private void event(final int kind, final int cpu, final long icount, final long a, final long b, final long c)
    {
        e.setEvent(kind, cpu, icount, 0x1000, a, b, c).index(index++);
        timeline.accept(e);
    }

    private void sp(final int cpu, final long icount, final long value)
    {
        event(EventKind.REG, cpu, icount, Reg.SP, value, 0);
    }

    /** An iret at icount: the 7 words of the frame read at SP, then SP (and the rest) restored. */
    private void iret(final int cpu, final long icount, final long frameSp, final long restoredSp)
    {
        for (int i = 0; i < 7; i++)
        {
            e.setAccess(EventKind.LOAD, cpu, icount, 0x1000, frameSp + 8 * i, frameSp + 8 * i, 8, 0, 0).index(index++);
            timeline.accept(e);
        }
        sp(cpu, icount, restoredSp);
    }

    @Test
    void trapsNestCloseAtTheirIretAndFollowTheirTaskArrowsPairUp()
    {
        final TraceHeader h = TraceHeader.builder().machine(1, 2, 8).scenario("synthetic").schedule("seeded", 0).toolVersion("test").build();
        final List<Finding> findings = List.of(new Finding("test", 26, "a finding", "report"));
        timeline = new Timeline(h, Symbols.NONE, null, findings, 0, Long.MAX_VALUE, sink);

        sp(0, 1, 0x1000);                                                              // 0: cpu0 starts (boot)
        event(EventKind.INTERRUPT, 0, 10, 0xef, InterruptSource.TIMER, 0);             // 1: timer
        sp(0, 11, 0xf00);                                                              // 2: its frame
        event(EventKind.TASK_SWITCH, 0, 20, 1, 2, 0);                                  // 3: task 1 out, inside the timer handler
        event(EventKind.EXCEPTION, 0, 30, 14, 2, 0xdead);                             // 4: #PF in task 2
        sp(0, 31, 0xe00);                                                              // 5: its frame
        iret(0, 40, 0xe00, 0xf80);                                                     // 6..13: #PF done
        event(EventKind.TASK_SWITCH, 1, 5, 3, 1, 0);                                   // 14: task 1 runs on cpu1
        sp(1, 6, 0xf00);                                                               // 15: switch_to gives it its stack back
        iret(1, 9, 0xf00, 0x1000);                                                     // 16..23: the timer handler returns
        event(EventKind.IPI, 0, 50, 1, Apic.MODE_FIXED, 0xfb);                         // 24
        event(EventKind.INTERRUPT, 1, 12, 0xfb, InterruptSource.IPI, 0);               // 25: delivered
        event(EventKind.MARK, 0, 51, Mark.OOPS, 0xbad, 0x1000);                        // 26
        event(EventKind.IPI, 0, 52, 1, Apic.MODE_FIXED, 0xfc);                         // 27: never delivered
        timeline.finish("test status");

        assertEquals(List.of(
            "track 0/0 cpu0",
            "track 0/1 cpu1",
            "B 0 @0 boot cpu0",
            "B 0 @1 timer 0xef",
            "E 0 @3",
            "E 0 @3",
            "B 0 @3 task 2",
            "B 0 @4 #PF",
            "E 0 @13",
            "B 1 @14 boot cpu1",
            "E 1 @14",
            "B 1 @14 task 1",
            "B 1 @14 timer 0xef",
            "E 1 @23",
            "s 1 0 @24 ipi fixed 0xfb",
            "B 1 @25 ipi 0xfb",
            "f 1 1 @25 ipi fixed 0xfb",
            "i 0 @26 [test] a finding",
            "i 0 @26 oops in 0000000000001000",
            "s 2 0 @27 ipi fixed 0xfc",
            "E 0 @28",
            "E 1 @28",
            "E 1 @28",
            "X 1 @28 ipi fixed 0xfc not delivered",
            "f 2 1 @28 ipi fixed 0xfc",
            "finish 0..28 test status"), out);
    }

    @Test
    void aWindowOpensWhatIsOpenAtItsStartAndDropsArrowsFromBeforeIt()
    {
        final TraceHeader h = TraceHeader.builder().machine(1, 2, 8).scenario("synthetic").schedule("seeded", 0).toolVersion("test").build();
        timeline = new Timeline(h, Symbols.NONE, null, List.of(), 3, 5, sink);
        sp(0, 1, 0x1000);                                                              // 0
        event(EventKind.INTERRUPT, 0, 10, 0x80, InterruptSource.SOFTWARE, 0);         // 1: a system call
        event(EventKind.IPI, 0, 11, 1, Apic.MODE_FIXED, 0xfb);                         // 2: before the window
        event(EventKind.INTERRUPT, 1, 3, 0xfb, InterruptSource.IPI, 0);                // 3: delivered inside it
        event(EventKind.IPI, 1, 4, 0, Apic.MODE_FIXED, 0xfd);                          // 4
        event(EventKind.INTERRUPT, 0, 12, 0xfd, InterruptSource.IPI, 0);               // 5
        event(EventKind.INTERRUPT, 0, 13, 0xef, InterruptSource.TIMER, 0);             // 6: past the window
        timeline.finish("test status");
        assertEquals(List.of(
            "track 0/0 cpu0",
            "track 0/1 cpu1",
            "B 0 @3 boot cpu0",
            "B 0 @3 int 0x80",
            "B 1 @3 boot cpu1",
            "B 1 @3 ipi 0xfb",
            "s 2 1 @4 ipi fixed 0xfd",
            "B 0 @5 ipi 0xfd",
            "f 2 0 @5 ipi fixed 0xfd",
            "E 0 @6",
            "E 0 @6",
            "E 0 @6",
            "E 1 @6",
            "E 1 @6",
            "finish 3..6 test status"), out);
    }
}
