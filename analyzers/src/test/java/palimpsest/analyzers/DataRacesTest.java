package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.race.DataRaces;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.trace.EventKind;

class DataRacesTest
{
    static final long COUNTER = Layout.PAGE_OFFSET + 0x300010L;
    static final long LOCK = Layout.PAGE_OFFSET + 0x300040L;
    static final long DATA = Layout.PAGE_OFFSET + 0x300080L;
    static final long FLAG = Layout.PAGE_OFFSET + 0x3000c0L;
    static final long STACK = Layout.PAGE_OFFSET + 0x500000L;

    @TempDir
    Path dir;

    private static List<Finding> races(final Analysis.Result r)
    {
        return r.findings.stream().filter(f -> f.analyzer.equals(DataRaces.NAME)).collect(Collectors.toList());
    }

    private static List<String> reports(final Analysis.Result r)
    {
        return r.findings.stream().map(f -> f.event + " " + f.analyzer + " " + f.report).collect(Collectors.toList());
    }

    private static Analysis.Result withThreads(final String threads, final java.util.function.Supplier<Analysis.Result> run)
    {
        final String was = System.getProperty(Analysis.THREADS_PROPERTY);
        System.setProperty(Analysis.THREADS_PROPERTY, threads);
        try
        {
            return run.get();
        }
        finally
        {
            if (was == null)
            {
                System.clearProperty(Analysis.THREADS_PROPERTY);
            }
            else
            {
                System.setProperty(Analysis.THREADS_PROPERTY, was);
            }
        }
    }

    static void switchTo(final HandMade h, final int cpu, final long from, final long to)
    {
        h.event(EventKind.TASK_SWITCH, cpu, Kfn.pc("schedule", 0x20), from, to, 0);
    }

    static void increment(final HandMade h, final int cpu, final long value, final boolean locked)
    {
        if (locked)
        {
            h.mark(cpu, Kfn.pc("spin_lock", 8), Mark.LOCK_ACQUIRE, LOCK, 0);
        }
        h.load(cpu, Kfn.pc("counter_inc", 4), COUNTER, 8, value);
        h.store(cpu, Kfn.pc("counter_inc", 8), COUNTER, Layout.pa(COUNTER), 8, value + 1, value);
        if (locked)
        {
            h.mark(cpu, Kfn.pc("spin_unlock", 4), Mark.LOCK_RELEASE, LOCK, 0);
        }
    }

    @Test
    void aCounterUpdatedWithoutTheLockFromTwoTasksIsADataRaceWithBothStacksAndTheValueChange()
    {
        final Path t = dir.resolve("race");
        try (HandMade h = new HandMade(t))
        {
            switchTo(h, 0, 0, 10);
            switchTo(h, 1, 0, 11);
            h.frames(0, STACK, Kfn.pc("worker", 0x10));
            h.frames(1, STACK + 0x2000, Kfn.pc("worker", 0x20));
            increment(h, 0, 4, true);
            increment(h, 1, 5, false); // forgot the lock
        }
        final List<Finding> f = races(Kfn.analyze(t));
        assertEquals(1, f.size(), f::toString);
        final String rep = f.get(0).report;
        assertTrue(rep.startsWith("BUG: KCSAN: data-race in counter_inc / counter_inc\n"), rep);
        assertTrue(rep.contains("write to 0x" + Long.toHexString(COUNTER) + " of 8 bytes by task 10 on cpu 0"), rep);
        assertTrue(rep.contains(" counter_inc+0x8/0x100\n worker+0x10/0x100"), rep);
        assertTrue(rep.contains("by task 11 on cpu 1"), rep);
        assertTrue(rep.contains(" worker+0x20/0x100"), rep);
        assertTrue(rep.contains("value changed: 0x0000000000000005 -> 0x0000000000000006")
            || rep.contains("value changed: 0x0000000000000004 -> 0x0000000000000005"), rep);
    }

