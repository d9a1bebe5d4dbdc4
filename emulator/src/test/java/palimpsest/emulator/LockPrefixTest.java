package palimpsest.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.emulator.TestSupport.AP_ENTRY;
import static palimpsest.emulator.TestSupport.DATA;
import static palimpsest.emulator.TestSupport.STACK;
import static palimpsest.emulator.TestSupport.code;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.input.ChaosInput;
import palimpsest.trace.EventKind;

/** Atomicity comes from the prefix byte fetched from text at the instruction's site. */
class LockPrefixTest
{
    static final int CPUS = 4;
    static final int PER_CPU = 3_000;
    static final long SITE = 0x3000;
    static final long DONE_SITE = 0x3100;
    static final long COUNTER = DATA;
    static final long DONE = DATA + 64;

    private static long[] run(final int prefix, final long seed)
    {
        final HashingSink sink = new HashingSink();
        final Machine m = new Machine(new MachineConfig(1, CPUS, 8), sink, new ChaosInput(seed));
        final long[] result = new long[3];
        final Routine work = c ->
        {
            for (int i = 0; i < PER_CPU; i++)
            {
                c.xadd(SITE, COUNTER, 8, 1);
            }
            c.xadd(DONE_SITE, DONE, 8, 1);
        };
        code(m, "bsp", 0x1000, c ->
        {
            c.setSp(STACK);
            TestSupport.startAps(c, CPUS, AP_ENTRY);
            work.run(c);
            while (c.load64(DONE) < CPUS)
            {
                c.compute(5);
            }
            result[0] = c.load64(COUNTER);
            c.out(Machine.POWER_PORT, 0);
        });
        code(m, "ap", AP_ENTRY, c ->
        {
            work.run(c);
            c.cli();
            c.hlt();
        });
        code(m, "counter_inc", SITE, null);
        code(m, "done_inc", DONE_SITE, null);
        m.memory(0).write8(SITE, prefix);
        m.memory(0).write8(DONE_SITE, Cpu.LOCK_PREFIX);
        m.setBootEntry(0, 0x1000);
        final Outcome o = m.run(100_000_000);
        assertTrue(o.clean(), o.toString());
        result[1] = sink.perKind[EventKind.RMW];
        result[2] = sink.perKind[EventKind.FETCH];
        return result;
    }

    @Test
    void lockedXaddLosesNoUpdateUnderChaos()
    {
        for (final long seed : new long[] {1, 2})
        {
            final long[] r = run(Cpu.LOCK_PREFIX, seed);
            assertEquals(CPUS * PER_CPU, r[0], "seed " + seed + ": no lost updates with 0xF0 at the site");
            assertEquals(CPUS * PER_CPU + CPUS, r[1], "every locked xadd is one RMW event");
        }
    }

    @Test
    void unlockedXaddLosesUpdatesUnderChaos()
    {
        final long[] r = run(Bare_DS_PREFIX, 1);
        assertTrue(r[0] < CPUS * PER_CPU, "a DS prefix (0x3E) is not LOCK: updates must get lost, got " + r[0]);
        assertTrue(r[0] > 0);
        assertEquals(CPUS, r[1], "only the DONE increments are atomic RMWs");
        assertEquals(CPUS * PER_CPU + CPUS, r[2], "each xadd fetched its prefix byte");
    }

    private static final int Bare_DS_PREFIX = 0x3E;
}
