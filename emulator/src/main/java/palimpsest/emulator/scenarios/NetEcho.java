package palimpsest.emulator.scenarios;

import java.util.List;

import palimpsest.emulator.ScenarioArg;
import palimpsest.emulator.Apic;
import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.emulator.Scenario;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.net.Nic;

/**
 * Two nodes echo frames through their NICs. Node 0 (client) sends {@code frames} request frames
 * of varying length, one at a time (stop-and-wait); node 1 (server) echoes each one from its RX
 * interrupt handler; the client's RX handler checks every byte of each echo. Loss (the chaos
 * schedule drops frames, a full RX ring misses them) is handled by retransmitting on a one-shot
 * APIC timer timeout; late echoes of an already acknowledged frame are counted as duplicates.
 * The client prints a summary and powers the machine off; any corrupted payload is a failure.
 */
public final class NetEcho implements Scenario
{
    static final long CLIENT_MAIN = 0x100000;
    static final long CLIENT_SEND = 0x100400;
    static final long CLIENT_RX = 0x100600;
    static final long CLIENT_TIMEOUT = 0x100800;
    static final long SERVER_MAIN = 0x100900;
    static final long SERVER_RX = 0x100B00;
    static final long NIC_SETUP = 0x100D00;
    static final long UNEXPECTED = 0x100E00;

    static final long IDT = 0x200000;
    static final long DATA = 0x300000;
    static final long ACKED = DATA;
    static final long TIMED_OUT = DATA + 0x08;
    static final long RETRANSMITS = DATA + 0x10;
    static final long DUPLICATES = DATA + 0x18;
    static final long BAD = DATA + 0x20;
    static final long RX_NEXT = DATA + 0x28;
    static final long TX_NEXT = DATA + 0x30;
    static final long ECHOED = DATA + 0x38;
    static final long TX_RING = 0x310000;
    static final long RX_RING = 0x311000;
    static final long TX_BUFS = 0x320000;
    static final long RX_BUFS = 0x340000;
    static final long BUF_SIZE = 0x800;
    static final int RING = 16;
    static final long STACK_TOP = 0x500000;

    static final int RX_VECTOR = 0x60;
    static final int TIMER_VECTOR = 0x40;
    static final long TYPE_REQUEST = 0x31484345L;   // "ECH1"
    static final long TYPE_REPLY = 0x32484345L;     // "ECH2"
    static final long TIMEOUT = 150_000;
    static final int MAX_TRIES = 20;

    @Override
    public String name()
    {
        return "net-echo";
    }

    @Override
    public String description()
    {
        return "bare metal, 2 nodes: node 0 sends frames through its NIC, node 1 echoes them, node 0 checks (arg frames=N)";
    }

    @Override
    public List<ScenarioArg> args()
    {
        return List.of(
            ScenarioArg.number("frames", "64", "frames node 0 sends and node 1 echoes"));
    }

    @Override
    public MachineConfig defaultConfig()
    {
        return new MachineConfig(2, 1, 128);
    }

    @Override
    public void load(final Machine m, final ScenarioContext ctx)
    {
        if (m.config().nodes != 2)
        {
            throw new IllegalArgumentException("net-echo needs exactly 2 nodes, got " + m.config().nodes);
        }
        if (m.config().memMiB < 8)
        {
            throw new IllegalArgumentException("net-echo needs at least 8 MiB per node, got " + m.config().memMiB);
        }
        final long frames = ctx.longArg("frames", 64);
        if (frames < 1 || frames > 1_000_000)
        {
            throw new IllegalArgumentException("frames must be 1..1000000, got " + frames);
        }
        final Program p = new Program(frames);
        Bare.text(m, "client_main", CLIENT_MAIN, 0x400, p::clientMain);
        Bare.text(m, "echo_send", CLIENT_SEND, 0x200, null);
        Bare.text(m, "client_rx_interrupt", CLIENT_RX, 0x200, p::clientRx);
        Bare.text(m, "client_timeout_interrupt", CLIENT_TIMEOUT, 0x100, p::clientTimeout);
        Bare.text(m, "server_main", SERVER_MAIN, 0x200, p::serverMain);
        Bare.text(m, "server_rx_interrupt", SERVER_RX, 0x200, p::serverRx);
        Bare.text(m, "nic_setup", NIC_SETUP, 0x100, null);
        Bare.text(m, "unexpected_interrupt", UNEXPECTED, 0x80, Bare.unexpected(UNEXPECTED));
        m.setBootEntry(0, CLIENT_MAIN);
        m.setBootEntry(1, SERVER_MAIN);
    }

