package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.input.SeededInput;
import palimpsest.kernel.arch.Hotplug;
import palimpsest.kernel.patches.Patches;
import palimpsest.kernel.scenarios.KernelScenario;
import palimpsest.kernel.scenarios.WordCountScenario;
import palimpsest.kernel.sched.Task;
import palimpsest.kernel.user.Syscalls;
import palimpsest.trace.EventKind;

/** CPU hotplug (cpu_down / cpu_up with task migration) and suspend/resume. */
class HotplugTest
{
    private static final int WORKERS = 6;
    private static final int ROUNDS = 2000;
    /** Worker slot: { rounds done, cpus ran on (mask), ran on cpu 1 while it was down } */
    private static final int SLOT = 24;

    /** Marks in order, the event hash, and user-mode accesses seen between SUSPEND and RESUME. */
    static final class Watch extends palimpsest.emulator.HashingSink
    {
        final List<long[]> marks = new ArrayList<>();
        boolean suspended;
        long userWhileSuspended;
        long userTotal;

        @Override
        public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr, final long paddr,
            final int size, final long value, final long oldValue)
        {
            super.access(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
            // User programs' text starts at 0x400000 (the SIPI trampoline at 0x8000 is kernel code).
            if (pc >= 0x400000L && pc < Layout.PAGE_OFFSET >>> 1 && cpu < 64)
            {
                userTotal++;
                if (suspended)
                {
                    userWhileSuspended++;
                }
            }
        }

        @Override
        public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b, final long c)
        {
            super.event(kind, cpu, icount, pc, a, b, c);
            if (kind == EventKind.MARK)
            {
                marks.add(new long[] {a, b, c, cpu});
                if (a == Mark.SUSPEND)
                {
                    suspended = true;
                }
                else if (a == Mark.RESUME)
                {
                    suspended = false;
                }
            }
        }

