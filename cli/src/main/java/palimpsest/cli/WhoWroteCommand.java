package palimpsest.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.oops.OopsChain;
import palimpsest.analyzers.whowrote.IndexedProbe;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.analyzers.whowrote.Provenance;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.trace.TraceHeader;

@Command(name = "who-wrote", mixinStandardHelpOptions = true,
    header = "Name the last writer of an address before an event, with its backtrace.",
    description = {"The last writer (or all writers) of [ADDR, ADDR+LEN) before an event, from the who-wrote index",
        "(TRACE/who-wrote.idx, built on first use and rebuilt when stale). ADDR is virtual unless --phys.",
        "Exit 0 when a writer was found, 1 when nobody wrote those bytes, 2 for bad input or a truncated or",
        "damaged trace (the answer then covers only the events read, and says so)."})
final class WhoWroteCommand implements Callable<Integer>
{
    private final Io io;

    @Parameters(index = "0", paramLabel = "TRACE", description = "Trace directory.")
    Path trace;

    @Option(names = "--addr", paramLabel = "ADDR", description = "Address (hex, 0x optional).")
    String addr;

    @Option(names = "--reg", paramLabel = "REG", description = "Instead of memory: the last write of a register on --cpu before --before " +
        "(if, flags, rsp, rbp, cr3, cpl), from the trace's REG events.")
    String reg;

    @Option(names = "--cpu", paramLabel = "C", defaultValue = "0", description = "The cpu of --reg (default 0).")
    int cpu;

    @Option(names = "--phys", description = "ADDR is physical.")
    boolean phys;

    @Option(names = "--len", paramLabel = "N", defaultValue = "1", description = "Bytes (1..64, default 1).")
    int len;

    @Option(names = "--before", paramLabel = "EVENT", description = "Only writes before this event (default: end).")
    Long before;

    @Option(names = "--all", description = "Every writer, newest first, not only the last one per byte.")
    boolean all;

    @Option(names = "--node", paramLabel = "N", description = "ADDR is in this node (physical memory, or its page tables).")
    Integer node;

    @Mixin
    PluginOptions plugins = new PluginOptions();

    WhoWroteCommand(final Io io)
    {
        this.io = io;
    }

    static long parseHex(final String s)
    {
        final String t = s.startsWith("0x") || s.startsWith("0X") ? s.substring(2) : s;
        try
        {
            return Long.parseUnsignedLong(t.replace("_", ""), 16);
        }
        catch (final NumberFormatException e)
        {
            throw new UserError("--addr: not a hex address: " + s);
        }
    }

    @Override
    public Integer call()
    {
        final int rc = answer();
        // --reg says itself what its answer covers (RegisterQuery): no second verification pass.
        return reg != null ? rc : Whole.exit(io, rc, Whole.of(trace, known));
    }

    /** The trace's extent as the index recorded it (null until the index is open: then verify). */
    private palimpsest.replayer.state.TraceExtent known;

    private int answer()
    {
        if (len < 1 || len > 64)
        {
            throw new UserError("--len must be 1..64, got " + len);
        }
        Limits.atLeast("--before", before, 0);
        if (reg != null)
        {
            return RegisterQuery.run(io, trace, reg, cpu, before == null ? Long.MAX_VALUE : before, plugins);
        }
        if (addr == null)
        {
            throw new UserError("who-wrote needs --addr ADDR or --reg REG");
        }
        final long a = parseHex(addr);
        final TraceHeader h = DumpCommand.header(trace);
        final PassProgress progress = new PassProgress(io, "building the who-wrote index");
        final WhoWroteIndex idx = WhoWroteIndex.openOrBuild(trace, progress);
        progress.done();
        try
        {
            return answer(a, h, idx);
        }
        catch (final WhoWroteIndex.Damaged e)
        {
            // Damaged since it was opened (its entries are checked block by block as queries read them).
            io.err.println("pal: note: " + e.getMessage() + "; rebuilding it");
            final PassProgress again = new PassProgress(io, "rebuilding the who-wrote index");
            final WhoWroteIndex rebuilt = WhoWroteIndex.rebuild(trace, again);
            again.done();
            return answer(a, h, rebuilt);
        }
    }

