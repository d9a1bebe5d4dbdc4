package palimpsest.gdb;

import java.io.IOException;
import java.io.PrintStream;
import java.net.Socket;
import java.util.Locale;

import palimpsest.gdb.rsp.RspChannel;
import palimpsest.replayer.state.CpuRegs;

/**
 * Answers one gdb connection over the GDB Remote Serial Protocol from a {@link ReplayTarget}: every
 * emulated cpu (of the chosen node, or all) is a gdb thread (thread id = cpu + 1), registers are
 * {@link X86Registers}, memory reads go through that cpu's page tables at the current event, and
 * execution goes both ways ({@code c s bc bs vCont}). The target is a recording, so it is never
 * written: {@code G P M X} are refused, breakpoints and watchpoints live in the target's tables.
 * Monitor commands ({@code qRcmd}): {@link Monitor}.
 */
public final class GdbServer
{
    private final ReplayTarget target;
    private final Monitor monitor;
    private final int firstCpu;
    private final int cpus;
    private final PrintStream log;
    private RspChannel ch;
    private int gThread;
    private boolean swbreak;
    private ReplayTarget.Stop last;

    /**
     * @param node the node whose cpus are the threads, or -1 for every cpu
     * @param log where connections and stops are logged (the terminal running pal gdb)
     */
    public GdbServer(final ReplayTarget target, final int node, final PrintStream log)
    {
        this.target = target;
        this.log = log;
        final int perNode = target.state().config().cpusPerNode;
        this.firstCpu = node < 0 ? 0 : node * perNode;
        this.cpus = node < 0 ? target.cpuCount() : perNode;
        if (target.thread() < firstCpu || target.thread() >= firstCpu + cpus)
        {
            target.thread(firstCpu);
        }
        this.gThread = target.thread();
        this.monitor = new Monitor(target);
    }

    /** Serves one connection until gdb detaches, kills or hangs up. */
    public void serve(final Socket socket) throws IOException
    {
        socket.setTcpNoDelay(true);
        ch = new RspChannel(socket.getInputStream(), socket.getOutputStream());
        // on connect: a plain SIGTRAP stop where the target stands (the end, on the faulting cpu)
        last = new ReplayTarget.Stop(ReplayTarget.Reason.STEP, target.thread(), -1, 0, 0, null);
        String p;
        while ((p = ch.read()) != null)
        {
            if (p.equals(RspChannel.INTERRUPT))
            {
                continue;
            }
            final String reply;
            try
            {
                reply = answer(p);
            }
            catch (final RuntimeException e)
            {
                // one bad request must not end the session: gdb shows the error and goes on
                ch.send("E01");
                log.println("pal gdb: " + p + ": " + e);
                continue;
            }
            if (reply == null)
            {
                return;
            }
            ch.send(reply);
            if (p.equals("QStartNoAckMode"))
            {
                ch.noAcks();
            }
        }
    }

    /** The reply to one packet; null to end the session (after its OK is sent). */
    private String answer(final String p) throws IOException
    {
        if (p.isEmpty())
        {
            return "";
        }
        final char c = p.charAt(0);
        switch (c)
        {
            case '?':
                return stopReply(last);
            case 'g':
                return X86Registers.all(target.regs(gThread), target.pc(gThread));
            case 'p':
            {
                final int n = Integer.parseInt(p.substring(1), 16);
                if (n >= X86Registers.COUNT)
                {
                    return "E00";
                }
                final StringBuilder sb = new StringBuilder();
                X86Registers.appendHex(sb, n, target.regs(gThread), target.pc(gThread));
                return sb.toString();
            }
            case 'G':
            case 'P':
            case 'M':
            case 'X':
                return "E01"; // a recording is read-only
            case 'm':
                return memory(p.substring(1));
            case 'H':
                return setThread(p);
            case 'T':
                return alive(tid(p.substring(1))) ? "OK" : "E01";
            case 'c':
            case 'C':
                return resume(false, target.thread());
            case 's':
            case 'S':
                return resume(true, target.thread());
            case 'b':
                if (p.equals("bc") || p.equals("bs"))
                {
                    final ReplayTarget.Stop s = target.reverse(p.equals("bs"), target.thread());
                    return stopped(s);
                }
                return "";
            case 'Z':
            case 'z':
                return point(c == 'Z', p.substring(1));
            case 'D':
                ch.send("OK");
                log.println("pal gdb: gdb detached");
                return null;
            case 'k':
                log.println("pal gdb: gdb killed the session (the trace is untouched)");
                return null;
            case 'q':
            case 'Q':
                return query(p);
            case 'v':
                return vPacket(p);
            default:
                return "";
        }
    }