        /** The marks of the given types, as "name(a)" strings, in order. */
        List<String> seq(final int... types)
        {
            final List<String> out = new ArrayList<>();
            for (final long[] m : marks)
            {
                for (final int t : types)
                {
                    if (m[0] == t)
                    {
                        out.add(Mark.name(t) + "(" + m[1] + ")");
                    }
                }
            }
            return out;
        }
    }

    @Test
    void cpuDownMigratesTasksAndCpuUpTakesWorkAgain()
    {
        final Fn[] worker = new Fn[1];
        final long[] r = new long[8];
        final Watch w = new Watch();
        final Machine m = new Machine(new MachineConfig(1, 4, 128), w, new SeededInput(5));
        final KernelConfig c = new KernelConfig().patches(Patches.of("", List.of()));
        c.builders.add(k ->
        {
            final Fn[] self = new Fn[1];
            self[0] = k.text.fn("kunit_hotplug_worker", 0x80, cpu ->
            {
                self[0].prologue(cpu);
                final long slot = cpu.reg(Syscalls.RDI);
                for (int i = 0; i < ROUNDS; i++)
                {
                    cpu.store64(slot, cpu.load64(slot) + 1);
                    cpu.store64(slot + 8, cpu.load64(slot + 8) | 1L << cpu.id());
                    if (cpu.id() == 1 && (cpu.load64(Globals.CPU_ONLINE_MASK) & 2) == 0)
                    {
                        cpu.store64(slot + 16, cpu.load64(slot + 16) + 1);
                    }
                    cpu.compute(200);
                    k.sched.schedule(cpu);
                }
                self[0].leave(cpu);
            });
            worker[0] = self[0];
        });
        c.kunit = (cpu, k) ->
        {
            final long slots = k.slab.kzalloc(cpu, (long)SLOT * (WORKERS + 4));
            final long[] tasks = new long[WORKERS];
            for (int i = 0; i < WORKERS; i++)
            {
                tasks[i] = k.sched.kernelThread(cpu, "kworker/" + i, worker[0].addr, slots + (long)SLOT * i, false);
            }
            // Let them get going, then take cpu 1 down while tasks live on it.
            while (cpu.load64(slots) < 20)
            {
                k.sched.yield(cpu);
            }
            long onCpu1 = 0;
            for (final long t : tasks)
            {
                onCpu1 += cpu.load64(t + Task.CPU) == 1 ? 1 : 0;
            }
            r[0] = onCpu1;
            r[1] = k.hotplug.cpuDown(cpu, 1);
            r[2] = cpu.load64(Globals.CPU_ONLINE_MASK);
            long still = 0;
            for (final long t : tasks)
            {
                still += cpu.load64(t + Task.STATE) != Task.DEAD && cpu.load64(t + Task.CPU) == 1 ? 1 : 0;
            }
            r[3] = still;
            r[4] = k.hotplug.cpuDown(cpu, 1);
            r[5] = k.hotplug.cpuUp(cpu, 1);
            // Work placed after the cpu is back: new threads round-robin over the online cpus, cpu 1 included.
            for (int i = WORKERS; i < WORKERS + 4; i++)
            {
                k.sched.kernelThread(cpu, "kworker/" + i, worker[0].addr, slots + (long)SLOT * i, false);
            }
            long done;
            do
            {
                k.sched.yield(cpu);
                done = 0;
                for (int i = 0; i < WORKERS + 4; i++)
                {
                    done += cpu.load64(slots + (long)SLOT * i) == ROUNDS ? 1 : 0;
                }
            }
            while (done < WORKERS + 4);
            long cpus = 0;
            long violations = 0;
            for (int i = 0; i < WORKERS + 4; i++)
            {
                violations += cpu.load64(slots + (long)SLOT * i + 16);
                if (i >= WORKERS)
                {
                    cpus |= cpu.load64(slots + (long)SLOT * i + 8);
                }
            }
            r[6] = violations;
            r[7] = cpus;
        };
        Kernel.install(m, c);
        final Outcome o = m.run(300_000_000L);
        if (o.cause instanceof AssertionError)
        {
            throw (AssertionError)o.cause;
        }
        final String console = m.console(0).text();
        assertTrue(o.clean(), o + "\n" + console);
        assertTrue(r[0] > 0, "some workers were on cpu 1 when it went down: " + java.util.Arrays.toString(r) + "\n" + console);
        assertEquals(0, r[1], "cpu_down(1)");
        assertEquals(0b1101, r[2], "cpu 1 left the online mask");
        assertEquals(0, r[3], "no live task left on cpu 1");
        assertEquals(Hotplug.EINVAL, r[4], "cpu_down of an offline cpu is -EINVAL");
        assertEquals(0, r[5], "cpu_up(1)");
        assertEquals(0, r[6], "nothing ran on cpu 1 while it was offline");
        assertTrue((r[7] & 2) != 0, "cpu 1 runs work again after cpu_up: " + Long.toBinaryString(r[7]));
        assertTrue(console.indexOf("CPU 1 is now offline") > 0, console);
        assertTrue(console.indexOf("CPU 1 is up", console.indexOf("CPU 1 is now offline")) > 0, console);
        assertEquals(List.of("cpu-up(0)", "cpu-up(1)", "cpu-up(2)", "cpu-up(3)", "cpu-down(1)", "cpu-up(1)"),
            w.seq(Mark.CPU_UP, Mark.CPU_DOWN));
    }

    /** word-count with a suspend stimulus at nominal (0 = none); returns the watch, checks GOOD. */
    private static Runs wordCount(final Watch w, final long seed, final long nominal)
    {
        final WordCountScenario s = new WordCountScenario();
        final Runs r = Runs.run(s, seed, w, Map.of("words", "2000"), "", List.of(),
            nominal == 0 ? null : m -> ((KernelScenario)s).kernel(m).pm.suspendAt(m, nominal));
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.verdict + "\n" + r.console());
        return r;
    }

    @Test
    void suspendResumeDuringWordCount()
    {
        final Runs plain = wordCount(new Watch(), 9, 0);
        final long end = plain.machine.now();
        final Watch w = new Watch();
        final Runs r = wordCount(w, 9, end / 2);
        final String console = r.console();
        final String[] order = {"PM: Syncing filesystems ... done.", "Freezing user space processes ... done.",
            "Disabling non-boot CPUs ...", "CPU 3 is now offline", "CPU 2 is now offline", "CPU 1 is now offline",
            "Back to C!", "Enabling non-boot CPUs ...", "CPU 1 is up", "CPU 2 is up", "CPU 3 is up",
            "Restarting tasks ... done."};
        int at = console.indexOf("Brought up 4 CPUs");
        for (final String line : order)
        {
            final int next = console.indexOf(line, at);
            assertTrue(next > at, "'" + line + "' in order after offset " + at + ":\n" + console);
            at = next;
        }
        assertEquals(List.of("suspend(0)", "cpu-down(3)", "cpu-down(2)", "cpu-down(1)", "resume(0)"),
            w.seq(Mark.SUSPEND, Mark.CPU_DOWN, Mark.RESUME));
        // Alternatives: UP at boot, SMP before the first AP; UP once cpu 1 (the last secondary) is
        // down, SMP again before each cpu comes back.
        assertEquals(List.of("alt-smp-switch(0)", "alt-smp-switch(1)", "alt-smp-switch(1)",
            "alt-smp-switch(1)", "cpu-down(3)", "cpu-down(2)", "cpu-down(1)", "alt-smp-switch(0)", "alt-smp-switch(1)",
            "alt-smp-switch(1)", "alt-smp-switch(1)"), w.seq(Mark.ALT_SMP_SWITCH, Mark.CPU_DOWN));
        assertTrue(w.userTotal > 1000, "user code ran: " + w.userTotal);
        assertEquals(0, w.userWhileSuspended, "no user instruction between SUSPEND and RESUME");
    }

    @Test
    void suspendRunIsDeterministic()
    {
        final Watch a = new Watch();
        final Watch b = new Watch();
        final Watch c = new Watch();
        final long at = wordCount(new Watch(), 4, 0).machine.now() / 2;
        wordCount(a, 4, at);
        wordCount(b, 4, at);
        wordCount(c, 5, at);
        assertTrue(a.seq(Mark.SUSPEND).size() == 1 && c.seq(Mark.SUSPEND).size() == 1, "suspended in both runs");
        assertEquals(a.count, b.count);
        assertEquals(a.hash, b.hash);
        assertTrue(a.hash != c.hash, "another seed, another schedule");
    }

    @Test
    void aTaskOnTheVictimCpuTakesItDownAfterMovingAway()
    {
        final Fn[] fn = new Fn[1];
        final KUnit u = KUnit.run((cpu, k) ->
        {
            final long res = k.slab.kzalloc(cpu, 32);
            k.sched.kernelThread(cpu, "offliner", fn[0].addr, res, false, 1);
            while (cpu.load64(res + 24) == 0)
            {
                k.sched.yield(cpu);
            }
            assertEquals(1, cpu.load64(res), "started on cpu 1");
            assertEquals(0, cpu.load64(res + 8), "cpu_down(1) from cpu 1");
            assertTrue(cpu.load64(res + 16) != 1, "moved off cpu 1 first");
            assertEquals(0b1101, cpu.load64(Globals.CPU_ONLINE_MASK));
            assertEquals(0, k.hotplug.cpuUp(cpu, 1));
            assertEquals(0b1111, cpu.load64(Globals.CPU_ONLINE_MASK));
            assertEquals(Hotplug.EBUSY, k.hotplug.cpuDown(cpu, 0), "the boot cpu stays");
        }, List.of(), c -> c.builders.add(k ->
        {
            final Fn[] self = new Fn[1];
            self[0] = k.text.fn("kunit_offliner", 0x80, cpu ->
            {
                self[0].prologue(cpu);
                final long res = cpu.reg(Syscalls.RDI);
                cpu.store64(res, cpu.id());
                cpu.store64(res + 8, k.hotplug.cpuDown(cpu, 1));
                cpu.store64(res + 16, cpu.id());
                cpu.store64(res + 24, 1);
                self[0].leave(cpu);
            });
            fn[0] = self[0];
        }));
        assertTrue(u.outcome.clean(), u.outcome + u.console());
        assertTrue(u.console().contains("CPU 1 is now offline"), u.console());
    }
}
