package palimpsest.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.emulator.TestSupport.AP_ENTRY;
import static palimpsest.emulator.TestSupport.DATA;
import static palimpsest.emulator.TestSupport.IDT;
import static palimpsest.emulator.TestSupport.STACK;
import static palimpsest.emulator.TestSupport.code;
import static palimpsest.emulator.TestSupport.vector;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.TestSupport.Ev;
import palimpsest.emulator.TestSupport.FixedInput;
import palimpsest.emulator.TestSupport.ListSink;
import palimpsest.trace.EventKind;

/** Interrupt delivery: IF, instruction boundaries, the trap frame in memory, IPIs, PMU, INIT/SIPI. */
class InterruptTest
{
    static final int VEC = 0x40;

    private final ListSink sink = new ListSink();
    private final FixedInput input = new FixedInput();

    private static void selfIpi(final Cpu c, final int vector)
    {
        c.apicWrite(Apic.ICR_LO, Apic.icr(vector, Apic.MODE_FIXED, Apic.DEST_SELF));
    }

    private Machine oneCpu(final Routine main, final Routine handler)
    {
        final Machine m = TestSupport.machine(1, 1, sink, input);
        code(m, "main", 0x1000, c ->
        {
            c.pc(0x1000);
            c.setSp(STACK);
            c.lidt(IDT);
            main.run(c);
            c.out(Machine.POWER_PORT, 0);
        });
        code(m, "handler", 0x2000, c ->
        {
            c.pc(0x2000);
            handler.run(c);
            c.eoi();
        });
        vector(m, VEC, 0x2000);
        m.setBootEntry(0, 0x1000);
        return m;
    }

    @Test
    void noInterruptWhileIfIsClearThenDeliveredAfterTheStiShadow()
    {
        final long[] seen = new long[4];
        final List<Long> whileMasked = new ArrayList<>();
        final Machine m = oneCpu(c ->
        {
            c.cli();
            selfIpi(c, VEC);
            for (int i = 0; i < 1_000; i++)
            {
                whileMasked.add(c.load64(DATA));
            }
            c.compute(50_000);
            assertTrue(c.core().irr[VEC >>> 6] != 0, "still requested");
            c.sti();
            seen[0] = c.icount();
            seen[1] = c.load64(DATA);          // the sti shadow: this one instruction runs first
            seen[2] = c.load64(DATA);          // the handler ran at the boundary before this load
            seen[3] = c.icount();
        }, c -> c.store64(DATA, 1));
        final Outcome o = m.run(10_000_000);
        assertTrue(o.clean(), o.toString());
        assertTrue(whileMasked.stream().allMatch(v -> v == 0), "no handler ran while IF was clear");
        assertEquals(0, seen[1], "the instruction right after sti runs before the interrupt (sti shadow)");
        assertEquals(1, seen[2], "delivered at the boundary after the shadowed instruction");
        final List<Ev> ints = sink.of(EventKind.INTERRUPT);
        assertEquals(1, ints.size());
        assertEquals(seen[0] + 1, ints.get(0).icount, "taken between the shadowed instruction and the next");
        final Ev sti = sink.events.stream().filter(e -> e.kind == EventKind.REG && e.a == palimpsest.trace.Reg.FLAGS && (e.b & CpuCore.FLAG_IF) != 0)
            .findFirst().get();
        assertEquals(sti.icount + 1, ints.get(0).icount);
        assertTrue(seen[3] > seen[0] + 2, "the handler's instructions retired in between");
    }

    @Test
    void trapFrameIsWrittenAtSpInEmulatedMemory()
    {
        final long[] frame = new long[7];
        final long[] state = new long[4];
        final Machine m = oneCpu(c ->
        {
            c.setSp(0x70000);
            c.setFp(0x1234);
            c.sti();
            c.pc(0x1040);
            c.compute(1);
            selfIpi(c, VEC);                   // delivered before the next instruction
            c.pc(0x1080);
            c.compute(1);
            state[2] = c.sp();
            state[3] = c.pc();
        }, c ->
        {
            final long sp = c.sp();
            state[0] = sp;
            state[1] = c.interruptsEnabled() ? 1 : 0;
            for (int i = 0; i < 7; i++)
            {
                frame[i] = c.machine().memory(0).read64(sp + 8L * i);   // raw memory, not through the CPU
            }
        });
        final Outcome o = m.run(10_000_000);
        assertTrue(o.clean(), o.toString());
        assertEquals(0x70000 - Cpu.TRAP_FRAME_SIZE, state[0], "frame pushed at the interrupted SP");
        assertEquals(0, state[1], "handler runs with IF clear");
        assertEquals(VEC, frame[0], "vector");
        assertEquals(0, frame[1], "error code");
        assertEquals(0x1080, frame[2], "return PC: the interrupted (next) instruction");
        assertEquals(0, frame[3], "CS / old cpl");
        assertEquals(CpuCore.FLAG_IF, frame[4] & CpuCore.FLAG_IF, "saved FLAGS has IF");
        assertEquals(0x70000, frame[5], "old SP");
        assertEquals(0, frame[6], "SS");
        assertEquals(0x70000, state[2], "iret popped the frame");
        assertEquals(0x1080, state[3], "iret restored the PC from the frame");
        // The pushes are recorded stores at the frame's addresses.
        final List<Long> stores = sink.of(EventKind.STORE).stream().filter(e -> e.vaddr() >= state[0] && e.vaddr() < 0x70000)
            .map(e -> e.vaddr()).collect(Collectors.toList());
        assertEquals(7, stores.size());
    }

