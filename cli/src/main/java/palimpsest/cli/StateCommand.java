package palimpsest.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import palimpsest.emulator.CodeMap;
import palimpsest.replayer.state.CpuRegs;
import palimpsest.replayer.state.StateIndex;
import palimpsest.replayer.state.TraceState;
import palimpsest.replayer.state.UnmappedAddressException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "state", mixinStandardHelpOptions = true,
    header = "Show the machine at event N from the trace alone: registers, backtraces and memory.",
    description = {"The machine at event N, from the trace alone (nothing is re-executed): every cpu's registers,",
        "a backtrace per cpu, and with --mem the bytes at an address. \"At event N\" means after events",
        "0..N-1 were applied, i.e. just before event N (N = 0: the loaded machine before it ran).",
        "Uses the trace's keyframes (rebuilt in one pass, and said so, when missing, damaged or another trace's).",
        "Exit 0, or 2 for bad input or a truncated or damaged trace (after the state, which is exact for N",
        "within what can be read)."})
final class StateCommand implements Callable<Integer>
{
    private static final int MAX_FRAMES = 16;
    private static final int MAX_DUMP = 1 << 20;

    private final Io io;

    @Parameters(index = "0", paramLabel = "TRACE", description = "Trace directory.")
    Path trace;

    @Option(names = "--at", required = true, paramLabel = "N", description = "Event number: the state after events 0..N-1.")
    long at;

    @Option(names = "--cpu", paramLabel = "C", description = "Only this cpu (and its page tables for --mem).")
    Integer cpu;

    @Option(names = "--mem", paramLabel = "ADDR:LEN",
        description = "Hex dump LEN bytes at ADDR (0x.. hex or decimal), virtual through the page tables of --cpu " +
            "(default: the first cpu with paging on) unless --phys.")
    String mem;

    @Option(names = "--phys", description = "--mem ADDR is a physical address (in the node of --cpu or --node, default 0).")
    boolean phys;

    @Option(names = "--node", paramLabel = "N", description = "Only this node's cpus; --mem through its page tables or memory.")
    Integer node;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    StateCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call()
    {
        final int rc;
        try
        {
            rc = answer();
        }
        catch (final palimpsest.replayer.state.KeyframeIndex.PageDamaged e)
        {
            // Read lazily, a page can fail its hash after the state was built (the index is checked when opened).
            throw new UserError(e.getMessage() + "; delete " + palimpsest.replayer.state.KeyframeIndex.of(trace) + " to rebuild it");
        }
        return Whole.exit(io, rc, Whole.of(trace, stateIndex == null ? null : stateIndex.extent()));
    }

    /** Kept for its keyframe index, which knows the trace's extent without a verification pass. */
    private StateIndex stateIndex;

    private int answer()
    {
        final palimpsest.trace.TraceHeader h = DumpCommand.header(trace);
        if (palimpsest.recorder.image.LoadedImage.open(trace, h.digest()) == null)
        {
            // No loaded image: the scenario is loaded, so it must be one this pal has.
            ReplayCommand.checkHeader(trace, h, plugins.catalog());
        }
        Limits.atLeast("--at", at, 0);
        Limits.atLeast("--cpu", cpu, 0);
        final long[] range = mem == null ? null : parseRange(mem);
        final StateIndex index;
        final TraceState st;
        try
        {
            index = StateIndex.open(trace, plugins::catalog);
            stateIndex = index;
            st = index.view(at, null, null);
        }
        catch (final StateIndex.BeyondEnd e)
        {
            throw new UserError(e.getMessage());
        }
        catch (final IllegalArgumentException e)
        {
            throw new UserError(Main.firstLine(e.getMessage()));
        }
        if (cpu != null && (cpu < 0 || cpu >= st.cpuCount()))
        {
            throw new UserError("--cpu " + cpu + ": the machine has cpus 0.." + (st.cpuCount() - 1));
        }
        final int perNode = st.config().cpusPerNode;
        if (node != null && (node < 0 || node >= st.config().nodes))
        {
            throw new UserError("--node " + node + ": the machine has nodes 0.." + (st.config().nodes - 1));
        }
        if (node != null && cpu != null && cpu / perNode != node)
        {
            throw new UserError("--cpu " + cpu + " is not on node " + node);
        }
        if (range != null)
        {
            checkPaging(st);
        }
        if (index.note() != null)
        {
            io.err.println("pal: note: " + index.note());
        }
        final PrintStream out = io.out;
        final CodeMap code = st.machine() != null ? st.machine().code() : index.image().code();
        out.println("state of " + trace + " at event " + at + " (after events 0.." + (at - 1) + "; " +
            (index.keyframesUsed() == 0 ? "from the loaded machine" : "from keyframe " + index.keyframesUsed()) + ")");
        for (int c = 0; c < st.cpuCount(); c++)
        {
            if ((cpu != null && c != cpu) || (node != null && c / perNode != node))
            {
                continue;
            }
            final CpuRegs r = st.regs(c);
            out.printf("cpu%d  pc %016x %s  icount %d  fiber %s%n", c, r.pc(), symbol(code, r.pc()), r.icount(),
                r.fiber() == CpuRegs.NO_FIBER ? "-" : String.valueOf(r.fiber()));
            out.printf("      sp %016x  fp %016x  flags %x%s  cr3 %x  cr2 %x  cpl %d%n", r.sp(), r.fp(), r.flags(),
                r.interruptsEnabled() ? " (IF)" : "", r.cr3(), r.cr2(), r.cpl());
            final List<Long> frames = st.backtrace(c, MAX_FRAMES);
            for (int i = 0; i < frames.size(); i++)
            {
                out.printf("      #%-2d %016x %s%n", i, frames.get(i), symbol(code, frames.get(i)));
            }
        }
        if (range != null)
        {
            dump(out, st, range[0], (int)range[1]);
        }
        return 0;
    }

