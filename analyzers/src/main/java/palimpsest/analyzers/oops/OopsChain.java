package palimpsest.analyzers.oops;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.owner.Owners;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.kernel.Mark;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;

/**
 * The causal chain of an oops. While streaming it keeps each cpu's last loads; at a page fault or
 * general protection fault it keeps them with the fault, and when the kernel's OOPS mark confirms
 * that fault died, {@link #explain} follows the bad address back:
 * <ol>
 *   <li>the faulting access: pc and address (CR2);</li>
 *   <li>the load that carried the bad pointer into the register: the latest load on that cpu whose
 *       value is the fault address or a little below it (pointer + field offset);</li>
 *   <li>where that value came from: address X of that load, and what X belonged to;</li>
 *   <li>who wrote X's bytes (who-wrote index), the byte a different writer changed singled out,
 *       with that writer's backtrace at that moment.</li>
 * </ol>
 */
public final class OopsChain implements Analyzer
{
    private static final int RING = 64;

    private final MachineShadow shadow;
    private final Owners owners;
    private final Symbols symbols;
    private final long[][] ringValue;
    private final long[][] ringVaddr;
    private final long[][] ringPhys;
    private final long[][] ringPc;
    private final long[][] ringEvent;
    private final int[] ringPos;
    private final List<Finding> findings = new ArrayList<>();
    private Fault pending;
    private Fault oops;
    /** What {@link #explain} found: X (virtual, physical key), the load that read it, the differing write. */
    private long carrierVaddr = -1;
    private long carrierPhys = -1;
    private long carrierLoadEvent = -1;
    private WhoWroteIndex.Write culprit;
    private String culpritChain = "";

    /** A fault with the loads that led to it. */
    static final class Fault
    {
        int cpu;
        long event;
        long pc;
        long addr;
        long vector;
        long oopsEvent;
        long task;
        long[] stack;
        long[] values = new long[RING];
        long[] vaddrs = new long[RING];
        long[] phys = new long[RING];
        long[] pcs = new long[RING];
        long[] events = new long[RING];
        int count;
        String sourceOwner = "";
    }

    public OopsChain(final MachineShadow shadow, final Owners owners, final Symbols symbols)
    {
        this.shadow = shadow;
        this.owners = owners;
        this.symbols = symbols;
        final int n = shadow.cpus();
        ringValue = new long[n][RING];
        ringVaddr = new long[n][RING];
        ringPhys = new long[n][RING];
        ringPc = new long[n][RING];
        ringEvent = new long[n][RING];
        ringPos = new int[n];
    }

    @Override
    public String name()
    {
        return "oops";
    }

    @Override
    public void onEvent(final Event e)
    {
        final int kind = e.kind();
        final int cpu = e.cpu();
        if (kind == EventKind.LOAD && cpu < ringPos.length)
        {
            final int i = ringPos[cpu]++ & (RING - 1);
            ringValue[cpu][i] = e.value();
            ringVaddr[cpu][i] = e.vaddr();
            ringPhys[cpu][i] = shadow.physKey(cpu, e.paddr());
            ringPc[cpu][i] = e.pc();
            ringEvent[cpu][i] = e.index();
        }
        else if (kind == EventKind.EXCEPTION && (e.a() == 14 || e.a() == 13) && cpu < ringPos.length && oops == null)
        {
            final Fault f = new Fault();
            f.cpu = cpu;
            f.event = e.index();
            f.pc = e.pc();
            f.addr = e.c();
            f.vector = e.a();
            f.task = shadow.task(cpu);
            f.stack = shadow.backtrace(cpu);
            final int n = Math.min(ringPos[cpu], RING);
            for (int k = 0; k < n; k++)
            {
                final int i = (ringPos[cpu] - 1 - k) & (RING - 1); // newest first
                f.values[k] = ringValue[cpu][i];
                f.vaddrs[k] = ringVaddr[cpu][i];
                f.phys[k] = ringPhys[cpu][i];
                f.pcs[k] = ringPc[cpu][i];
                f.events[k] = ringEvent[cpu][i];
            }
            f.count = n;
            final int carrier = carrier(f);
            if (carrier >= 0)
            {
                f.sourceOwner = owners.describe(f.phys[carrier]);
            }
            pending = f;
        }
        else if (kind == EventKind.MARK && e.a() == Mark.OOPS && oops == null && pending != null && pending.cpu == cpu
            && pending.addr == e.b())
        {
            oops = pending;
            oops.oopsEvent = e.index();
        }
    }

    /** Index (newest first) of the load that carried the bad pointer, or -1. */
    static int carrier(final Fault f)
    {
        for (int k = 0; k < f.count; k++)
        {
            if (f.values[k] == f.addr)
            {
                return k;
            }
        }
        for (int k = 0; k < f.count; k++)
        {
            final long d = f.addr - f.values[k];
            if (d >= 0 && d < 4096 && f.values[k] != 0)
            {
                return k;
            }
        }
        return -1;
    }