    @Override
    public long maxInstructions()
    {
        return 20_000_000_000L;
    }

    @Override
    public Verdict verdict(final Machine m, final Outcome outcome)
    {
        if (!outcome.clean())
        {
            return Verdict.bad("run ended " + outcome + (m.console(0).text().isEmpty() ? "" : "; console: " + lastLine(m.console(0).text())));
        }
        final String console = m.console(0).text();
        if (!console.contains("net-echo: PASS"))
        {
            return Verdict.bad("powered off without the PASS line");
        }
        final PhysicalMemory mem = m.memory(0);
        return Verdict.good(mem.read64(ACKED) + " frames echoed, " + mem.read64(RETRANSMITS) + " retransmits, " +
            mem.read64(DUPLICATES) + " duplicates, " + m.fabric().dropped() + " dropped by the fabric");
    }

    private static String lastLine(final String s)
    {
        final String t = s.strip();
        final int i = t.lastIndexOf('\n');
        return i < 0 ? t : t.substring(i + 1);
    }

    /** Frame length for sequence number seq: header + seq word + 1..24 payload words. */
    static int frameLength(final long seq)
    {
        return Nic.HDR_SIZE + 8 + 8 * (1 + (int)((seq * 7) % 24));
    }

    /** Payload word k of frame seq (a pure function: computed in registers). */
    static long pattern(final long seq, final int k)
    {
        long z = seq * 0x9E3779B97F4A7C15L + k * 0xC2B2AE3D27D4EB4FL;
        z = (z ^ (z >>> 29)) * 0xBF58476D1CE4E5B9L;
        return z ^ (z >>> 32);
    }

    static final class Program
    {
        final long frames;

        Program(final long frames)
        {
            this.frames = frames;
        }

        /** IDT, stack, NIC rings (every RX buffer posted), RX interrupt to this cpu. */
        void setup(final Cpu c, final long main, final long rxHandler)
        {
            c.pc(main);
            c.setSp(STACK_TOP);
            c.setFp(0);
            Bare.fillIdt(c, IDT, UNEXPECTED);
            Bare.setVector(c, IDT, RX_VECTOR, rxHandler);
            Bare.setVector(c, IDT, TIMER_VECTOR, CLIENT_TIMEOUT);
            c.lidt(IDT);
            c.call(NIC_SETUP);
            for (int i = 0; i < RING; i++)
            {
                final long d = RX_RING + i * (long)Nic.DESC_SIZE;
                c.store64(d + Nic.DESC_ADDR, RX_BUFS + i * BUF_SIZE);
                c.store32(d + Nic.DESC_LEN, BUF_SIZE);
                c.store16(d + Nic.DESC_PEER, 0);
                c.store16(d + Nic.DESC_FLAGS, Nic.OWN);
                c.store16(TX_RING + i * (long)Nic.DESC_SIZE + Nic.DESC_FLAGS, 0);
            }
            c.out(Nic.TX_BASE, TX_RING);
            c.out(Nic.TX_SIZE, RING);
            c.out(Nic.RX_BASE, RX_RING);
            c.out(Nic.RX_SIZE, RING);
            c.out(Nic.RX_TAIL, RING);
            c.out(Nic.IRQ_CPU, Bare.localApicId(c));
            c.out(Nic.RX_VECTOR, RX_VECTOR);
            c.ret();
            c.sti();
        }

        /** Posts one TX descriptor for the frame already built in slot's buffer and rings the doorbell. */
        static boolean post(final Cpu c, final long slot, final long len)
        {
            final long d = TX_RING + slot * Nic.DESC_SIZE;
            if ((c.load16(d + Nic.DESC_FLAGS) & Nic.OWN) != 0)
            {
                return false;
            }
            c.store64(d + Nic.DESC_ADDR, TX_BUFS + slot * BUF_SIZE);
            c.store32(d + Nic.DESC_LEN, len);
            c.store16(d + Nic.DESC_FLAGS, Nic.OWN);
            final long next = c.load64(TX_NEXT) + 1;
            c.store64(TX_NEXT, next);
            c.out(Nic.TX_TAIL, next);
            c.out(Nic.DOORBELL, 1);
            return true;
        }