    @Test
    void iretResumesAtThePcTheHandlerWroteIntoTheFrame()
    {
        final long[] pcAfter = new long[1];
        final Machine m = oneCpu(c ->
        {
            c.sti();
            c.pc(0x1040);
            selfIpi(c, VEC);
            c.load64(DATA);                    // boundary: the handler runs and iret pops PC from memory
            pcAfter[0] = c.pc();
        }, c -> c.machine().memory(0).write64(c.sp() + 16, 0x10C0));
        assertTrue(m.run(10_000_000).clean());
        assertEquals(0x10C0, pcAfter[0]);
    }

    @Test
    void ipiIsDeliveredBetweenTwoInstructionsAtTheExactIcount()
    {
        input.irqDelay = 5;
        final long[] sentAt = new long[1];
        final Machine m = oneCpu(c ->
        {
            c.sti();
            selfIpi(c, VEC);
            sentAt[0] = c.icount();
            for (int i = 0; i < 20; i++)
            {
                c.load64(DATA + 8L * i);
            }
        }, c -> c.store64(DATA + 0x800, c.icount()));
        assertTrue(m.run(10_000_000).clean());
        final Ev ipi = sink.of(EventKind.IPI).get(0);
        final Ev irq = sink.of(EventKind.INTERRUPT).get(0);
        assertEquals(sentAt[0], ipi.icount);
        assertEquals(sentAt[0] + 5, irq.icount, "delivered after exactly irqDelay more instructions");
        assertEquals(InterruptSource.IPI, irq.b);
        // The event stream around it: load #5 retired at that icount, the interrupt, then the handler, then load #6.
        final int at = sink.events.indexOf(irq);
        // (skipping the REG_SYNC the executor records before the timed IPI delivery runs)
        int b = at - 1;
        while (sink.events.get(b).kind == EventKind.REG && sink.events.get(b).a == Cpu.REG_SYNC)
        {
            b--;
        }
        final Ev before = sink.events.get(b);
        assertEquals(EventKind.LOAD, before.kind);
        assertEquals(irq.icount, before.icount);
        assertEquals(DATA + 8L * 4, before.vaddr());
        final Ev nextLoad = sink.events.subList(at, sink.events.size()).stream()
            .filter(e -> e.kind == EventKind.LOAD && e.vaddr() == DATA + 8L * 5).findFirst().get();
        final Ev handlerStore = sink.events.stream().filter(e -> e.kind == EventKind.STORE && e.vaddr() == DATA + 0x800).findFirst().get();
        assertTrue(sink.events.indexOf(handlerStore) < sink.events.indexOf(nextLoad));
    }