    /**
     * The oops of a trace, explained: one pass with the machine shadow and memory owners, then
     * {@link #explain}; null when the trace has no oops (a #PF/#GP confirmed by an OOPS mark).
     */
    public static OopsChain of(final Path trace, final Symbols symbols, final WhoWroteIndex index)
    {
        final OopsChain chain;
        try (TraceReader r = TraceReader.open(trace))
        {
            final TraceHeader h = r.header();
            final MachineShadow shadow = new MachineShadow(h.cpuCount(), h.cpusPerNode());
            symbols.readModulesFrom(shadow.memory());
            final Owners owners = new Owners(shadow, symbols);
            chain = new OopsChain(shadow, owners, symbols);
            final Event e = new Event();
            while (r.next(e))
            {
                chain.onEvent(e);
                owners.onEvent(e);
                shadow.apply(e);
            }
        }
        if (!chain.sawOops())
        {
            return null;
        }
        chain.explain(trace, index);
        return chain;
    }

    /** The faulting address of the oops (CR2 for a page fault); -1 without an oops. */
    public long faultAddress()
    {
        return oops == null ? -1 : oops.addr;
    }

    /** Event of the OOPS mark; -1 without an oops. */
    public long oopsEvent()
    {
        return oops == null ? -1 : oops.oopsEvent;
    }

    /** X: the virtual address the bad pointer was loaded from; -1 when no load carried it. */
    public long carrierVaddr()
    {
        return carrierVaddr;
    }

    /** X's physical key; -1 when no load carried the bad pointer. */
    public long carrierPhys()
    {
        return carrierPhys;
    }

    /** The event of the load that read the bad pointer from X; -1 when none. */
    public long carrierLoadEvent()
    {
        return carrierLoadEvent;
    }

    /** The write that put the differing byte(s) into X (after {@link #explain}); null when nobody wrote X. */
    public WhoWroteIndex.Write culprit()
    {
        return culprit;
    }

    /** Whether the trace ended in an oops this analyzer saw. */
    public boolean sawOops()
    {
        return oops != null;
    }

    @Override
    public void afterPass(final palimpsest.analyzers.AnalysisContext context)
    {
        if (sawOops())
        {
            explain(context.trace, context.whoWrote());
        }
    }

