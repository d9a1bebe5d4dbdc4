package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.input.ChaosInput;
import palimpsest.emulator.input.InputSource;
import palimpsest.emulator.input.SeededInput;
import palimpsest.kernel.scenarios.LegoWordCountScenario;
import palimpsest.kernel.scenarios.WordCountScenario;
import palimpsest.trace.EventSink;

/** LegoOS on two nodes: word count through the pcache, checksums, evictions, drops and retransmissions. */
final class LegoTest
{
    private static final Pattern STATS = Pattern.compile(
        "ibapi: (\\d+) sent, (\\d+) received, (\\d+) retransmits, (\\d+) duplicates; pcache: (\\d+) fills, (\\d+) evictions, " +
        "(\\d+) writebacks, (\\d+) victim hits");

    private record Run(Machine machine, Outcome outcome, Verdict verdict)
    {
        String p()
        {
            return machine.console(0).text();
        }

        String m()
        {
            return machine.console(1).text();
        }

        long stat(final int group)
        {
            final Matcher mt = STATS.matcher(p());
            assertTrue(mt.find(), "no ibapi/pcache statistics line:\n" + p());
            return Long.parseLong(mt.group(group));
        }
    }

    private static Run run(final InputSource input, final Map<String, String> args)
    {
        final LegoWordCountScenario s = new LegoWordCountScenario();
        final Machine m = new Machine(s.defaultConfig(), EventSink.NULL, input);
        s.load(m, new ScenarioContext(args, "", java.util.List.of()));
        final Outcome o = m.run(s.maxInstructions());
        return new Run(m, o, s.verdict(m, o));
    }

    @Test
    void wordCountRunsOnTheProcessorWithItsMemoryOnTheMemoryNode()
    {
        final Run r = run(new SeededInput(3), Map.of());
        assertTrue(r.verdict().kind == Verdict.Kind.GOOD, r.verdict() + "\n" + r.p() + "\n" + r.m());
        assertEquals(Outcome.Kind.POWEROFF, r.outcome().kind);
        assertTrue(r.machine().poweredOff(0) && r.machine().poweredOff(1));
        assertTrue(r.m().contains("Memory-component manager is up and running."));
        assertTrue(r.m().contains("handle_p2m_execve(): pid:1,argc:2,envc:2,file:/bin/word_count"));
        assertTrue(r.m().contains("    argc[1] (len: 15):  /data/words.txt"));
        assertTrue(r.m().contains("__bprm_mm_init vma: "));
        assertTrue(r.p().contains("LegoOS: node 0 is a processor component"));
        // The data file is only on the memory node; the processor's initrd is empty.
        assertTrue(r.p().contains("Unpacking initramfs... 0 files"), r.p());
        assertTrue(r.stat(5) > 5, "pages came through the pcache");
        assertTrue(r.stat(1) > r.stat(5), "every fill is a message");
    }

    @Test
    void aSmallPcacheEvictsThroughTheVictimCacheAndEveryChecksumPasses()
    {
        final Run r = run(new SeededInput(5), Map.of("pcache-kb", "32", "pcache-ways", "4", "page-csum", "1"));
        assertTrue(r.verdict().kind == Verdict.Kind.GOOD, r.verdict() + "\n" + r.p());
        assertTrue(r.stat(6) > 0, "evictions");
        assertTrue(r.stat(7) > 0, "dirty lines written back by kvictim_flushd");
        assertTrue(r.p().contains(", 0 checksum errors"), r.p());
        assertTrue(Pattern.compile("__pcache_do_fill_page\\(\\): O pid:\\d+ tgid:1 address:0x[0-9a-f]+ flags:0x5[01] ret:0\\(OKAY\\) csum:0x[0-9a-f]+")
            .matcher(r.p()).find(), r.p());
        assertTrue(!r.p().contains("EBADMSG"));
    }

    @Test
    void fabricDropsAreRetransmittedAndDuplicatesSuppressed()
    {
        long retransmits = 0;
        for (final long seed : new long[] {1, 5})
        {
            final Run r = run(new ChaosInput(seed), Map.of("pcache-kb", "32", "pcache-ways", "4"));
            assertTrue(r.verdict().kind == Verdict.Kind.GOOD, "chaos seed " + seed + ": " + r.verdict() + "\n" + r.p() + "\n" + r.m());
            retransmits += r.stat(3);
        }
        assertTrue(retransmits > 0, "chaos drops frames: some requests must have been sent again");
    }

    @Test
    void forkAndExecGoThroughTheMemoryNode()
    {
        final palimpsest.kernel.scenarios.LegoExecScenario s = new palimpsest.kernel.scenarios.LegoExecScenario();
        final Machine m = new Machine(s.defaultConfig(), EventSink.NULL, new SeededInput(2));
        s.load(m, ScenarioContext.empty());
        final Outcome o = m.run(s.maxInstructions());
        final Verdict v = s.verdict(m, o);
        final String p = m.console(0).text();
        final String mc = m.console(1).text();
        assertEquals(Verdict.Kind.GOOD, v.kind, v + "\n" + p + "\n" + mc);
        final Matcher fork = Pattern.compile("handle_p2m_fork\\(\\): nid:0,pid:(\\d+),tgid:\\1,parent_tgid:1").matcher(mc);
        assertTrue(fork.find(), mc);
        final String child = fork.group(1);
        assertTrue(mc.contains("handle_p2m_fork(): reply: 0:OKAY"), mc);
        assertTrue(mc.contains("handle_p2m_execve(): pid:" + child + ",argc:3,envc:3,file:/bin/echo_args"), mc);
        assertTrue(mc.contains("    envc[2] (len:  6):  LEGO=1"), mc);
        // The child inherited what the parent wrote before fork: its dirty line went home first.
        assertTrue(p.contains("lego-exec: child exited 0, parent data intact (pid " + child + ")"), p);
        assertTrue(p.contains("1 writebacks"), p);
        // mprotect: read-only then writable again, through the memory node's vma and the pcache's ptes.
        assertTrue(Pattern.compile("SYSC_mprotect\\(\\) cpu\\(\\d\\) tsk\\(" + child + "/" + child + "/echo_args\\)\n.*    start:0x[0-9a-f]+,len:0x1000,prot:0x1")
            .matcher(p).find(), p);
        assertTrue(p.contains("echo_args: mprotect ok"), p);
        assertTrue(p.contains("echo_args: brk ok"), p);
    }

    @Test
    void singleNodeScenariosRefuseSeveralNodes()
    {
        final WordCountScenario s = new WordCountScenario();
        final Machine m = new Machine(new MachineConfig(2, 2, 32), EventSink.NULL, new SeededInput(1));
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.load(m, ScenarioContext.empty()));
        assertTrue(e.getMessage().contains("lego"), e.getMessage());
    }
}
