package palimpsest.kernel;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.input.ChaosInput;
import palimpsest.kernel.scenarios.KernelScenario;
import palimpsest.kernel.scenarios.LegoWordCountPthreadScenario;
import palimpsest.trace.EventSink;

final class LegoVictimExploreTest
{
    static final class Counter implements EventSink
    {
        long waitPc = -1;
        long waits;
        long events;

        @Override
        public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr, final long paddr,
            final int size, final long value, final long oldValue)
        {
            events++;
            if (pc == waitPc)
            {
                waits++;
            }
        }

        @Override
        public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b, final long c)
        {
            events++;
        }

        @Override
        public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
            final byte[] payload, final int offset, final int length)
        {
        }
    }

    @Test
    void exploreVictims()
    {
        final String spec = System.getProperty("explorev", "");
        if (spec.isEmpty())
        {
            return;
        }
        final String[] p = spec.split(",");
        for (long seed = Long.parseLong(p[5]); seed <= Long.parseLong(p[6]); seed++)
        {
            final Verdict[] v = new Verdict[1];
            final LegoVictimFillTest.VictimSink s = LegoVictimFillTest.run(Map.of("words", p[0], "vocab", p[1], "pcache-kb", p[2],
                "pcache-ways", p[3], "threads", p[4]), p[7], seed, v);
            System.out.println("EXPLORE " + spec + " seed " + seed + ": " + v[0].kind + " waits " + s.waits + " misses " +
                s.misses + " whilePending " + s.missesWhilePending);
        }
    }

    @Test
    void explore()
    {
        final String spec = System.getProperty("explore", "");
        if (spec.isEmpty())
        {
            return;
        }
        // words,vocab,kb,ways,threads,seedFrom,seedTo,kernel
        final String[] p = spec.split(",");
        for (long seed = Long.parseLong(p[5]); seed <= Long.parseLong(p[6]); seed++)
        {
            final Counter sink = new Counter();
            final Machine m = new Machine(new MachineConfig(2, 4, 32), sink, new ChaosInput(seed));
            final KernelScenario s = new LegoWordCountPthreadScenario();
            s.load(m, new ScenarioContext(Map.of("words", p[0], "vocab", p[1], "pcache-kb", p[2], "pcache-ways", p[3], "threads", p[4]),
                p[7], List.of()));
            sink.waitPc = m.code().addressOf("victim_try_fill_pcache") + 0x30;
            final Outcome o = m.run(s.maxInstructions());
            final Verdict v = s.verdict(m, o);
            System.out.println("EXPLORE " + spec + " seed " + seed + ": " + v.kind + " waits " + sink.waits + " events " + sink.events);
        }
    }
}
