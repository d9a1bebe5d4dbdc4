package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ThreadCpuTest
{
    @Test
    void rolesDropTrailingDigitsAndEveryEmulatorThreadIsTheMachine()
    {
        assertEquals("pal-decode-ahead", ThreadCpu.role("pal-decode-ahead"));
        assertEquals("pal-decode-ahead-", ThreadCpu.role("pal-decode-ahead-1"));
        assertEquals("machine", ThreadCpu.role("emu-cpu0-boot"));
        assertEquals("machine", ThreadCpu.role("emu-word_count-7"));
    }

    @Test
    void aThreadThatEndsWithinTheJobIsCountedUnderItsRoleAndTheCallerAsMain() throws Exception
    {
        final ThreadCpu.Measured<Long> m = ThreadCpu.measure(() ->
        {
            final long[] sum = new long[1];
            final Thread t = new Thread(() -> sum[0] = spin(), "pal-decode-ahead-1");
            t.start();
            try
            {
                t.join();
            }
            catch (final InterruptedException e)
            {
                throw new IllegalStateException(e);
            }
            return sum[0] + spin();
        });
        assertTrue(m.result() != 0);
        assertTrue(m.of("pal-decode-ahead-") > 0, m.nanos().toString());
        assertTrue(m.of("main") > 0, m.nanos().toString());
        assertTrue(m.perEvent("main", 1000) > 0);
        assertEquals(0, m.of("pal-bench-sampler"), m.nanos().toString());
    }

    /** CPU work for long enough that the 2 ms sampler sees the thread alive (a few tens of ms). */
    private static long spin()
    {
        long x = 1;
        for (int i = 0; i < 50_000_000; i++)
        {
            x = x * 6364136223846793005L + 1442695040888963407L;
        }
        return x | 1;
    }
}