    @Test
    void ipiToAnotherCpuIsTakenAtItsInstructionBoundary()
    {
        input.slice = 500;
        input.roundRobin = true;
        final Machine m = TestSupport.machine(1, 2, sink, input);
        code(m, "bsp", 0x1000, c ->
        {
            c.setSp(STACK);
            c.lidt(IDT);
            TestSupport.startAps(c, 2, AP_ENTRY);
            while (c.load64(DATA) == 0)        // AP up and spinning
            {
                c.compute(1);
            }
            c.apicWrite(Apic.ICR_HI, 1L << 24);
            c.apicWrite(Apic.ICR_LO, Apic.icr(VEC, Apic.MODE_FIXED, Apic.DEST_NONE));
            while (c.load64(DATA + 8) == 0)
            {
                c.compute(1);
            }
            c.out(Machine.POWER_PORT, 0);
        });
        code(m, "ap", AP_ENTRY, c ->
        {
            c.setSp(STACK - 0x8000);
            c.lidt(IDT);
            c.sti();
            c.store64(DATA, 1);
            while (true)
            {
                c.load64(DATA + 16);
            }
        });
        code(m, "handler", 0x2000, c ->
        {
            c.store64(DATA + 8, 1);
            c.eoi();
        });
        vector(m, VEC, 0x2000);
        m.setBootEntry(0, 0x1000);
        assertTrue(m.run(10_000_000).clean());
        final Ev irq = sink.of(EventKind.INTERRUPT).get(0);
        assertEquals(1, irq.cpu);
        final Ev ipi = sink.of(EventKind.IPI).stream().filter(e -> e.c == VEC).findFirst().get();
        assertEquals(0, ipi.cpu);
        assertEquals(1, ipi.a);
        final int at = sink.events.indexOf(irq);
        assertTrue(at > sink.events.indexOf(ipi));
        Ev prev = null;
        for (int i = at - 1; i >= 0; i--)
        {
            if (sink.events.get(i).cpu == 1 && sink.events.get(i).kind == EventKind.LOAD)
            {
                prev = sink.events.get(i);
                break;
            }
        }
        assertEquals(irq.icount, prev.icount, "taken after the AP's last whole load");
    }

    @Test
    void pmuInterruptsEveryNInstructions()
    {
        final int period = 1_000;
        final Machine m = oneCpu(c ->
        {
            c.apicWrite(Apic.LVT_PERF, VEC);
            c.apicWrite(Apic.PERF_PERIOD, period);
            c.sti();
            for (int i = 0; i < 10_500; i++)
            {
                c.load64(DATA);
            }
            c.apicWrite(Apic.PERF_PERIOD, 0);
        }, c -> c.store64(DATA + 8, c.load64(DATA + 8) + 1));
        assertTrue(m.run(10_000_000).clean());
        final List<Ev> pmu = sink.of(EventKind.INTERRUPT).stream().filter(e -> e.b == InterruptSource.PMU).collect(Collectors.toList());
        assertTrue(pmu.size() >= 10, "got " + pmu.size());
        for (int i = 1; i < pmu.size(); i++)
        {
            assertEquals(period, pmu.get(i).icount - pmu.get(i - 1).icount, "PMU period between interrupts " + (i - 1) + " and " + i);
        }
        assertEquals(pmu.size(), m.memory(0).read64(DATA + 8));
    }

    @Test
    void apsStartOnlyAfterInitThenSipiAtTheSipiPage()
    {
        input.irqDelay = 10;
        input.roundRobin = true;
        input.slice = 1_000;
        final long[] apSaw = new long[3];
        final boolean[] onlineAfterSipiAlone = new boolean[1];
        final Machine m = TestSupport.machine(1, 2, sink, input);
        code(m, "bsp", 0x1000, c ->
        {
            c.setSp(STACK);
            c.apicWrite(Apic.ICR_HI, 1L << 24);
            c.apicWrite(Apic.ICR_LO, Apic.icr((int)(AP_ENTRY >>> 12), Apic.MODE_SIPI, Apic.DEST_NONE));
            c.compute(20_000);
            c.load64(DATA);
            onlineAfterSipiAlone[0] = c.machine().core(1).online();
            TestSupport.startAps(c, 2, AP_ENTRY);
            while (c.load64(DATA) == 0)
            {
                c.compute(10);
            }
            c.out(Machine.POWER_PORT, 0);
        });
        code(m, "ap_entry", AP_ENTRY, c ->
        {
            apSaw[0] = c.pc();
            apSaw[1] = c.apicRead(Apic.ID) >>> 24;
            apSaw[2] = c.interruptsEnabled() ? 1 : 0;
            c.store64(DATA, 1);
            c.cli();
            c.hlt();
        });
        m.setBootEntry(0, 0x1000);
        final Outcome o = m.run(10_000_000);
        assertTrue(o.clean(), o.toString());
        assertFalse(onlineAfterSipiAlone[0], "a SIPI without INIT is ignored");
        assertEquals(AP_ENTRY, apSaw[0], "the AP starts at vector << 12");
        assertEquals(1, apSaw[1]);
        assertEquals(0, apSaw[2], "APs start with IF clear");
        final List<Ev> ipis = sink.of(EventKind.IPI);
        assertEquals(List.of((long)Apic.MODE_SIPI, (long)Apic.MODE_INIT, (long)Apic.MODE_SIPI),
            ipis.stream().map(e -> e.b).collect(Collectors.toList()));
        assertEquals(AP_ENTRY >>> 12, ipis.get(2).c);
    }
}
