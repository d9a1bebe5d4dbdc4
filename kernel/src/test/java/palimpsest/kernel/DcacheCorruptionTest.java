package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Outcome;
import palimpsest.emulator.PhysicalMemory;

/**
 * Proof that kernel state is in memory: a raw physical write (a "cosmic ray" from a test hook)
 * into a live dentry hash chain makes the kernel oops later, in __d_lookup, with a backtrace.
 */
class DcacheCorruptionTest
{
    @Test
    void flippedHashChainPointerOopsInDLookup()
    {
        final long[] found = new long[2];
        final KUnit u = KUnit.run((cpu, k) ->
        {
            final PhysicalMemory mem = cpu.machine().memory(0);
            final KernelInspector ki = new KernelInspector(mem);
            final long link = ki.findDentryLink("words.txt");
            assertTrue(link > 0 || link < -1, "dentry found in raw memory");
            found[0] = link;
            found[1] = ki.read64(link);
            // Flip bit 30 of the chain pointer: it now points 1 GiB further, past the end of RAM.
            final long pa = ki.phys(link) + 3;
            mem.write8(pa, mem.read8(pa) ^ 0x40);
            // Later, the kernel looks the file up.
            final long kbuf = k.slab.kmalloc(cpu, 64);
            final String path = "/data/words.txt";
            for (int i = 0; i <= path.length(); i++)
            {
                cpu.store8(kbuf + i, i < path.length() ? path.charAt(i) : 0);
            }
            k.vfs.pathLookup(cpu, kbuf);
            throw new AssertionError("the lookup should have oopsed");
        }, List.of(), c -> c.file("/data/words.txt", "hello world\n".getBytes()).file("/data/other", new byte[10]));
        final String con = u.console();
        System.out.println(con);
        assertEquals(Outcome.Kind.FAILURE, u.outcome.kind, con);
        final String bad = String.format("%016x", found[1] ^ (0x40L << 24));
        assertTrue(con.contains("BUG: unable to handle kernel paging request at "), con);
        assertTrue(con.contains("IP: [<"), con);
        assertTrue(con.matches("(?s).*IP: \\[<ffffffff80[0-9a-f]+>\\] __d_lookup\\+0x[0-9a-f]+/0x[0-9a-f]+.*"), con);
        assertTrue(con.contains("Call Trace:"), con);
        final String trace = con.substring(con.indexOf("Call Trace:"));
        assertTrue(trace.contains("] __d_lookup+0x"), trace);
        assertTrue(trace.contains("] d_lookup+0x"), trace);
        assertTrue(trace.contains("] path_lookup+0x"), trace);
        assertTrue(con.contains("CR2: " + String.format("%016x", Long.parseUnsignedLong(bad, 16) + 24)), con);
    }
}
