package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.wire.DocumentContext;
import palimpsest.cli.PalRunner.Result;
import palimpsest.emulator.CpuCore;
import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Paging;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.input.SeededInput;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.ReplayInput;
import palimpsest.trace.Event;
import palimpsest.trace.EventSink;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceWriter;

/** `pal state` against a re-execution of the same trace stopped after the same number of events. */
class StateCommandTest
{
    @TempDir
    Path tmp;

    private static final Pattern CPU = Pattern.compile(
        "cpu(\\d+)  pc ([0-9a-f]{16}) \\S+  icount (\\d+)  fiber (\\S+)\\n" +
        "      sp ([0-9a-f]{16})  fp ([0-9a-f]{16})  flags ([0-9a-f]+)(?: \\(IF\\))?  cr3 ([0-9a-f]+)  cr2 ([0-9a-f]+)  cpl (\\d)\\n" +
        "((?:      #.*\\n)*)");
    private static final Pattern FRAME = Pattern.compile("      #\\d+ +([0-9a-f]{16}) (\\S+)");
    private static final Pattern HEX = Pattern.compile("  ([0-9a-f]{16}) ((?: [0-9a-f]{2})+)");

    private static long events(final Path trace)
    {
        long n = 0;
        try (TraceReader r = TraceReader.open(trace))
        {
            final Event e = new Event();
            while (r.next(e))
            {
                n++;
            }
        }
        return n;
    }

    private static long hex(final String s)
    {
        return Long.parseUnsignedLong(s, 16);
    }

