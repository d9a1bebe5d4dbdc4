package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.CodeMap;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.input.ChaosInput;
import palimpsest.kernel.mm.MmStruct;
import palimpsest.kernel.scenarios.KernelScenario;
import palimpsest.kernel.scenarios.LegoWordCountPthreadScenario;
import palimpsest.trace.EventKind;
import palimpsest.trace.EventSink;

/**
 * M's handle_p2m_pcache_miss looks the vma up under the mm's mmap_sem: another mc-manager
 * thread's mremap, mmap or mprotect of the same process relinks the vma list meanwhile (kcsan's
 * insert_vm_struct / find_vma on long fixed chaos runs). Checked in the events: every vma-list
 * walk a pcache miss makes on the memory node starts with mm->mmap loaded while that cpu holds
 * mm's lock.
 */
final class LegoMissLockTest
{
    /** Per cpu: the locks held (LOCK_ACQUIRE/RELEASE marks) and whether it is serving a pcache miss. */
    private static final class LocksetSink implements EventSink
    {
        private final long missStart;
        private final long missEnd;
        private final long findVma;
        private final long dispatchStart;
        private final long dispatchEnd;
        private final List<List<Long>> held = new ArrayList<>();
        private final boolean[] inMiss = new boolean[64];
        int walks;
        int unlocked;
        String firstUnlocked;

        LocksetSink(final CodeMap code)
        {
            missStart = code.addressOf("handle_p2m_pcache_miss");
            missEnd = missStart + 0x180;
            findVma = code.addressOf("find_vma");
            dispatchStart = code.addressOf("mc_dispatch");
            dispatchEnd = dispatchStart + 0x100;
            for (int i = 0; i < 64; i++)
            {
                held.add(new ArrayList<>());
            }
        }

        private void where(final int cpu, final long pc)
        {
            if (pc >= missStart && pc < missEnd)
            {
                inMiss[cpu] = true;
            }
            else if (pc >= dispatchStart && pc < dispatchEnd)
            {
                inMiss[cpu] = false;
            }
        }

        @Override
        public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr, final long paddr,
            final int size, final long value, final long oldValue)
        {
            where(cpu, pc);
            // find_vma's first load (after its prologue) is mm->mmap: the walk's start.
            if (kind == EventKind.LOAD && inMiss[cpu] && pc == findVma + 4)
            {
                walks++;
                final long lock = vaddr - MmStruct.MMAP + MmStruct.SEM;
                if (!held.get(cpu).contains(lock))
                {
                    unlocked++;
                    if (firstUnlocked == null)
                    {
                        firstUnlocked = "cpu" + cpu + " icount " + icount + " walked mm " + Long.toHexString(vaddr - MmStruct.MMAP) +
                            "'s vmas holding " + held.get(cpu);
                    }
                }
            }
        }

        @Override
        public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b, final long c)
        {
            where(cpu, pc);
            if (kind == EventKind.MARK && a == Mark.LOCK_ACQUIRE)
            {
                held.get(cpu).add(b);
            }
            else if (kind == EventKind.MARK && a == Mark.LOCK_RELEASE)
            {
                held.get(cpu).remove(b);
            }
        }

        @Override
        public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
            final byte[] payload, final int offset, final int length)
        {
        }
    }

    @Test
    void everyVmaWalkOfAPcacheMissOnTheMemoryNodeHoldsTheMmsLock()
    {
        final DeferredSink sink = new DeferredSink();
        final Machine m = new Machine(new MachineConfig(2, 4, 32), sink, new ChaosInput(3));
        final KernelScenario s = new LegoWordCountPthreadScenario();
        s.load(m, new ScenarioContext(Map.of("words", "1500", "vocab", "400"), "lego-2018-02-06", List.of()));
        final LocksetSink locks = new LocksetSink(m.code());
        sink.to = locks;
        final Outcome o = m.run(s.maxInstructions());
        final Verdict v = s.verdict(m, o);
        assertEquals(Verdict.Kind.GOOD, v.kind, v + "\n" + m.console(0).text());
        // Four threads fault their text, keys and buffers in: many misses, on several managers.
        assertTrue(locks.walks > 20, "vma walks of pcache misses: " + locks.walks);
        assertEquals(0, locks.unlocked, locks.firstUnlocked);
    }
}