        void send(final Cpu c, final long seq)
        {
            final long ret = c.pc();
            c.call(CLIENT_SEND);
            final long slot = c.load64(TX_NEXT) % RING;
            final long buf = TX_BUFS + slot * BUF_SIZE;
            final int len = frameLength(seq);
            c.store32(buf + Nic.HDR_DST, 1);          // dst = node 1, src = node 0
            c.store32(buf + Nic.HDR_TYPE, TYPE_REQUEST);
            c.store64(buf + Nic.HDR_SIZE, seq);
            c.pc(CLIENT_SEND + 0x40);
            for (int k = 0; k * 8 < len - Nic.HDR_SIZE - 8; k++)
            {
                c.compute(3);
                c.store64(buf + Nic.HDR_SIZE + 8 + k * 8L, pattern(seq, k));
            }
            c.pc(CLIENT_SEND + 0x80);
            if (!post(c, slot, len))
            {
                Bare.print(c, "net-echo: FAIL tx descriptor still owned by the NIC\n");
                c.out(Machine.POWER_PORT, 4);
            }
            c.ret();
            c.pc(ret);
        }

        void clientMain(final Cpu c)
        {
            setup(c, CLIENT_MAIN, CLIENT_RX);
            c.pc(CLIENT_MAIN + 0x40);
            Bare.print(c, "net-echo: node " + c.in(Nic.NODE) + " sending " + frames + " frames to node 1\n");
            c.apicWrite(Apic.TIMER_DIV, 0);
            c.apicWrite(Apic.LVT_TIMER, TIMER_VECTOR);
            for (long seq = 0; seq < frames; seq++)
            {
                c.pc(CLIENT_MAIN + 0x80);
                int tries = 1;
                c.store64(TIMED_OUT, 0);
                send(c, seq);
                c.apicWrite(Apic.TIMER_INIT, TIMEOUT);
                c.pc(CLIENT_MAIN + 0xC0);
                while (c.load64(ACKED) <= seq)
                {
                    if (c.load64(TIMED_OUT) != 0)
                    {
                        c.pc(CLIENT_MAIN + 0x100);
                        if (++tries > MAX_TRIES)
                        {
                            Bare.print(c, "net-echo: FAIL frame " + seq + " unanswered after " + MAX_TRIES + " tries\n");
                            c.out(Machine.POWER_PORT, 2);
                        }
                        c.store64(RETRANSMITS, c.load64(RETRANSMITS) + 1);
                        c.store64(TIMED_OUT, 0);
                        send(c, seq);
                        c.apicWrite(Apic.TIMER_INIT, TIMEOUT);
                        c.pc(CLIENT_MAIN + 0xC0);
                        continue;
                    }
                    c.hlt();
                }
                if ((seq + 1) % Math.max(1, frames / 4) == 0)
                {
                    c.pc(CLIENT_MAIN + 0x180);
                    Bare.print(c, "net-echo: " + (seq + 1) + "/" + frames + " echoed\n");
                }
            }
            c.pc(CLIENT_MAIN + 0x200);
            c.apicWrite(Apic.TIMER_INIT, 0);
            final long acked = c.load64(ACKED);
            final long bad = c.load64(BAD);
            final long retrans = c.load64(RETRANSMITS);
            final long dups = c.load64(DUPLICATES);
            final long missed = c.in(Nic.RX_MISSED);
            c.pc(CLIENT_MAIN + 0x240);
            if (bad != 0 || acked != frames)
            {
                Bare.print(c, "net-echo: FAIL " + bad + " bad echoes, " + acked + "/" + frames + " acknowledged\n");
                c.out(Machine.POWER_PORT, 1);
            }
            Bare.print(c, "net-echo: PASS " + acked + " frames echoed intact, " + retrans + " retransmits (lost or late), " +
                dups + " duplicate echoes, " + missed + " missed for want of an rx buffer\n");
            c.out(Machine.POWER_PORT, 0);
        }

        /** The ring index of the next RX descriptor the NIC has filled (OWN clear), or -1 if none. */
        private long nextFilledRx(final Cpu c)
        {
            final long rxn = c.load64(RX_NEXT);
            final long d = RX_RING + rxn % RING * Nic.DESC_SIZE;
            return (c.load16(d + Nic.DESC_FLAGS) & Nic.OWN) != 0 ? -1 : rxn;
        }