    private String query(final String p) throws IOException
    {
        if (p.startsWith("qSupported"))
        {
            swbreak = p.contains("swbreak+");
            return "PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;" +
                "ReverseContinue+;ReverseStep+;vContSupported+";
        }
        if (p.equals("QStartNoAckMode"))
        {
            return "OK";
        }
        if (p.startsWith("qXfer:features:read:"))
        {
            return features(p.substring("qXfer:features:read:".length()));
        }
        if (p.equals("qfThreadInfo"))
        {
            final StringBuilder sb = new StringBuilder("m");
            for (int i = 0; i < cpus; i++)
            {
                sb.append(i == 0 ? "" : ",").append(Integer.toHexString(firstCpu + i + 1));
            }
            return sb.toString();
        }
        if (p.equals("qsThreadInfo"))
        {
            return "l";
        }
        if (p.equals("qC"))
        {
            return "QC" + Integer.toHexString(target.thread() + 1);
        }
        if (p.equals("qAttached"))
        {
            return "1";
        }
        if (p.startsWith("qSymbol"))
        {
            return "OK";
        }
        if (p.startsWith("qThreadExtraInfo,"))
        {
            final int cpu = tid(p.substring("qThreadExtraInfo,".length()));
            if (!alive(cpu))
            {
                return "E01";
            }
            final CpuRegs r = target.regs(cpu);
            return RspChannel.hex("cpu" + cpu + (r.fiber() == CpuRegs.NO_FIBER ? "" : " fiber " + r.fiber()) +
                (r.cpl() == 3 ? " user" : " kernel"));
        }
        if (p.startsWith("qRcmd,"))
        {
            final String out = monitor.run(RspChannel.unhex(p.substring("qRcmd,".length())).trim());
            for (final String line : out.split("(?<=\n)"))
            {
                ch.send("O" + RspChannel.hex(line));
            }
            return "OK";
        }
        return "";
    }

    private String vPacket(final String p)
    {
        if (p.equals("vCont?"))
        {
            return "vCont;c;C;s;S";
        }
        if (p.startsWith("vCont;"))
        {
            // step wins over continue: the stepping thread's next event ends the resume
            for (final String action : p.substring(6).split(";"))
            {
                final char a = action.isEmpty() ? 'c' : action.charAt(0);
                if (a == 's' || a == 'S')
                {
                    final int colon = action.indexOf(':');
                    final int cpu = colon < 0 ? target.thread() : tid(action.substring(colon + 1));
                    return resume(true, alive(cpu) ? cpu : target.thread());
                }
            }
            return resume(false, target.thread());
        }
        if (p.equals("vMustReplyEmpty"))
        {
            return "";
        }
        if (p.startsWith("vKill"))
        {
            return "OK";
        }
        return "";
    }

    private String resume(final boolean step, final int cpu)
    {
        return stopped(target.resume(step, cpu, () ->
        {
            try
            {
                return ch.interrupted();
            }
            catch (final IOException e)
            {
                return true;
            }
        }));
    }

    private String stopped(final ReplayTarget.Stop s)
    {
        int cpu = s.cpu;
        if (!alive(cpu))
        {
            cpu = alive(target.thread()) ? target.thread() : firstCpu;
        }
        target.thread(cpu);
        gThread = cpu;
        last = new ReplayTarget.Stop(s.reason, cpu, s.event, s.watchAddr, s.watchType, s.note);
        log.printf("pal gdb: stopped (%s) at event %d, thread %d (cpu%d)%n", s.reason.name().toLowerCase(Locale.ROOT),
            target.position(), cpu + 1, cpu);
        if (s.note != null)
        {
            try
            {
                ch.send("O" + RspChannel.hex("pal: " + s.note + "\n"));
            }
            catch (final IOException e)
            {
                throw new java.io.UncheckedIOException(e);
            }
            log.println("pal gdb: " + s.note);
        }
        return stopReply(last);
    }