    private static String symbol(final CodeMap code, final long pc)
    {
        final String s = code.symbolize(pc);
        return s != null ? s : "?";
    }

    /** The cpu whose page tables translate --mem: --cpu, else the first with paging on (else 0). */
    private int via(final TraceState st)
    {
        final int perNode = st.config().cpusPerNode;
        int via = cpu != null ? cpu : node != null ? node * perNode : 0;
        if (!phys && cpu == null)
        {
            for (int c = 0; c < st.cpuCount(); c++)
            {
                if (node != null && c / perNode != node)
                {
                    continue;
                }
                if (st.regs(c).cr3() != 0)
                {
                    via = c;
                    break;
                }
            }
        }
        return via;
    }

    private void checkPaging(final TraceState st)
    {
        final int via = via(st);
        if (!phys && st.regs(via).cr3() == 0)
        {
            // Without page tables there is no virtual address to translate: never print made-up bytes.
            throw new UserError(String.format("--mem %x is a virtual address but cpu%d has paging off (cr3 0) at event %d%s; " +
                "use --phys for a physical address", parseRange(mem)[0], via, at, cpu == null ? " (as has every cpu)" : ""));
        }
    }

    private void dump(final PrintStream out, final TraceState st, final long addr, final int len)
    {
        final int via = via(st);
        final byte[] b = new byte[len];
        try
        {
            st.read(via, addr, b, len, phys);
        }
        catch (final UnmappedAddressException e)
        {
            throw new UserError(String.format("%x is not mapped in the page tables of cpu%d (cr3 %x) at event %d", e.vaddr(),
                via, st.regs(via).cr3(), at));
        }
        if (phys && addr + len > st.ramSize(st.nodeOf(via)))
        {
            throw new UserError(String.format("%x+%d is beyond the %d MiB of RAM of node %d", addr, len,
                st.ramSize(st.nodeOf(via)) >> 20, st.nodeOf(via)));
        }
        out.printf("memory %s %x, %d bytes%s:%n", phys ? "physical" : "virtual", addr, len,
            phys ? " (node " + st.nodeOf(via) + ")" : " (page tables of cpu" + via + ", cr3 " + Long.toHexString(st.regs(via).cr3()) + ")");
        for (int off = 0; off < len; off += 16)
        {
            final StringBuilder line = new StringBuilder(String.format("  %016x ", addr + off));
            final StringBuilder text = new StringBuilder();
            for (int i = 0; i < 16; i++)
            {
                if (off + i < len)
                {
                    final int v = b[off + i] & 0xFF;
                    line.append(String.format(" %02x", v));
                    text.append(v >= 0x20 && v < 0x7F ? (char)v : '.');
                }
                else
                {
                    line.append("   ");
                }
            }
            out.println(line + "  |" + text + "|");
        }
    }

    static long[] parseRange(final String s)
    {
        final int colon = s.indexOf(':');
        if (colon <= 0 || colon == s.length() - 1)
        {
            throw new UserError("--mem wants ADDR:LEN, ADDR in hex (for example ffff880000001000:64), not '" + s + "'");
        }
        // Addresses are hex with or without 0x, as pal who-wrote and every oops print them.
        final long addr = address(s.substring(0, colon), s);
        final long len = number(s.substring(colon + 1), "LEN", s);
        if (len <= 0 || len > MAX_DUMP)
        {
            throw new UserError("--mem " + s + ": LEN must be 1.." + MAX_DUMP);
        }
        return new long[] {addr, len};
    }

    private static long address(final String t, final String all)
    {
        try
        {
            return Long.parseUnsignedLong(t.startsWith("0x") || t.startsWith("0X") ? t.substring(2) : t, 16);
        }
        catch (final NumberFormatException e)
        {
            throw new UserError("--mem " + all + ": ADDR '" + t + "' is not a hex address");
        }
    }

    private static long number(final String t, final String what, final String all)
    {
        try
        {
            if (t.startsWith("0x") || t.startsWith("0X"))
            {
                return Long.parseUnsignedLong(t.substring(2), 16);
            }
            return Long.parseLong(t);
        }
        catch (final NumberFormatException e)
        {
            throw new UserError("--mem " + all + ": " + what + " '" + t + "' is not a number (0x.. hex or decimal)");
        }
    }
}