    @Test
    void lockedAtomicMarkedIpiOrderedAndSameTaskAccessesAreNotRaces()
    {
        final Path t = dir.resolve("clean");
        try (HandMade h = new HandMade(t))
        {
            switchTo(h, 0, 0, 10);
            switchTo(h, 1, 0, 11);
            // a lock-protected update from both tasks
            increment(h, 0, 0, true);
            increment(h, 1, 1, true);
            // a LOCK xadd counter, and atomic_read of it
            h.w.access(EventKind.RMW, 0, ++h.icount, Kfn.pc("counter_inc", 0x20), COUNTER + 8, Layout.pa(COUNTER + 8), 8, 1, 0);
            h.w.access(EventKind.RMW, 1, ++h.icount, Kfn.pc("counter_inc", 0x20), COUNTER + 8, Layout.pa(COUNTER + 8), 8, 2, 1);
            h.load(0, Kfn.pc("counter_inc", 0x24), COUNTER + 8, 8, 2);
            // data written, then an IPI; the handler reads it
            h.store(0, Kfn.pc("worker", 4), DATA, 8, 7);
            h.event(EventKind.IPI, 0, Kfn.pc("worker", 8), 1, 0, 0xfb);
            h.event(EventKind.INTERRUPT, 1, Kfn.pc("worker", 0x40), 0xfb, 0, 0);
            h.load(1, Kfn.pc("worker", 0x44), DATA, 8, 7);
            // a flag polled with READ_ONCE while the other side sets it plainly; __data_racy words
            h.store(0, Kfn.pc("worker", 0x50), FLAG, 8, 1);
            h.mark(1, Kfn.pc("worker", 0x54), Mark.ACCESS_ONCE, FLAG, 8).load(1, Kfn.pc("worker", 0x54), FLAG, 8, 1);
            h.mark(0, Kfn.pc("worker", 0x58), Mark.DATA_RACY, FLAG + 8, 8);
            h.store(0, Kfn.pc("worker", 0x5c), FLAG + 8, 8, 1).store(1, Kfn.pc("worker", 0x5c), FLAG + 8, 8, 2);
            // task 10 moves from cpu 0 to cpu 1 and keeps writing its data; task 11 then runs on cpu 0
            h.store(0, Kfn.pc("worker", 0x60), DATA + 16, 8, 1);
            switchTo(h, 0, 10, 11);
            switchTo(h, 1, 11, 10);
            h.store(1, Kfn.pc("worker", 0x64), DATA + 16, 8, 2);
            // the other half of a word is not the same bytes
            h.store(0, Kfn.pc("worker", 0x68), DATA + 24, Layout.pa(DATA + 24), 4, 1, 0);
            h.store(1, Kfn.pc("worker", 0x6c), DATA + 28, Layout.pa(DATA + 28), 4, 1, 0);
            // user memory is not watched
            h.w.access(EventKind.STORE, 0, ++h.icount, Kfn.pc("user_main", 4), 0x410070, 0x7fec070, 4, 0, 3);
            h.w.access(EventKind.LOAD, 1, ++h.icount, Kfn.pc("user_main", 4), 0x410070, 0x7fec070, 4, 0, 0);
        }
        final List<Finding> f = races(Kfn.analyze(t));
        assertEquals(0, f.size(), f::toString);
    }

    @Test
    void aSwitchOnOneCpuOrdersTheOutgoingTaskBeforeTheIncomingButNotOtherCpus()
    {
        final Path t = dir.resolve("switch");
        try (HandMade h = new HandMade(t))
        {
            switchTo(h, 0, 0, 10);
            switchTo(h, 1, 0, 12);
            h.store(0, Kfn.pc("worker", 4), DATA, 8, 1);
            switchTo(h, 0, 10, 11);
            h.store(0, Kfn.pc("worker", 8), DATA, 8, 2); // task 11 after 10 on cpu 0: ordered
            h.load(1, Kfn.pc("list_add", 8), DATA, 8, 2); // task 12 on cpu 1: not
        }
        final List<Finding> f = races(Kfn.analyze(t));
        assertEquals(1, f.size(), f::toString);
        assertTrue(f.get(0).report.startsWith("BUG: KCSAN: data-race in worker / list_add"), f.get(0).report);
    }

    @Test
    void mremapWithoutMmapSemRacesWithFindVmaInARunThatEndsGood()
    {
        final Analysis.Result bad = Kfn.recordAndAnalyze(dir.resolve("bad"), "word-count", Long.MAX_VALUE, Map.of(), "-mremap-lock");
        assertEquals(palimpsest.emulator.Verdict.Kind.GOOD, Kfn.lastVerdict.kind, Kfn.lastVerdict.message);
        final List<Finding> f = races(bad);
        assertTrue(f.stream().anyMatch(x -> x.report.startsWith("BUG: KCSAN: data-race in insert_vm_struct / find_vma")),
            f::toString);
        assertTrue(f.stream().allMatch(x -> x.report.contains("vm_area_struct")), f::toString);
        // kcsan runs on the decode thread when the pass splits: every finding and the verdict are the same on one thread.
        final Path trace = dir.resolve("bad");
        final palimpsest.trace.TraceHeader h;
        try (palimpsest.trace.TraceReader r = palimpsest.trace.TraceReader.open(trace))
        {
            h = r.header();
        }
        final Analysis.Result split = withThreads("2", () -> Analysis.run(trace, Symbols.of(h, ScenarioCatalog.load()), null));
        final Analysis.Result one = withThreads("1", () -> Analysis.run(trace, Symbols.of(h, ScenarioCatalog.load()), null));
        assertEquals(2, split.threads);
        assertEquals(1, one.threads);
        assertEquals(reports(one), reports(split));
        assertEquals(reports(bad), reports(split));
        assertEquals(one.verdict, split.verdict);
        final List<Finding> good = races(Kfn.recordAndAnalyze(dir.resolve("good"), "word-count", Long.MAX_VALUE, Map.of()));
        assertEquals(0, good.size(), good::toString);
    }
}