    private String stopReply(final ReplayTarget.Stop s)
    {
        final StringBuilder sb = new StringBuilder("T").append(s.reason == ReplayTarget.Reason.INTERRUPT ? "02" : "05")
            .append("thread:").append(Integer.toHexString(s.cpu + 1)).append(';');
        switch (s.reason)
        {
            case WATCHPOINT:
                sb.append(s.watchType == ReplayTarget.WRITE ? "watch" : s.watchType == ReplayTarget.READ ? "rwatch" : "awatch")
                    .append(':').append(Long.toHexString(s.watchAddr)).append(';');
                break;
            case BREAKPOINT:
                if (swbreak)
                {
                    sb.append("swbreak:;");
                }
                break;
            case BEGIN:
                sb.append("replaylog:begin;");
                break;
            case END:
                sb.append("replaylog:end;");
                break;
            default:
                break;
        }
        return sb.toString();
    }

    private String memory(final String args)
    {
        final int comma = args.indexOf(',');
        final long addr = Long.parseUnsignedLong(args.substring(0, comma), 16);
        final int len = Math.min(Integer.parseInt(args.substring(comma + 1), 16), 0x1000);
        final byte[] b = new byte[len];
        final int n = target.read(gThread, addr, b, len);
        return n == 0 && len > 0 ? "E14" : RspChannel.hex(b, 0, n);
    }

    private String setThread(final String p)
    {
        final String id = p.substring(2);
        if (id.equals("0") || id.equals("-1"))
        {
            return "OK";
        }
        final int cpu = tid(id);
        if (!alive(cpu))
        {
            return "E01";
        }
        if (p.charAt(1) == 'g')
        {
            gThread = cpu;
        }
        else
        {
            target.thread(cpu);
        }
        return "OK";
    }

    private String point(final boolean insert, final String args)
    {
        final String[] f = args.split("[,;]");
        final int type = Integer.parseInt(f[0]);
        final long addr = Long.parseUnsignedLong(f[1], 16);
        final int len = Integer.parseInt(f[2], 16);
        if (type == 0 || type == 1)
        {
            if (insert)
            {
                target.addBreakpoint(addr);
            }
            else
            {
                target.removeBreakpoint(addr);
            }
            return "OK";
        }
        if (type >= 2 && type <= 4)
        {
            if (!insert)
            {
                target.removeWatch(type, addr, len);
                return "OK";
            }
            if (len <= 0 || len > 4096)
            {
                return "E22";
            }
            final int was = target.thread();
            target.thread(gThread);
            try
            {
                return target.addWatch(type, addr, len) ? "OK" : "E14";
            }
            finally
            {
                target.thread(was);
            }
        }
        return "";
    }

    private String features(final String args)
    {
        final int colon = args.indexOf(':');
        if (colon < 0 || !args.substring(0, colon).equals("target.xml"))
        {
            return "E00";
        }
        final String[] range = args.substring(colon + 1).split(",");
        final int off = Integer.parseInt(range[0], 16);
        final int len = Integer.parseInt(range[1], 16);
        final String xml = X86Registers.TARGET_XML;
        if (off >= xml.length())
        {
            return "l";
        }
        final int to = Math.min(xml.length(), off + len);
        return (to == xml.length() ? "l" : "m") + xml.substring(off, to);
    }

    private boolean alive(final int cpu)
    {
        return cpu >= firstCpu && cpu < firstCpu + cpus;
    }

    /** gdb thread id (hex; -1 and 0 mean any) to cpu. */
    private int tid(final String s)
    {
        final String t = s.startsWith("p") ? s.substring(s.indexOf('.') + 1) : s;
        if (t.equals("-1") || t.equals("0"))
        {
            return target.thread();
        }
        return Integer.parseInt(t, 16) - 1;
    }
}
