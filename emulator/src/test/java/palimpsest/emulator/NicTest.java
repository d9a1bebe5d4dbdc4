package palimpsest.emulator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.emulator.TestSupport.DATA;
import static palimpsest.emulator.TestSupport.IDT;
import static palimpsest.emulator.TestSupport.STACK;
import static palimpsest.emulator.TestSupport.code;
import static palimpsest.emulator.TestSupport.vector;

import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.TestSupport.Ev;
import palimpsest.emulator.TestSupport.FixedInput;
import palimpsest.emulator.TestSupport.ListSink;
import palimpsest.emulator.net.Nic;
import palimpsest.trace.EventKind;
import palimpsest.trace.InputKind;

/** NIC rings and DMA, and the fabric's latency and loss taken from the input source. */
class NicTest
{
    static final long TX_RING = 0x40000;
    static final long RX_RING = 0x41000;
    static final long TX_BUF = 0x42000;
    static final long RX_BUF = 0x44000;
    static final int RX_VEC = 0x60;
    static final int TX_VEC = 0x61;
    static final int TIMER_VEC = 0x40;
    static final long RX_COUNT = DATA;
    static final long TX_DONE = DATA + 8;

    private final ListSink sink = new ListSink();
    private final FixedInput input = new FixedInput();

    /** Node 0 sends `frames` frames (after a timer delay), node 1 counts RX interrupts; node 0 powers off later. */
    private Machine twoNodes(final int frames, final int len)
    {
        input.netLatency = 777;
        final Machine m = TestSupport.machine(2, 1, sink, input);
        code(m, "sender", 0x1000, c ->
        {
            c.setSp(STACK);
            c.lidt(IDT);
            c.out(Nic.TX_BASE, TX_RING);
            c.out(Nic.TX_SIZE, 4);
            c.out(Nic.TX_VECTOR, TX_VEC);
            c.sti();
            c.apicWrite(Apic.LVT_TIMER, TIMER_VEC);
            c.apicWrite(Apic.TIMER_INIT, 5_000);   // let node 1 set up its ring
            c.hlt();
            for (int f = 0; f < frames; f++)
            {
                final long slot = f % 4;
                final long buf = TX_BUF + slot * 0x400;
                c.store16(buf + Nic.HDR_DST, 1);
                c.store16(buf + Nic.HDR_SRC, 0);
                c.store32(buf + Nic.HDR_TYPE, 0xAB);
                for (int i = Nic.HDR_SIZE; i < len; i++)
                {
                    c.store8(buf + i, f * 16 + i);
                }
                final long d = TX_RING + slot * Nic.DESC_SIZE;
                c.store64(d + Nic.DESC_ADDR, buf);
                c.store32(d + Nic.DESC_LEN, len);
                c.store16(d + Nic.DESC_FLAGS, Nic.OWN);
                c.out(Nic.TX_TAIL, f + 1);
                c.out(Nic.DOORBELL, 1);
            }
            c.apicWrite(Apic.TIMER_INIT, 50_000);
            c.hlt();
            c.out(Machine.POWER_PORT, 0);
        });
        code(m, "receiver", 0x2000, c ->
        {
            c.setSp(STACK);
            c.lidt(IDT);
            for (int i = 0; i < 4; i++)
            {
                final long d = RX_RING + i * (long)Nic.DESC_SIZE;
                c.store64(d + Nic.DESC_ADDR, RX_BUF + i * 0x400L);
                c.store32(d + Nic.DESC_LEN, 0x400);
                c.store16(d + Nic.DESC_FLAGS, Nic.OWN);
            }
            c.out(Nic.RX_BASE, RX_RING);
            c.out(Nic.RX_SIZE, 4);
            c.out(Nic.RX_TAIL, 4);
            c.out(Nic.IRQ_CPU, 0);
            c.out(Nic.RX_VECTOR, RX_VEC);
            c.sti();
            while (true)
            {
                c.hlt();
            }
        });
        code(m, "rx_irq", 0x3000, c ->
        {
            c.store64(RX_COUNT, c.load64(RX_COUNT) + 1);
            c.eoi();
        });
        code(m, "tx_irq", 0x3100, c ->
        {
            c.store64(TX_DONE, c.load64(TX_DONE) + 1);
            c.eoi();
        });
        code(m, "timer", 0x3200, Cpu::eoi);
        vector(m, RX_VEC, 0x3000);
        vector(m, TX_VEC, 0x3100);
        vector(m, TIMER_VEC, 0x3200);
        m.setBootEntry(0, 0x1000);
        m.setBootEntry(1, 0x2000);
        return m;
    }