    @Test
    void registersBacktracesAndMemoryMatchAReExecution()
    {
        final Path trace = tmp.resolve("wc");
        final Result rec = pal("record", "--scenario", "word-count", "--schedule", "free", "-o", trace.toString(),
            "--keyframe-every", "25000");
        assertEquals(0, rec.rc(), rec.toString());
        final long total = events(trace);
        for (final long n : new long[] {total * 2 / 3, total * 4 / 5 + 7})
        {
            final Result r = pal("state", trace.toString(), "--at", String.valueOf(n));
            assertEquals(0, r.rc(), r.toString());
            assertTrue(r.out().contains("at event " + n + " (after events 0.." + (n - 1) + "; from keyframe " + n / 25000 + ")"), r.out());
            final Machine m = stoppedAfter(trace, n);
            final Matcher c = CPU.matcher(r.out());
            int cpus = 0;
            int spCpu = -1;
            while (c.find())
            {
                final int id = Integer.parseInt(c.group(1));
                final CpuCore core = m.core(id);
                final String where = "cpu" + id + " at " + n + ":\n" + r.out();
                assertEquals(core.pc(), hex(c.group(2)), where);
                assertEquals(core.icount(), Long.parseLong(c.group(3)), where);
                assertEquals(core.currentFiber() == null ? "-" : String.valueOf(core.currentFiber().id()), c.group(4), where);
                assertEquals(core.sp(), hex(c.group(5)), where);
                assertEquals(core.fp(), hex(c.group(6)), where);
                assertEquals(core.flags(), hex(c.group(7)), where);
                assertEquals(core.cr3(), hex(c.group(8)), where);
                assertEquals(core.cr2(), hex(c.group(9)), where);
                assertEquals(core.cpl(), Integer.parseInt(c.group(10)), where);
                final List<Long> frames = new ArrayList<>();
                final Matcher f = FRAME.matcher(c.group(11));
                while (f.find())
                {
                    frames.add(hex(f.group(1)));
                }
                assertEquals(expectedBacktrace(m, core), frames, where);
                if (core.cr3() != 0 && spCpu < 0)
                {
                    spCpu = id;
                }
                cpus++;
            }
            assertEquals(m.cpuCount(), cpus, r.out());
            assertTrue(spCpu >= 0, "some cpu has paging on");
            assertTrue(r.out().matches("(?s).*#0 +[0-9a-f]{16} [a-z_:0-9]+\\+0x[0-9a-f]+/0x[0-9a-f]+.*"),
                "symbolized frames:\n" + r.out());

            // Virtual memory through that cpu's page tables: its page directory, in the kernel's direct map.
            final long va0 = palimpsest.kernel.Layout.PAGE_OFFSET + (m.core(spCpu).cr3() & Paging.ADDR_MASK) + 0x7f0;
            final Result v = pal("state", trace.toString(), "--at", String.valueOf(n), "--cpu", String.valueOf(spCpu),
                "--mem", "0x" + Long.toHexString(va0) + ":80");
            assertEquals(0, v.rc(), v.toString());
            final CpuCore core = m.core(spCpu);
            final PhysicalMemory mem = m.memory(core.node);
            int bytes = 0;
            final Matcher h = HEX.matcher(v.out());
            while (h.find())
            {
                long va = hex(h.group(1));
                for (final String b : h.group(2).trim().split(" "))
                {
                    assertEquals(mem.read(walk(mem, core.cr3(), va), 1), Integer.parseInt(b, 16), "byte at " + Long.toHexString(va));
                    va++;
                    bytes++;
                }
            }
            assertEquals(80, bytes, v.out());

            // Physical memory: the page directory itself.
            final Result p = pal("state", trace.toString(), "--at", String.valueOf(n), "--phys", "--mem",
                "0x" + Long.toHexString(core.cr3() & Paging.ADDR_MASK) + ":4096");
            assertEquals(0, p.rc(), p.toString());
            final Matcher ph = HEX.matcher(p.out());
            bytes = 0;
            while (ph.find())
            {
                long pa = hex(ph.group(1));
                for (final String b : ph.group(2).trim().split(" "))
                {
                    assertEquals(mem.read(pa++, 1), Integer.parseInt(b, 16));
                    bytes++;
                }
            }
            assertEquals(4096, bytes);
        }

        // Bad input on a good trace: one line, exit 2.
        assertTrue(bad("state", trace.toString(), "--at", String.valueOf(total + 1)).err()
            .contains("beyond the end of the trace: it has " + total + " events"));
        assertTrue(bad("state", trace.toString(), "--at", "10", "--mem", "zz:8").err().contains("not a hex address"));
        assertTrue(bad("state", trace.toString(), "--at", "10", "--mem", "0x1000").err().contains("ADDR:LEN"));
        assertTrue(bad("state", trace.toString(), "--at", String.valueOf(total / 2), "--mem", "0x700000000000:8").err()
            .contains("not mapped"));
        assertTrue(bad("state", trace.toString(), "--at", "10", "--cpu", "99").err().contains("--cpu 99"));
    }

    private static Result bad(final String... args)
    {
        final Result r = pal(args);
        assertEquals(2, r.rc(), String.join(" ", args) + "\n" + r);
        BadInputTest.assertOneLine(r);
        return r;
    }

    private static long walk(final PhysicalMemory mem, final long cr3, final long va)
    {
        long table = cr3 & Paging.ADDR_MASK;
        for (int level = 4; level >= 1; level--)
        {
            final long e = mem.read(table + Paging.index(va, level) * 8L, 8);
            assertTrue((e & Paging.P) != 0, "mapped " + Long.toHexString(va));
            table = e & Paging.ADDR_MASK;
        }
        return table | (va & Paging.PAGE_MASK);
    }

    private static List<Long> expectedBacktrace(final Machine m, final CpuCore core)
    {
        final List<Long> frames = new ArrayList<>();
        frames.add(core.pc());
        final PhysicalMemory mem = m.memory(core.node);
        long fp = core.fp();
        while (frames.size() < 16 && fp != 0)
        {
            final long next;
            final long ra;
            if (core.cr3() == 0)
            {
                next = mem.read(fp, 8);
                ra = mem.read(fp + 8, 8);
            }
            else
            {
                try
                {
                    next = mem.read(walkOrThrow(mem, core.cr3(), fp), 8);
                    ra = mem.read(walkOrThrow(mem, core.cr3(), fp + 8), 8);
                }
                catch (final IllegalStateException unmapped)
                {
                    break;
                }
            }
            if (ra == 0)
            {
                break;
            }
            frames.add(ra);
            if (next != 0 && Long.compareUnsigned(next, fp) <= 0)
            {
                break;
            }
            fp = next;
        }
        return frames;
    }