    /** Second stage, after the pass: follows the bad value back through the who-wrote index and prints the chain. */
    public void explain(final Path trace, final WhoWroteIndex index)
    {
        if (oops == null)
        {
            return;
        }
        final Fault f = oops;
        final StringBuilder sb = new StringBuilder();
        sb.append("==================================================================\n");
        sb.append("Oops causal chain (oops at event ").append(f.oopsEvent).append(", cpu").append(f.cpu).append(", task ").append(f.task).append(")\n");
        sb.append("  [1] fault: ").append(f.vector == 14 ? "page fault" : "general protection fault").append(" at ")
            .append(Symbols.hex16(f.addr)).append(" by ").append(symbols.sym(f.pc)).append(" at event ").append(f.event).append('\n');
        sb.append("      ").append(symbols.chain(f.pc, f.stack)).append('\n');
        final int c = carrier(f);
        String title = "oops at " + Long.toHexString(f.addr) + " in " + symbols.sym(f.pc);
        if (c < 0)
        {
            sb.append("  [2] no recent load on cpu").append(f.cpu).append(" produced a value at or just below the fault address\n");
        }
        else
        {
            final long x = f.vaddrs[c];
            carrierVaddr = x;
            carrierPhys = f.phys[c];
            carrierLoadEvent = f.events[c];
            sb.append("  [2] the bad pointer ").append(Symbols.hex16(f.values[c])).append(f.values[c] == f.addr ? "" : " (+0x"
                + Long.toHexString(f.addr - f.values[c]) + ")").append(" was loaded by ").append(symbols.sym(f.pcs[c]))
                .append(" at event ").append(f.events[c]).append('\n');
            sb.append("  [3] from X = ").append(Long.toHexString(x)).append(" (phys ")
                .append(Long.toHexString(MachineShadow.paddrOf(f.phys[c]))).append(")\n");
            for (final String line : f.sourceOwner.split("\n"))
            {
                sb.append("      ").append(line).append('\n');
            }
            final List<WhoWroteIndex.Write> ws = index.writers(f.phys[c], 8, f.events[c], false);
            if (ws.isEmpty())
            {
                sb.append("  [4] nobody wrote X during the trace\n");
            }
            else
            {
                final List<Long> evs = new ArrayList<>();
                for (final WhoWroteIndex.Write w : ws)
                {
                    evs.add(w.event);
                }
                final List<Probe.Sight> sights = Probe.look(trace, symbols, evs);
                // The culprit: the newest write that covers only part of the 8 bytes (the differing
                // byte); if every write is whole, the newest one.
                int culprit = 0;
                for (int i = 0; i < ws.size(); i++)
                {
                    if (ws.get(i).size < 8)
                    {
                        culprit = i;
                        break;
                    }
                }
                for (int i = 0; i < ws.size(); i++)
                {
                    final WhoWroteIndex.Write w = ws.get(i);
                    final Probe.Sight s = sights.get(i);
                    final long firstByte = w.physAddr - f.phys[c];
                    final String bytes = w.size >= 8 && firstByte <= 0 ? "bytes 0-7" : w.size == 1 ? "byte " + firstByte
                        : "bytes " + Math.max(0, firstByte) + "-" + Math.min(7, firstByte + w.size - 1);
                    sb.append(i == culprit ? "  [4] " : "      ").append(bytes).append(" of X written ")
                        .append(String.format("0x%x", s.event.value())).append(" (was ").append(String.format("0x%x", s.event.oldValue()))
                        .append(") at event ").append(w.event).append(" by ").append(symbols.sym(s.event.pc())).append(" on cpu")
                        .append(s.event.cpu()).append(" task ").append(s.task).append(" via virt ").append(Long.toHexString(s.event.vaddr()))
                        .append(i == culprit ? "   <== the differing byte" : "").append('\n');
                    if (i == culprit)
                    {
                        this.culprit = w;
                        this.culpritChain = symbols.chain(s.event.pc(), s.stack.length > 1 ? java.util.Arrays.copyOf(s.stack, 1) : s.stack);
                        sb.append("      writer: ").append(symbols.chain(s.event.pc(), s.stack)).append('\n');
                        sb.append("      Call Trace:\n");
                        final StringBuilder st = symbols.stack(new StringBuilder(), s.event.pc(), s.stack);
                        for (final String line : st.toString().split("\n"))
                        {
                            sb.append("       ").append(line).append('\n');
                        }
                        title = "oops at " + Long.toHexString(f.addr) + " in " + symbols.sym(f.pc) + " <- pointer loaded from "
                            + Long.toHexString(x) + " <- " + bytes + " written " + String.format("0x%x", s.event.value()) + " at event " + w.event
                            + " by " + symbols.chain(s.event.pc(), s.stack);
                    }
                }
            }
        }
        if (culprit != null)
        {
            earlierWrites(trace, index, sb);
        }
        sb.append("==================================================================\n");
        final long[] links = carrierLoadEvent >= 0 ? new long[] {f.event, carrierLoadEvent} : new long[] {f.event};
        findings.add(new Finding(name(), f.oopsEvent, title, sb.toString(), Finding.Role.SYMPTOM, "oops", symbols.function(f.pc), 90, links));
        if (culprit != null)
        {
            // The writer of the differing byte is a cause in its own right when no analyzer knows
            // the class of its write: a low-confidence cause the story's better ones outrank.
            findings.add(new Finding(name(), culprit.event, "the differing byte of X (" + Long.toHexString(carrierVaddr) + ") was written by "
                + culpritChain, "  (see the oops causal chain at event " + f.oopsEvent + ")\n", Finding.Role.CAUSE, "stray-write", culpritChain, 40,
                f.oopsEvent));
        }
    }

    /**
     * The writes of the differing byte(s) before the culprit, newest first (at most four): a stray
     * writer often hit the same place before, and the first time is where the damage began.
     */
    private void earlierWrites(final Path trace, final WhoWroteIndex index, final StringBuilder sb)
    {
        final List<WhoWroteIndex.Write> ws = index.writers(culprit.physAddr, culprit.size, culprit.event, true);
        final int n = Math.min(4, ws.size());
        if (n == 0)
        {
            return;
        }
        final List<Long> evs = new ArrayList<>();
        for (int i = 0; i < n; i++)
        {
            evs.add(ws.get(i).event);
        }
        final List<Probe.Sight> sights = Probe.look(trace, symbols, evs);
        sb.append("  [5] before that, the same byte").append(culprit.size > 1 ? "s were" : " was").append(" written:\n");
        for (int i = 0; i < n; i++)
        {
            final Probe.Sight s = sights.get(i);
            sb.append("      ").append(String.format("0x%x", s.event.value())).append(" (was ").append(String.format("0x%x", s.event.oldValue()))
                .append(") at event ").append(s.event.index()).append(" by ").append(symbols.chain(s.event.pc(), s.stack))
                .append(" via virt ").append(Long.toHexString(s.event.vaddr())).append('\n');
        }
        if (ws.size() > n)
        {
            sb.append("      ... and ").append(ws.size() - n).append(" earlier write(s)\n");
        }
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    /** Registers this analyzer as {@code oops} ({@link palimpsest.analyzers.AnalyzerFactory}). */
    public static final class Factory implements palimpsest.analyzers.AnalyzerFactory
    {
        @Override
        public String name()
        {
            return "oops";
        }

        @Override
        public String description()
        {
            return "oops causal chain: the faulting access, the load that carried the bad value, who wrote it";
        }

        @Override
        public palimpsest.analyzers.Analyzer create(final palimpsest.analyzers.AnalysisContext c)
        {
            return new OopsChain(c.shadow, c.owners, c.symbols);
        }
    }
}
