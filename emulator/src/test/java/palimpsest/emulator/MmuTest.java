package palimpsest.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.emulator.TestSupport.IDT;
import static palimpsest.emulator.TestSupport.STACK;
import static palimpsest.emulator.TestSupport.code;
import static palimpsest.emulator.TestSupport.vector;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.TestSupport.Ev;
import palimpsest.emulator.TestSupport.FixedInput;
import palimpsest.emulator.TestSupport.ListSink;
import palimpsest.emulator.TestSupport.PageTables;
import palimpsest.trace.EventKind;

/** The MMU: 4-level walks, a TLB that stays stale until invlpg or a CR3 reload, #GP and #PF. */
class MmuTest
{
    static final long PW = Paging.P | Paging.W;
    static final long V = 0x7F00_0000_0000L;
    static final long FRAME_A = 0x300000;
    static final long FRAME_B = 0x301000;
    static final long FRAME_C = 0x302000;

    private final ListSink sink = new ListSink();
    private final Machine m = TestSupport.machine(1, 1, sink, new FixedInput());
    private final PageTables pt = new PageTables(m.memory(0), 0x200000).identity(0x400000, PW);

    private Outcome boot(final Routine main)
    {
        code(m, "main", 0x1000, c ->
        {
            c.pc(0x1000);
            c.setSp(STACK);
            c.lidt(IDT);
            c.writeCr3(pt.pml4);
            main.run(c);
            c.out(Machine.POWER_PORT, 0);
        });
        m.setBootEntry(0, 0x1000);
        return m.run(10_000_000);
    }

    private long walksFor(final long va)
    {
        return sink.of(EventKind.WALK).stream().filter(e -> e.vaddr() == va).count();
    }

    @Test
    void tlbStaysStaleUntilInvlpgAndCr3ReloadFlushes()
    {
        m.memory(0).write64(FRAME_A, 0xAAAA);
        m.memory(0).write64(FRAME_B, 0xBBBB);
        pt.map(V, FRAME_A, PW);
        final long pte = pt.pte(V);
        final long[] got = new long[5];
        final long[] walks = new long[5];
        final long[] tlb = new long[2];
        final Outcome o = boot(c ->
        {
            got[0] = c.load64(V);
            walks[0] = walksFor(V);
            c.store64(pte, FRAME_B | PW);                 // remap, no invlpg
            got[1] = c.load64(V);
            walks[1] = walksFor(V);
            tlb[0] = c.core().tlbLookup(V);
            c.invlpg(V);
            tlb[1] = c.core().tlbLookup(V);
            got[2] = c.load64(V);
            walks[2] = walksFor(V);
            c.store64(pte, FRAME_A | PW);                 // remap back, no flush
            got[3] = c.load64(V);
            walks[3] = walksFor(V);
            c.reloadCr3();
            got[4] = c.load64(V);
            walks[4] = walksFor(V);
        });
        assertTrue(o.clean(), o.toString());
        assertEquals(0xAAAA, got[0], "first read through the fresh mapping");
        assertEquals(0xAAAA, got[1], "PTE changed without invlpg: the stale TLB entry still points at A");
        assertEquals(FRAME_A, tlb[0]);
        assertEquals(-1, tlb[1], "invlpg dropped the entry");
        assertEquals(0xBBBB, got[2], "after invlpg the walk sees B");
        assertEquals(0xBBBB, got[3], "stale again until the CR3 reload");
        assertEquals(0xAAAA, got[4], "a CR3 reload flushes the TLB");
        // Four recorded table reads per walk, and none on a TLB hit.
        assertEquals(4, walks[0]);
        assertEquals(4, walks[1]);
        assertEquals(8, walks[2]);
        assertEquals(8, walks[3]);
        assertEquals(12, walks[4]);
        final List<Ev> w = sink.of(EventKind.WALK);
        assertEquals(pt.pml4 + Paging.index(V, 4) * 8L, w.stream().filter(e -> e.vaddr() == V).findFirst().get().paddr);
    }

    @Test
    void nonCanonicalAddressRaisesGeneralProtection()
    {
        final long bad = 0x0000_8000_0000_0000L;
        final List<long[]> traps = new ArrayList<>();
        code(m, "gp_handler", 0x2000, c ->
        {
            traps.add(new long[] {c.load64(c.sp()), c.load64(c.sp() + 8), c.cr2()});
            c.out(Machine.POWER_PORT, 0);                 // a kernel would kill the task; we just stop
        });
        vector(m, Paging.VEC_GP, 0x2000);
        final Outcome o = boot(c ->
        {
            c.load64(bad);
            c.out(Machine.POWER_PORT, 9);                 // not reached
        });
        assertTrue(o.clean(), o.toString());
        assertEquals(1, traps.size());
        assertEquals(Paging.VEC_GP, traps.get(0)[0]);
        final Ev ex = sink.of(EventKind.EXCEPTION).get(0);
        assertEquals(Paging.VEC_GP, ex.a);
        assertEquals(bad, ex.c);
        assertEquals(0, walksFor(bad), "no walk for a non-canonical address");
    }