    @Test
    void frameIsDmaWrittenIntoTheRxRing()
    {
        final int len = 40;
        final Machine m = twoNodes(1, len);
        final Outcome o = m.run(10_000_000);
        assertTrue(o.clean(), o.toString());
        final PhysicalMemory mem1 = m.memory(1);
        // Bytes in node 1's first RX buffer equal what node 0 built.
        final byte[] sent = new byte[len];
        final byte[] got = new byte[len];
        m.memory(0).copyOut(TX_BUF, sent, 0, len);
        mem1.copyOut(RX_BUF, got, 0, len);
        assertArrayEquals(sent, got);
        assertEquals(8, got[8], "payload byte of frame 0");
        // The RX descriptor: OWN cleared, EOP set, length and source written back.
        assertEquals(Nic.EOP, mem1.read(RX_RING + Nic.DESC_FLAGS, 2));
        assertEquals(len, mem1.read(RX_RING + Nic.DESC_LEN, 4));
        assertEquals(0, mem1.read(RX_RING + Nic.DESC_PEER, 2));
        assertEquals(Nic.OWN, mem1.read(RX_RING + Nic.DESC_SIZE + Nic.DESC_FLAGS, 2), "next descriptor untouched");
        // TX side: descriptor handed back.
        assertEquals(Nic.EOP, m.memory(0).read(TX_RING + Nic.DESC_FLAGS, 2));
        assertEquals(1, mem1.read64(RX_COUNT), "one RX interrupt");
        assertEquals(1, m.memory(0).read64(TX_DONE), "one TX-done interrupt");

        // Events: DMA reads by node 0's NIC of descriptor and frame, NET_SEND, NET_DELIVER, DMA writes by node 1's NIC.
        final List<Ev> dmaReads = sink.of(EventKind.DMA_READ).stream().filter(e -> e.cpu == EventKind.deviceId(0)).collect(Collectors.toList());
        assertEquals(len, dmaReads.stream().filter(e -> e.paddr >= TX_BUF && e.paddr < TX_BUF + len).mapToInt(e -> e.size).sum());
        assertTrue(dmaReads.stream().allMatch(e -> e.pc == 0));
        final Ev send = sink.of(EventKind.NET_SEND).get(0);
        final Ev deliver = sink.of(EventKind.NET_DELIVER).get(0);
        assertEquals(EventKind.deviceId(0), send.cpu);
        assertEquals(1, send.a, "destination node");
        assertEquals(EventKind.deviceId(1), deliver.cpu);
        assertEquals(0, deliver.a, "source node");
        assertEquals(send.b, deliver.b, "same frame id");
        assertEquals(777, deliver.icount - send.icount, "latency from the input source");
        assertArrayEquals(sent, send.payload);
        assertArrayEquals(sent, deliver.payload);
        final List<Ev> dmaWrites = sink.of(EventKind.DMA_WRITE).stream().filter(e -> e.cpu == EventKind.deviceId(1)).collect(Collectors.toList());
        assertEquals(len, dmaWrites.stream().filter(e -> e.paddr >= RX_BUF && e.paddr < RX_BUF + 0x400).mapToInt(e -> e.size).sum());
        assertTrue(dmaWrites.stream().allMatch(e -> e.icount == deliver.icount), "DMA at the delivery's virtual time");
        final Ev flagsWrite = dmaWrites.stream().filter(e -> e.paddr == RX_RING + Nic.DESC_FLAGS).findFirst().get();
        assertEquals(Nic.OWN, flagsWrite.old(), "DMA writes carry the old value");
        final Ev irq = sink.of(EventKind.INTERRUPT).stream().filter(e -> e.a == RX_VEC).findFirst().get();
        assertEquals(1, irq.cpu);
        assertEquals(InterruptSource.DEVICE, irq.b);
        assertTrue(sink.events.indexOf(irq) > sink.events.indexOf(deliver));
    }

    @Test
    void fabricLatencyAndLossComeFromTheInputSource()
    {
        input.dropFrame = i -> i == 0 || i == 2;
        final Machine m = twoNodes(4, 24);
        final Outcome o = m.run(10_000_000);
        assertTrue(o.clean(), o.toString());
        final List<Ev> sends = sink.of(EventKind.NET_SEND);
        final List<Ev> delivers = sink.of(EventKind.NET_DELIVER);
        assertEquals(List.of(1L, 2L, 3L, 4L), sends.stream().map(e -> e.b).collect(Collectors.toList()), "deterministic frame ids");
        assertEquals(List.of(2L, 4L), delivers.stream().map(e -> e.b).collect(Collectors.toList()), "frames 1 and 3 dropped");
        for (final Ev d : delivers)
        {
            final Ev s = sends.stream().filter(e -> e.b == d.b).findFirst().get();
            assertEquals(777, d.icount - s.icount);
            assertEquals((byte)((d.b - 1) * 16 + 8), d.payload[8], "payload of the frame itself");
        }
        final List<Ev> inputs = sink.of(EventKind.INPUT);
        assertEquals(List.of(1L, 0L, 1L, 0L), inputs.stream().filter(e -> e.a == InputKind.NET_DROP).map(e -> e.b).collect(Collectors.toList()));
        assertEquals(List.of(777L, 777L), inputs.stream().filter(e -> e.a == InputKind.NET_LATENCY).map(e -> e.b).collect(Collectors.toList()));
        assertEquals(2, m.memory(1).read64(RX_COUNT));
        assertEquals(2, m.fabric().dropped());
        assertEquals(Nic.EOP, m.memory(1).read(RX_RING + Nic.DESC_SIZE + Nic.DESC_FLAGS, 2), "second frame in the second slot");
        assertEquals((byte)(3 * 16 + 8), (byte)m.memory(1).read8(RX_BUF + 0x400 + 8));
    }

    @Test
    void frameWithNoPostedRxBufferIsMissed()
    {
        final Machine m = twoNodes(6, 16);
        final Outcome o = m.run(10_000_000);
        assertTrue(o.clean(), o.toString());
        assertEquals(6, sink.of(EventKind.NET_SEND).size());
        assertEquals(4, sink.of(EventKind.NET_DELIVER).size(), "only 4 buffers were posted");
        assertEquals(2, m.nic(1).rxMissed());
    }
}