        /** Hands RX descriptor d (ring index rxn) back to the NIC with an empty buffer and moves on. */
        private void repostRx(final Cpu c, final long rxn, final long d)
        {
            c.store32(d + Nic.DESC_LEN, BUF_SIZE);
            c.store16(d + Nic.DESC_FLAGS, Nic.OWN);
            c.store64(RX_NEXT, rxn + 1);
            c.out(Nic.RX_TAIL, rxn + 1 + RING);
        }

        void clientTimeout(final Cpu c)
        {
            c.pc(CLIENT_TIMEOUT);
            c.store64(TIMED_OUT, 1);
            c.eoi();
        }

        /** Takes every filled RX descriptor: checks the echo, re-posts the buffer. */
        void clientRx(final Cpu c)
        {
            c.pc(CLIENT_RX);
            long rxn;
            while ((rxn = nextFilledRx(c)) >= 0)
            {
                final long slot = rxn % RING;
                final long d = RX_RING + slot * Nic.DESC_SIZE;
                c.pc(CLIENT_RX + 0x40);
                final long len = c.load32(d + Nic.DESC_LEN);
                final long buf = RX_BUFS + slot * BUF_SIZE;
                final long type = c.load32(buf + Nic.HDR_TYPE);
                final long seq = c.load64(buf + Nic.HDR_SIZE);
                boolean ok = type == TYPE_REPLY && len == frameLength(seq) && c.load16(buf + Nic.HDR_DST) == 0;
                c.pc(CLIENT_RX + 0x80);
                for (int k = 0; ok && k * 8 < len - Nic.HDR_SIZE - 8; k++)
                {
                    ok = c.load64(buf + Nic.HDR_SIZE + 8 + k * 8L) == pattern(seq, k);
                    c.compute(3);
                }
                c.pc(CLIENT_RX + 0xC0);
                final long acked = c.load64(ACKED);
                if (!ok)
                {
                    c.store64(BAD, c.load64(BAD) + 1);
                }
                else if (seq == acked)
                {
                    c.store64(ACKED, acked + 1);
                }
                else
                {
                    c.store64(DUPLICATES, c.load64(DUPLICATES) + 1);
                }
                c.pc(CLIENT_RX + 0x100);
                repostRx(c, rxn, d);
            }
            c.out(Nic.STATUS, Nic.STATUS_RX);
            c.eoi();
        }

        void serverMain(final Cpu c)
        {
            setup(c, SERVER_MAIN, SERVER_RX);
            c.pc(SERVER_MAIN + 0x40);
            Bare.print(c, "net-echo: node " + c.in(Nic.NODE) + " echoing\n");
            c.pc(SERVER_MAIN + 0x80);
            while (true)
            {
                c.hlt();
            }
        }

        void serverRx(final Cpu c)
        {
            c.pc(SERVER_RX);
            long rxn;
            while ((rxn = nextFilledRx(c)) >= 0)
            {
                final long slot = rxn % RING;
                final long d = RX_RING + slot * Nic.DESC_SIZE;
                c.pc(SERVER_RX + 0x40);
                final long len = c.load32(d + Nic.DESC_LEN);
                final long peer = c.load16(d + Nic.DESC_PEER);
                final long buf = RX_BUFS + slot * BUF_SIZE;
                if (c.load32(buf + Nic.HDR_TYPE) == TYPE_REQUEST && len >= Nic.HDR_SIZE + 8 && len <= BUF_SIZE)
                {
                    c.pc(SERVER_RX + 0x80);
                    final long tslot = c.load64(TX_NEXT) % RING;
                    final long tbuf = TX_BUFS + tslot * BUF_SIZE;
                    c.store32(tbuf + Nic.HDR_DST, peer | 1L << 16);
                    c.store32(tbuf + Nic.HDR_TYPE, TYPE_REPLY);
                    for (long off = Nic.HDR_SIZE; off + 8 <= len; off += 8)
                    {
                        c.store64(tbuf + off, c.load64(buf + off));
                    }
                    c.pc(SERVER_RX + 0xC0);
                    if (post(c, tslot, len))
                    {
                        c.store64(ECHOED, c.load64(ECHOED) + 1);
                    }
                }
                c.pc(SERVER_RX + 0x100);
                repostRx(c, rxn, d);
            }
            c.out(Nic.STATUS, Nic.STATUS_RX);
            c.eoi();
        }
    }
}