    /** Page faults with their CR2 and P/W/U error-code bits; the handler repairs and the access is retried. */
    @Test
    void pageFaultsCarryCr2AndErrorCodeAndRetryAfterTheHandler()
    {
        final long unmappedRead = V + 0x1000;
        final long unmappedWrite = V + 0x2000;
        final long readOnly = V + 0x3000;
        final long supervisor = V + 0x4000;
        final long userReadOnly = V + 0x5000;
        final long[] ptes = {pt.pte(unmappedRead), pt.pte(unmappedWrite), pt.pte(readOnly), pt.pte(supervisor), pt.pte(userReadOnly)};
        pt.map(readOnly, FRAME_B, Paging.P);
        pt.map(supervisor, FRAME_C, PW);
        pt.map(userReadOnly, FRAME_C + 0x1000, Paging.P | Paging.U);
        m.memory(0).write64(FRAME_A, 0x1111);
        m.memory(0).write64(FRAME_C, 0x3333);
        final List<long[]> faults = new ArrayList<>();
        final long[] fixes = {FRAME_A | PW, 0x310000 | PW, FRAME_B | PW, FRAME_C | PW | Paging.U, FRAME_C + 0x1000 | PW | Paging.U};
        code(m, "page_fault", 0x2000, c ->
        {
            final long sp = c.sp();
            final long cr2 = c.cr2();
            faults.add(new long[] {c.load64(sp), c.load64(sp + 8), cr2, c.load64(sp + 24), c.cpl()});
            final int i = faults.size() - 1;
            c.store64(ptes[i], fixes[i]);
            c.invlpg(cr2);
        });
        vector(m, Paging.VEC_PF, 0x2000);
        final long[] got = new long[3];
        final Outcome o = boot(c ->
        {
            c.setKernelStack(STACK - 0x4000);
            got[0] = c.load64(unmappedRead);
            c.store64(unmappedWrite, 0x2222);
            c.store64(readOnly, 0x4444);
            c.setPrivilege(3);
            got[1] = c.load64(supervisor);
            c.store64(userReadOnly, 0x5555);
            got[2] = c.cpl();
            c.setPrivilege(0);
        });
        assertTrue(o.clean(), o.toString());
        assertEquals(5, faults.size());
        final long[][] expect = {
            {unmappedRead, 0},
            {unmappedWrite, Paging.PF_WRITE},
            {readOnly, Paging.PF_PRESENT | Paging.PF_WRITE},
            {supervisor, Paging.PF_PRESENT | Paging.PF_USER},
            {userReadOnly, Paging.PF_PRESENT | Paging.PF_WRITE | Paging.PF_USER},
        };
        for (int i = 0; i < 5; i++)
        {
            assertEquals(Paging.VEC_PF, faults.get(i)[0], "vector of fault " + i);
            assertEquals(expect[i][1], faults.get(i)[1], "error code of fault " + i);
            assertEquals(expect[i][0], faults.get(i)[2], "CR2 of fault " + i);
            assertEquals(i >= 3 ? 3 : 0, faults.get(i)[3], "saved CS (old cpl) of fault " + i);
            assertEquals(0, faults.get(i)[4], "handler runs in kernel mode");
        }
        assertEquals(0x1111, got[0], "retried load after the handler mapped the page");
        assertEquals(0x2222, m.memory(0).read64(0x310000));
        assertEquals(0x4444, m.memory(0).read64(FRAME_B), "write to the read-only page faulted, then went through once writable");
        assertEquals(0x3333, got[1]);
        assertEquals(0x5555, m.memory(0).read64(FRAME_C + 0x1000));
        assertEquals(3, got[2], "iret restored user mode");
        assertEquals(5, sink.of(EventKind.EXCEPTION).size());
    }

    @Test
    void writeToReadOnlyPageFaultsEvenThroughATlbHit()
    {
        pt.map(V, FRAME_A, Paging.P);
        m.memory(0).write64(FRAME_A, 7);
        final List<Long> errs = new ArrayList<>();
        code(m, "page_fault", 0x2000, c ->
        {
            errs.add(c.load64(c.sp() + 8));
            c.out(Machine.POWER_PORT, 0);
        });
        vector(m, Paging.VEC_PF, 0x2000);
        final long[] got = new long[1];
        final Outcome o = boot(c ->
        {
            got[0] = c.load64(V);          // fills the TLB with a read-only entry
            c.store64(V, 8);
        });
        assertTrue(o.clean(), o.toString());
        assertEquals(7, got[0]);
        assertEquals(List.of(Paging.PF_PRESENT | Paging.PF_WRITE), errs);
        assertEquals(7, m.memory(0).read64(FRAME_A), "the faulting store did not happen");
        assertEquals(0, sink.of(EventKind.STORE).stream().filter(e -> e.vaddr() == V).count());
    }
}