    private int answer(final long a, final TraceHeader h, final WhoWroteIndex idx)
    {
        known = idx.extent();
        if (before != null && before > idx.events())
        {
            throw new UserError("--before " + before + " is beyond the end of the trace: it has " + idx.events() +
                " readable events; --before takes 0.." + idx.events());
        }
        final long end = before == null ? Long.MAX_VALUE : before;
        if (node != null && (node < 0 || node >= h.nodes()))
        {
            throw new UserError("--node " + node + ": the machine has nodes 0.." + (h.nodes() - 1));
        }
        final int n = node == null ? -1 : node;
        final long key = phys ? (n < 0 ? a : (long)n << 48 | a) : idx.translate(a, end, n);
        final PrintStream out = io.out;
        if (key >= 0 && ((key & 0xfff) + len) > 4096)
        {
            throw new UserError("[ADDR, ADDR+LEN) must not cross a page");
        }
        final List<WhoWroteIndex.Write> ws = key < 0 ? List.of() : timedQuery(idx, key, len, end, phys ? "phys " : "virt ", a);
        final Symbols symbols = Symbols.of(trace, h, plugins::catalog);
        if (ws.isEmpty())
        {
            final int rc = phys ? 1 : followOops(idx, symbols, a, end);
            if (rc != 0 && key < 0 && !phys)
            {
                out.println("no access of the trace maps virtual " + Long.toHexString(a) + " before " +
                    (before == null ? "the end of the trace" : "event " + before));
            }
            return rc;
        }
        print(idx, symbols, ws);
        provenance(h, idx, symbols, ws.get(0).event, key);
        return 0;
    }

    /**
     * When the last writer only moved the byte and the chain leaves its node (a page shipped over
     * the fabric), prints every hop back to the write that made the value.
     */
    private void provenance(final TraceHeader h, final WhoWroteIndex idx, final Symbols symbols, final long event, final long key)
    {
        if (h.nodes() < 2)
        {
            return;
        }
        final List<Provenance.Hop> hops = Provenance.follow(trace, idx, event, key);
        if (!Provenance.crossesNodes(hops))
        {
            return;
        }
        final PrintStream out = io.out;
        out.println();
        out.println("where the byte came from (" + hops.size() + " hops, newest first):");
        for (final Provenance.Hop hp : hops)
        {
            final var e = hp.event;
            final String node = Provenance.nodeName(h, (int)(hp.phys >>> 48));
            final String at = node + " phys " + Long.toHexString(hp.phys & ((1L << 48) - 1));
            switch (hp.kind)
            {
                case COPY:
                    out.println("  #" + e.index() + " cpu" + e.cpu() + " " + symbols.sym(e.pc()) + " stored " + String.format("0x%x", e.value()) +
                        " at " + at + ", copied from " + Provenance.nodeName(h, (int)(hp.from >>> 48)) + " phys " +
                        Long.toHexString(hp.from & ((1L << 48) - 1)) + " (loaded at #" + hp.at + ")");
                    break;
                case DMA:
                    out.println("  #" + e.index() + " DMA by " + node + "'s NIC at " + at + ": byte " + hp.at + " of frame (message) #" + hp.from);
                    break;
                case SEND:
                    out.println("  #" + e.index() + " " + node + "'s NIC sent frame #" + hp.from + " to " + Provenance.nodeName(h, (int)e.a()) +
                        " from " + at);
                    break;
                case ORIGIN:
                    out.println("  #" + e.index() + " cpu" + e.cpu() + " " + symbols.sym(e.pc()) + " stored " + String.format("0x%x", e.value()) +
                        " at " + at + "  <- the origin: " + node + "'s store at event " + e.index() + " in " + symbols.sym(e.pc()));
                    break;
                default:
                    out.println("  " + at + " was never written before #" + hp.at + ": the value was there when the trace began");
            }
        }
    }

    private List<WhoWroteIndex.Write> timedQuery(final WhoWroteIndex idx, final long key, final int n, final long end, final String what, final long a)
    {
        final long t0 = System.nanoTime();
        final List<WhoWroteIndex.Write> ws = idx.writers(key, n, end, all);
        final long queryMicros = (System.nanoTime() - t0) / 1000;
        io.out.println("who wrote " + what + Long.toHexString(a) + (what.startsWith("phys") ? "" : " (phys " + Long.toHexString(key & ((1L << 48) - 1)) + ")")
            + " len " + n + " before " + (end == Long.MAX_VALUE ? "the end" : "event " + end) + ": " + ws.size() + " write(s) (index query " + queryMicros + " us)");
        return ws;
    }