    private static long walkOrThrow(final PhysicalMemory mem, final long cr3, final long va)
    {
        long table = cr3 & Paging.ADDR_MASK;
        for (int level = 4; level >= 1; level--)
        {
            final long e = mem.read(table + Paging.index(va, level) * 8L, 8);
            if ((e & Paging.P) == 0)
            {
                throw new IllegalStateException("unmapped");
            }
            table = e & Paging.ADDR_MASK;
        }
        return table | (va & Paging.PAGE_MASK);
    }

    /** Re-executes the trace from its recorded inputs, stopping the machine the moment event n-1 is emitted. */
    static Machine stoppedAfter(final Path trace, final long n)
    {
        final ScenarioCatalog catalog = ScenarioCatalog.load();
        try (TraceReader inputs = TraceReader.open(trace))
        {
            final TraceHeader h = inputs.header();
            final Scenario scenario = catalog.find(h.scenario());
            final Machine[] holder = new Machine[1];
            final long[] count = new long[1];
            final Runnable counted = () ->
            {
                if (++count[0] == n)
                {
                    holder[0].stop(new Outcome(Outcome.Kind.POWEROFF, 0, "stopped", null));
                }
            };
            final EventSink stopper = new EventSink()
            {
                @Override
                public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
                    final long paddr, final int size, final long value, final long oldValue)
                {
                    counted.run();
                }

                @Override
                public void event(final int kind, final int cpu, final long icount, final long pc, final long a,
                    final long b, final long c)
                {
                    counted.run();
                }

                @Override
                public void net(final int kind, final int device, final long vtime, final long peerNode,
                    final long frameId, final byte[] payload, final int offset, final int length)
                {
                    counted.run();
                }
            };
            final Machine m = new Machine(ScenarioCatalog.configOf(h), stopper, new ReplayInput(inputs, new SeededInput(h.seed())));
            holder[0] = m;
            scenario.load(m, ScenarioCatalog.contextOf(h));
            m.run(scenario.maxInstructions());
            return m;
        }
    }

    // ------------------------------------------------------------------ bad traces

    private Path headerOnly(final String name, final TraceHeader h)
    {
        final Path dir = tmp.resolve(name);
        try (TraceWriter w = TraceWriter.create(dir, h))
        {
            // a trace with no events
        }
        return dir;
    }

    @Test
    void badTracesAreOneLineExitTwoForReplayAndState() throws Exception
    {
        final TraceHeader good = TraceHeader.builder().machine(1, 4, 128).scenario("word-count").schedule("seeded", 1)
            .kernel("", List.of()).build();
        final Path noKernel = headerOnly("nokernel", good);
        for (final String verb : new String[] {"replay", "state"})
        {
            final String[] extra = "state".equals(verb) ? new String[] {"--at", "0"} : new String[0];
            assertTrue(bad(args(verb, noKernel, extra)).err().contains("names no kernel version"), verb);
        }
        final Path unknown = headerOnly("unknown", TraceHeader.builder().machine(1, 2, 16).scenario("no-such-scenario")
            .schedule("seeded", 1).build());
        for (final String verb : new String[] {"replay", "state"})
        {
            final String[] extra = "state".equals(verb) ? new String[] {"--at", "0"} : new String[0];
            final Result r = bad(args(verb, unknown, extra));
            assertTrue(r.err().contains("no-such-scenario") && r.err().contains("ipi-pingpong"), r.err());
        }

        // A header from a newer format version.
        final Path newer = tmp.resolve("newer");
        final byte[] h = TraceHeader.builder().machine(1, 2, 16).scenario("ipi-pingpong").schedule("seeded", 1).build().encode();
        h[8] = (byte)(palimpsest.trace.TraceFormat.VERSION + 1);
        h[9] = 0;
        try (ChronicleQueue q = ChronicleQueue.singleBuilder(newer).build();
            DocumentContext dc = q.createAppender().writingDocument())
        {
            dc.wire().bytes().write(h);
        }
        for (final String verb : new String[] {"replay", "state"})
        {
            final String[] extra = "state".equals(verb) ? new String[] {"--at", "0"} : new String[0];
            assertEquals("pal: " + newer + " was written by trace format v" + (palimpsest.trace.TraceFormat.VERSION + 1) +
                ", this pal reads up to v" + palimpsest.trace.TraceFormat.VERSION + "; upgrade pal",
                bad(args(verb, newer, extra)).err().strip());
        }

        // A trace of the previous format (its header intact): one line naming the last pal that reads it.
        final Path older = tmp.resolve("older");
        final byte[] o = TraceHeader.builder().machine(1, 2, 16).scenario("ipi-pingpong").schedule("seeded", 1).build().encode();
        o[8] = 2;
        o[9] = 0;
        final long d = palimpsest.trace.Hash64.hash(o, 0, o.length - 8, 0x50414C48454144L);
        for (int i = 0; i < 8; i++)
        {
            o[o.length - 8 + i] = (byte)(d >>> (8 * i));
        }
        try (ChronicleQueue q = ChronicleQueue.singleBuilder(older).build();
            DocumentContext dc = q.createAppender().writingDocument())
        {
            dc.wire().bytes().write(o);
        }
        for (final String verb : new String[] {"replay", "state", "dump"})
        {
            final String[] extra = "state".equals(verb) ? new String[] {"--at", "0"} : new String[0];
            assertEquals("pal: trace recorded by format 2: re-record it or use pal 35de8b3 (git commit, the last that reads it); "
                + "trace " + older, bad(args(verb, older, extra)).err().strip());
        }
    }

    @Test
    void aTruncatedTraceAnswersUpToItsLastWholeChunk()
    {
        final Path full = tmp.resolve("full");
        assertEquals(0, pal("record", "--scenario", "ipi-pingpong", "-o", full.toString()).rc());
        final Path cut = tmp.resolve("cut");
        long copied = 0;
        final TraceWriter w;
        try (TraceReader r = TraceReader.open(full))
        {
            w = TraceWriter.create(cut, r.header());
            final Event e = new Event();
            final long total = events(full);
            while (copied < total / 2 && r.next(e))
            {
                e.writeTo(w);
                copied++;
            }
            w.flush();
        }
        // Never closed: no end record, as when the recorder is killed.
        final long whole = events(cut);
        assertTrue(whole > 0 && whole <= copied, whole + " of " + copied);
        final Result ok = pal("state", cut.toString(), "--at", String.valueOf(whole));
        // The state is exact (events 0..whole-1 are all there), but the trace is not whole: never exit 0.
        assertEquals(2, ok.rc(), ok.toString());
        assertTrue(ok.out().startsWith("state of ") && ok.out().contains("-- this answer covers only events 0.." + (whole - 1)),
            ok.toString());
        assertTrue(ok.err().contains("keyframes rebuilt"), "no keyframes: rebuilt and said so\n" + ok);
        final Result r = bad("state", cut.toString(), "--at", String.valueOf(whole + 1));
        assertTrue(r.err().contains("truncated") && r.err().contains(whole + " events in whole chunks"), r.err());
        final Result rr = bad("replay", cut.toString());
        assertTrue(rr.err().contains("ends early"), rr.err());
        w.close();
    }

    private static String[] args(final String verb, final Path trace, final String... extra)
    {
        final String[] a = new String[2 + extra.length];
        a[0] = verb;
        a[1] = trace.toString();
        System.arraycopy(extra, 0, a, 2, extra.length);
        return a;
    }
}
