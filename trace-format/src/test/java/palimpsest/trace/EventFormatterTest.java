package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class EventFormatterTest
{
    private static final EventFormatter F = new EventFormatter(null, new String[] {"timer", "ipi", "nic"});

    @Test
    void accesses()
    {
        assertEquals("#42 cpu1 ic=1234 pc=ffffffff81001234 store.8 v=ffff880000012340 p=0000000000012340 " +
                "0000000000000000 -> 00000000deadbeef",
            F.format(new Event().setAccess(EventKind.STORE, 1, 1234, 0xffffffff81001234L, 0xffff880000012340L,
                0x12340, 8, 0xdeadbeefL, 0).index(42)));
        assertEquals("#7 cpu0 ic=5 pc=ffffffff81000000 load.4 v=ffff880000000010 p=0000000000000010 = 0000002a",
            F.format(new Event().setAccess(EventKind.LOAD, 0, 5, 0xffffffff81000000L, 0xffff880000000010L, 0x10, 4,
                42, 0).index(7)));
        assertEquals("#8 cpu3 ic=9 pc=0000000000001000 walk.8 v=ffff880000000010 p=0000000000001ff8 = 0000000000002063",
            F.format(new Event().setAccess(EventKind.WALK, 3, 9, 0x1000, 0xffff880000000010L, 0x1ff8, 8, 0x2063, 0)
                .index(8)));
        assertEquals("#9 nic1 ic=0 pc=0000000000000000 dma-write.1 v=0000000000000000 p=0000000000004000 ff -> 01",
            F.format(new Event().setAccess(EventKind.DMA_WRITE, EventKind.deviceId(1), 0, 0, 0, 0x4000, 1, 1, 0xff)
                .index(9)));
    }

    @Test
    void otherKinds()
    {
        assertEquals("#43 cpu0 ic=99 interrupt vec=0xef src=timer",
            F.format(new Event().setEvent(EventKind.INTERRUPT, 0, 99, 0, 0xef, 0, 0).index(43)));
        assertEquals("#44 cpu2 ic=10 pc=ffffffff81000010 exception vec=14(#PF) err=0x2 addr=0000000000000008",
            F.format(new Event().setEvent(EventKind.EXCEPTION, 2, 10, 0xffffffff81000010L, 14, 2, 8).index(44)));
        assertEquals("#45 cpu0 ic=1 ipi dest=cpu1 mode=sipi vec=0x9",
            F.format(new Event().setEvent(EventKind.IPI, 0, 1, 0, 1, 6, 9).index(45)));
        assertEquals("#46 cpu0 ic=1 ipi dest=cpu3 mode=fixed vec=0xfd",
            F.format(new Event().setEvent(EventKind.IPI, 0, 1, 0, 3, 0, 0xfd).index(46)));
        assertEquals("#47 cpu1 ic=2 input slice=5000",
            F.format(new Event().setEvent(EventKind.INPUT, 1, 2, 0, InputKind.SLICE, 5000, 0).index(47)));
        assertEquals("#48 cpu1 ic=2 cpu-switch from cpu0",
            F.format(new Event().setEvent(EventKind.CPU_SWITCH, 1, 2, 0, 0, 0, 0).index(48)));
        assertEquals("#49 cpu1 ic=2 task-switch 12 -> 15",
            F.format(new Event().setEvent(EventKind.TASK_SWITCH, 1, 2, 0, 12, 15, 0).index(49)));
        assertEquals("#50 cpu1 ic=2 io out port=0x3f8 v=0x41",
            F.format(new Event().setEvent(EventKind.IO, 1, 2, 0, 0x3f8, 0x41, 1).index(50)));
        assertEquals("#51 cpu1 ic=2 reg rsp=ffffc90000003f00",
            F.format(new Event().setEvent(EventKind.REG, 1, 2, 0, Reg.SP, 0xffffc90000003f00L, 0).index(51)));
        assertEquals("#52 cpu1 ic=2 mark type=3 b=0x10 c=0x20",
            F.format(new Event().setEvent(EventKind.MARK, 1, 2, 0, 3, 16, 32).index(52)));
        assertEquals("#53 cpu1 ic=2 kind#99 a=0x1 b=0x2 c=0x3",
            F.format(new Event().setEvent(99, 1, 2, 0, 1, 2, 3).index(53)));
        final byte[] frame = new byte[60];
        for (int i = 0; i < frame.length; i++)
        {
            frame[i] = (byte)i;
        }
        assertEquals("#54 nic0 vt=5000 net-send dst=node1 frame=7 len=60 data=000102030405060708090a0b0c0d0e0f..",
            F.format(new Event().setNet(EventKind.NET_SEND, EventKind.deviceId(0), 5000, 1, 7, frame, 0, 60).index(54)));
        assertEquals("#55 nic1 vt=5050 net-deliver src=node0 frame=7 len=3 data=000102",
            F.format(new Event().setNet(EventKind.NET_DELIVER, EventKind.deviceId(1), 5050, 0, 7, frame, 0, 3).index(55)));
    }

    @Test
    void symbolizer()
    {
        final EventFormatter f = new EventFormatter(pc -> pc == 0xffffffff8100101cL ? "spin_lock+0x1c/0x80" : null);
        assertEquals("#1 cpu0 ic=3 pc=spin_lock+0x1c/0x80 rmw.4 v=0000000000001000 p=0000000000001000 00000000 -> 00000001",
            f.format(new Event().setAccess(EventKind.RMW, 0, 3, 0xffffffff8100101cL, 0x1000, 0x1000, 4, 1, 0).index(1)));
        assertEquals("#2 cpu0 ic=3 pc=ffffffff81001020 load.1 v=0000000000001000 p=0000000000001000 = 01",
            f.format(new Event().setAccess(EventKind.LOAD, 0, 3, 0xffffffff81001020L, 0x1000, 0x1000, 1, 1, 0).index(2)));
        // Without source names the number is printed.
        assertEquals("#3 cpu0 ic=1 interrupt vec=0x20 src=2",
            EventFormatter.DEFAULT.format(new Event().setEvent(EventKind.INTERRUPT, 0, 1, 0, 0x20, 2, 0).index(3)));
    }
}