    /**
     * Nobody wrote ADDR: if it is the faulting address of the trace's oops, the question really
     * is who made the kernel use it, so follow the oops chain (the bad pointer was loaded from X)
     * and answer for the differing byte(s) of X.
     */
    private int followOops(final WhoWroteIndex idx, final Symbols symbols, final long a, final long end)
    {
        final PrintStream out = io.out;
        final OopsChain oops = OopsChain.of(trace, symbols, idx);
        if (oops == null || Long.compareUnsigned(oops.faultAddress() - a, len) >= 0 || oops.oopsEvent() > end)
        {
            return 1;
        }
        final WhoWroteIndex.Write w = oops.culprit();
        if (w == null)
        {
            out.println(Long.toHexString(a) + " was never written: it is the faulting address of the oops at event " + oops.oopsEvent()
                + (oops.carrierVaddr() < 0 ? "; no load carried the bad pointer" : "; the bad pointer was loaded from "
                + Long.toHexString(oops.carrierVaddr()) + ", which nobody wrote during the trace"));
            return 1;
        }
        final long first = w.physAddr - oops.carrierPhys();
        final long lo = Math.max(0, first);
        final long hi = Math.min(7, first + w.size - 1);
        final String bytes = lo == hi ? "byte " + lo : "bytes " + lo + "-" + hi;
        out.println(Long.toHexString(a) + " was never written: it is the faulting address of the oops at event " + oops.oopsEvent()
            + "; the bad pointer was loaded from " + Long.toHexString(oops.carrierVaddr()) + " at event " + oops.carrierLoadEvent()
            + ", whose " + bytes + " " + (lo == hi ? "was" : "were") + " last written by event " + w.event + ":");
        final List<WhoWroteIndex.Write> ws = timedQuery(idx, oops.carrierPhys() + lo, (int)(hi - lo + 1), oops.carrierLoadEvent(),
            "virt ", oops.carrierVaddr() + lo);
        print(idx, symbols, ws);
        return ws.isEmpty() ? 1 : 0;
    }

    private void print(final WhoWroteIndex idx, final Symbols symbols, final List<WhoWroteIndex.Write> ws)
    {
        final PrintStream out = io.out;
        final List<Long> evs = new ArrayList<>();
        for (final WhoWroteIndex.Write w : ws)
        {
            evs.add(w.event);
        }
        // From keyframes and the index's tables when it can (a few keyframe gaps); else one pass.
        List<Probe.Sight> sights = IndexedProbe.look(trace, plugins::catalog, symbols, idx, evs);
        if (sights == null)
        {
            sights = Probe.look(trace, symbols, evs);
        }
        for (int i = 0; i < ws.size(); i++)
        {
            final Probe.Sight s = sights.get(i);
            final var e = s.event;
            out.println();
            if (palimpsest.trace.EventKind.isDevice(e.cpu()))
            {
                printDma(idx, symbols, s);
                continue;
            }
            out.println("#" + e.index() + " cpu" + e.cpu() + " task " + s.task + " " + palimpsest.trace.EventKind.name(e.kind()) + "." + e.size()
                + " virt " + Long.toHexString(e.vaddr()) + " phys " + Long.toHexString(e.paddr()) + " by " + symbols.sym(e.pc()));
            out.println("  " + String.format("0x%x -> 0x%x", e.oldValue(), e.value()));
            out.println("  writer: " + symbols.chain(e.pc(), s.stack));
            final StringBuilder st = symbols.stack(new StringBuilder(), e.pc(), s.stack);
            out.print(st.toString().replaceAll("(?m)^", "  "));
            out.print(s.owner.replaceAll("(?m)^", "  "));
        }
    }

    /**
     * A device's write: the device (never a cpu number or a pc), the descriptor it read the buffer
     * address from, and the CPU store that posted that descriptor, with its stack.
     */
    private void printDma(final WhoWroteIndex idx, final Symbols symbols, final Probe.Sight s)
    {
        final PrintStream out = io.out;
        final var e = s.event;
        out.println("#" + e.index() + " " + palimpsest.analyzers.dma.DmaProvenance.deviceName(e.cpu()) + " "
            + palimpsest.trace.EventKind.name(e.kind()) + "." + e.size() + " phys " + Long.toHexString(e.paddr())
            + " at virtual time " + e.icount());
        out.println("  " + String.format("0x%x -> 0x%x", e.oldValue(), e.value()));
        if (s.dmaDescriptorEvent < 0)
        {
            out.println("  writer: the device itself (a status write-back; no descriptor pointed at this address)");
        }
        else
        {
            out.println("  through the descriptor at phys " + Long.toHexString(s.dmaDescriptorPhys & ((1L << 48) - 1))
                + " (read by the device at event " + s.dmaDescriptorEvent + "), buffer " + Long.toHexString(s.dmaBuffer));
            final List<WhoWroteIndex.Write> posts = idx.writers(s.dmaDescriptorPhys, 8, s.dmaDescriptorEvent, false);
            if (posts.isEmpty())
            {
                out.println("  posted before the trace began (nobody wrote the descriptor word)");
            }
            else
            {
                final Probe.Sight p = Probe.look(trace, symbols, List.of(posts.get(0).event)).get(0);
                out.println("  posted by #" + p.event.index() + " cpu" + p.event.cpu() + " task " + p.task + " "
                    + symbols.chain(p.event.pc(), p.stack));
                out.print(symbols.stack(new StringBuilder(), p.event.pc(), p.stack).toString().replaceAll("(?m)^", "    "));
            }
        }
        out.print(s.owner.replaceAll("(?m)^", "  "));
    }
}
