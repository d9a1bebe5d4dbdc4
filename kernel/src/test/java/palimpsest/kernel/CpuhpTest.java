package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import palimpsest.emulator.Machine;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.emulator.Verdict;
import palimpsest.kernel.scenarios.WordCountScenario;
import palimpsest.kernel.sched.PerCpu;

/**
 * The hotplug callbacks each cpu runs as it comes up matter to a workload: with one of them taken out
 * of the state table (its startup pointer cleared in emulated memory before boot), word-count's dead
 * threads are never freed and the verdict says which cpu sat on queued work; and kernel_init's
 * set_cpus_allowed_ptr is what lets the workload leave cpu 0.
 */
class CpuhpTest
{
    /** Clears the startup callback of the named state in the cpuhp table the boot loader wrote. */
    static void withoutStartup(final Machine m, final String state)
    {
        final PhysicalMemory mem = m.memory(0);
        final long count = mem.read64(Globals.phys(Globals.CPUHP_COUNT));
        for (int i = 0; i < count; i++)
        {
            final long e = Globals.phys(Globals.CPUHP_STATES) + (long)i * Globals.CPUHP_STEP_SIZE;
            final StringBuilder name = new StringBuilder();
            for (int j = 0; j < 24 && mem.read8(e + j) != 0; j++)
            {
                name.append((char)mem.read8(e + j));
            }
            if (name.toString().equals(state))
            {
                mem.write64(e + Globals.CPUHP_STARTUP, 0);
                return;
            }
        }
        throw new AssertionError("no cpuhp state " + state);
    }

    @ParameterizedTest
    @CsvSource({
        "threads:prepare, was never created",
        "smpboot:threads, never ran",
        "workqueue:online, never ran",
        "workqueue:prepare, has no worker pool"})
    void aCpuWithoutItsPerCpuWorkerFailsTheWorkload(final String state, final String why)
    {
        // A seed on which a thread dies on the cpu that lost its worker (its kworker must free it):
        // which seeds do moves with the kernel's timing (seed 3 stopped being one when exec grew a
        // 128-byte header read and copy_strings); 8, 9 and 10 show all four.
        final Runs r = Runs.run(new WordCountScenario(), 8, null, Map.of(), "", List.of(), m -> withoutStartup(m, state));
        assertEquals(Verdict.Kind.BAD, r.verdict.kind, r.verdict::toString);
        assertTrue(r.verdict.message.contains(why), r.verdict::toString);
        assertTrue(r.console().contains("word_count: 3000 words"), "the workload itself ran: " + r.console());
    }

    @Test
    void everyStateInPlaceFreesEveryDeadThread()
    {
        final Runs r = Runs.run(new WordCountScenario(), 3);
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.verdict::toString);
        final KernelInspector mem = new KernelInspector(r.machine.memory(0));
        for (int c = 0; c < 4; c++)
        {
            final long pcpu = mem.global(Globals.PER_CPU_OFFSET + c * 8L);
            assertTrue(mem.read64(pcpu + PerCpu.KWORKER) != 0, "kworker/" + c);
            assertEquals(0, mem.read64(pcpu + PerCpu.WQ_LOST), "cpu " + c);
            assertEquals(PerCpu.POOL_ONLINE, mem.read64(pcpu + PerCpu.WQ_FLAGS), "cpu " + c);
        }
    }

    @Test
    void withoutInitCpusAllowedEveryTaskStaysOnTheBootCpu()
    {
        final long[] clean = switchesOnSecondaries(Runs.run(new WordCountScenario(), 3));
        final long[] bound = switchesOnSecondaries(Runs.run(new WordCountScenario(), 3, null, Map.of(), "",
            List.of("-init-cpus-allowed"), null));
        for (int c = 1; c < 4; c++)
        {
            assertTrue(clean[c] > 0, "cpu " + c + " ran word_count threads");
            // kworker/N is bound to N and runs there; nothing else does.
            assertTrue(bound[c] < clean[c], "cpu " + c + ": " + bound[c] + " vs " + clean[c]);
        }
    }

    private static long[] switchesOnSecondaries(final Runs r)
    {
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.verdict::toString);
        final KernelInspector mem = new KernelInspector(r.machine.memory(0));
        final long[] out = new long[4];
        for (int c = 0; c < 4; c++)
        {
            out[c] = mem.read64(mem.global(Globals.PER_CPU_OFFSET + c * 8L) + PerCpu.NR_SWITCHES);
        }
        return out;
    }
}
