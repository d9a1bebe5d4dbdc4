package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import palimpsest.kernel.sched.PerCpu;
import palimpsest.kernel.user.Syscalls;

class SchedTest
{
    private static final int THREADS = 6;
    private static final int ROUNDS = 40;

    @Test
    void kernelThreadsRunRoundRobinOnEveryCpuAndExit()
    {
        final Fn[] worker = new Fn[1];
        final long[] result = new long[3];
        final KUnit u = KUnit.run((cpu, k) ->
        {
            final long slots = k.slab.kzalloc(cpu, 16L * THREADS);
            for (int i = 0; i < THREADS; i++)
            {
                k.sched.kernelThread(cpu, "kworker/" + i, worker[0].addr, slots + 16L * i, false);
            }
            long done = 0;
            long spins = 0;
            while (done < THREADS)
            {
                k.sched.schedule(cpu);
                done = 0;
                for (int i = 0; i < THREADS; i++)
                {
                    done += cpu.load64(slots + 16L * i) == ROUNDS ? 1 : 0;
                }
                assertTrue(++spins < 1_000_000, "workers did not finish");
            }
            long cpus = 0;
            long switches = 0;
            for (int i = 0; i < THREADS; i++)
            {
                cpus |= cpu.load64(slots + 16L * i + 8);
            }
            for (int c = 0; c < 4; c++)
            {
                switches += cpu.load64(k.perCpu(cpu, c) + PerCpu.NR_SWITCHES);
            }
            result[0] = cpus;
            result[1] = switches;
        }, List.of(), c -> c.builders.add(k ->
        {
            final Fn[] self = new Fn[1];
            self[0] = k.text.fn("kunit_sched_worker", 0x80, cpu ->
            {
                self[0].prologue(cpu);
                final long slot = cpu.reg(Syscalls.RDI);
                for (int r = 0; r < ROUNDS; r++)
                {
                    cpu.store64(slot, cpu.load64(slot) + 1);
                    cpu.store64(slot + 8, cpu.load64(slot + 8) | 1L << cpu.id());
                    k.sched.schedule(cpu);
                }
                self[0].leave(cpu);
            });
            worker[0] = self[0];
        }));
        assertTrue(u.outcome.clean(), u.outcome + u.console());
        assertTrue(Long.bitCount(result[0]) >= 3, "workers ran on several cpus: " + Long.toBinaryString(result[0]));
        assertTrue(result[1] > THREADS * 2, "context switches happened: " + result[1]);
        assertEquals(0, 0);
    }
}
