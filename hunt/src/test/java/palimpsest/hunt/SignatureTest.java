package palimpsest.hunt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Verdict;

class SignatureTest
{
    static final String OOPS = "BUG: unable to handle kernel paging request at fffff0000032e550\n" +
        "IP: [<ffffffff80202c24>] __d_lookup+0x44/0x100\nRIP: 0010:[<ffffffff80202c24>]  [<ffffffff80202c24>] __d_lookup+0x44/0x100\n";

    @Test
    void oopsFunctionAndVerdictClassWithoutAddresses()
    {
        final Verdict v = Verdict.bad("oops in __d_lookup: paging request at fffff0000032e550 (IP: [<ffffffff80202c24>] __d_lookup+0x44/0x100)");
        assertEquals("__d_lookup | bad: oops in __d_lookup: paging request at ADDR", Signature.of(v, OOPS));
        final Verdict other = Verdict.bad("oops in __d_lookup: paging request at fffff0000032e568 (IP: [<ffffffff80202c31>] __d_lookup+0x51/0x100)");
        assertEquals(Signature.of(v, OOPS), Signature.of(other, OOPS.replace("c24", "c31").replace("e550", "e568")),
            "another address, another offset in the same function: one group");
    }

    @Test
    void numbersDoNotSplitGroupsButWordsDo()
    {
        assertEquals(Signature.of(Verdict.bad("lost 3 of 40 updates at event 1234"), ""),
            Signature.of(Verdict.bad("lost 7 of 40 updates at event 99"), ""));
        assertNotEquals(Signature.of(Verdict.bad("lost 3 updates"), ""), Signature.of(Verdict.bad("duplicated 3 updates"), ""));
        assertNotEquals(Signature.of(Verdict.bad("x"), ""), Signature.of(Verdict.skip("x"), ""));
        assertEquals("cpu1 saw 0x? at ADDR in [<ADDR>] wordcount_map", Signature.ofLine("cpu1 saw 0xf0 at ffff880000123450 in [<0000000000400123>] wordcount_map+0x10/0x80"));
    }

    @Test
    void seedRanges()
    {
        assertEquals(50, SeedRange.parse("1..50").count());
        assertEquals(3, SeedRange.parse("7, 9..10").seeds().length);
        for (final String bad : new String[] {"", "5..1", "a..b", "1..", "-3..4", "0..99999999999"})
        {
            assertThrows(IllegalArgumentException.class, () -> SeedRange.parse(bad), bad);
        }
    }
}
