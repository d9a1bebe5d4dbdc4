package palimpsest.analyzers.oops;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.owner.Origin;
import palimpsest.analyzers.owner.Owners;
import palimpsest.analyzers.owner.PageBlock;
import palimpsest.analyzers.owner.SlabObject;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.kernel.mm.Page;
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
    /** Earlier writes of the differing byte printed after the culprit. */
    private static final int EARLIER = 4;

    private final MachineShadow shadow;
    private final Owners owners;
    private final Symbols symbols;
    private final long[][] ringValue;
    private final long[][] ringVaddr;
    private final long[][] ringPhys;
    private final long[][] ringPc;
    private final long[][] ringEvent;
    /** Whether the ring's load was a pop (8 bytes at SP): a ret's return address or a restored register. */
    private final boolean[][] ringPop;
    private final int[] ringPos;
    // Per cpu: the last pop of a kernel function, until the cpu's next event at another pc says where control went.
    private final long[] popValue;
    private final long[] popPc;
    private final long[] popEvent;
    private final long[] popSlot;
    private final boolean[] popArmed;
    /** The first return to a non-text address that did not fault (the ret's pop, recorded): -1 when none. */
    private long badRetEvent = -1;
    private long badRetPopEvent;
    private long badRetPc;
    private long badRetTarget;
    private long badRetSlot;
    private long badRetSlotKey;
    private int badRetCpu;
    private long badRetTask;
    private long[] badRetStack;
    private final List<Finding> findings = new ArrayList<>();
    private Fault pending;
    private Fault oops;
    /** What {@link #explain} found: X (virtual, physical key), the load that read it, the differing write. */
    private long carrierVaddr = -1;
    private long carrierPhys = -1;
    private long carrierLoadEvent = -1;
    private WhoWroteIndex.Write culprit;
    private String culpritChain = "";
    private long unexplained = -1;
    private long unexplainedPc;
    private int unexplainedCpu;
    /** For an oops with no fault: the struct page its cpu read last, and who owned that page then ("": none). */
    private String unexplainedPage = "";
    private long powerEvent = -1;
    private long powerCode;
    private long powerPc;

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
        boolean[] pops = new boolean[RING];
        int count;
        String sourceOwner = "";
        long error;
        /** CR2 as the kernel's OOPS mark gave it (stale for a #GP: the last page fault's). */
        long markedCr2 = -1;
        /** The allocation event of the object (or page block) X lies in, if live at the fault; -1. */
        long sourceAllocEvent = -1;
        String sourceAllocator = "";
        /** Where the frame-pointer walk at the fault stopped on garbage: the slot's vaddr, physical key, value; -1. */
        long badFrameSlot = -1;
        long badFrameKey = -1;
        long badFrameValue;
        String badFrameWhat = "";
        /** A fault on the same cpu after the OOPS mark (the oops path, e.g. the backtracer, faulted): event, pc, address. */
        long nestedEvent = -1;
        long nestedPc;
        long nestedAddr;
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
        ringPop = new boolean[n][RING];
        ringPos = new int[n];
        popValue = new long[n];
        popPc = new long[n];
        popEvent = new long[n];
        popSlot = new long[n];
        popArmed = new boolean[n];
    }

    @Override
    public String name()
    {
        return "oops";
    }

    /** The kinds {@link #onEvent} looks at. */
    private static final int KINDS = 1 << EventKind.LOAD | 1 << EventKind.EXCEPTION | 1 << EventKind.MARK | 1 << EventKind.IO;

    @Override
    public int kinds()
    {
        return KINDS;
    }

    @Override
    public void onEvent(final Event e)
    {
        final int kind = e.kind();
        final int cpu = e.cpu();
        if (cpu < ringPos.length && popArmed[cpu] && e.pc() != popPc[cpu])
        {
            returned(e, cpu);
        }
        if (kind == EventKind.LOAD && cpu < ringPos.length)
        {
            final int i = ringPos[cpu]++ & (RING - 1);
            final boolean pop = e.size() == 8 && e.vaddr() == shadow.sp(cpu);
            ringValue[cpu][i] = e.value();
            ringVaddr[cpu][i] = e.vaddr();
            ringPhys[cpu][i] = shadow.physKey(cpu, e.paddr());
            ringPc[cpu][i] = e.pc();
            ringEvent[cpu][i] = e.index();
            ringPop[cpu][i] = pop;
            if (pop && badRetEvent < 0 && oops == null && isText(e.pc()))
            {
                popArmed[cpu] = true;
                popValue[cpu] = e.value();
                popPc[cpu] = e.pc();
                popEvent[cpu] = e.index();
                popSlot[cpu] = e.vaddr();
            }
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
                f.pops[k] = ringPop[cpu][i];
            }
            f.count = n;
            f.error = e.b();
            final int carrier = carrier(f);
            if (carrier >= 0)
            {
                f.sourceOwner = owners.describe(f.phys[carrier]);
                final SlabObject o = owners.objectAt(f.phys[carrier]);
                final PageBlock b = o == null ? owners.blockAt(f.phys[carrier]) : null;
                final Origin alloc = o != null && o.live() ? o.allocated : b != null && b.freed == null ? b.allocated : null;
                if (alloc != null)
                {
                    f.sourceAllocEvent = alloc.event;
                    f.sourceAllocator = symbols.chain(alloc.pc, alloc.stack);
                }
            }
            checkFrames(f);
            pending = f;
        }
        else if (kind == EventKind.EXCEPTION && oops != null && cpu == oops.cpu && oops.nestedEvent < 0)
        {
            oops.nestedEvent = e.index();
            oops.nestedPc = e.pc();
            oops.nestedAddr = e.c();
        }
        else if (kind == EventKind.MARK && e.a() == Mark.OOPS && oops == null && pending != null && pending.cpu == cpu
            && pending.pc == e.c())
        {
            // The exception event is the truth: a #GP's OOPS mark carries the last page fault's
            // stale CR2, so the fault is matched by cpu and faulting pc as well.
            oops = pending;
            oops.oopsEvent = e.index();
            oops.markedCr2 = e.b();
        }
        else if (kind == EventKind.MARK && e.a() == Mark.OOPS && oops == null && unexplained < 0)
        {
            // An oops with no fault at its pc (BUG(), or a fault this chain did not see): the end
            // of the run with nothing to follow back. Never tie it to an older, unrelated fault.
            unexplained = e.index();
            unexplainedPc = e.c();
            unexplainedCpu = cpu;
            unexplainedPage = lastStructPage(cpu);
        }
        else if (kind == EventKind.IO && e.c() == 1 && e.a() == palimpsest.emulator.Machine.POWER_PORT && cpu < ringPos.length)
        {
            powerEvent = e.index();
            powerCode = e.b();
            powerPc = e.pc();
        }
    }

    /**
     * A BUG about a page (put_page_testzero's VM_BUG_ON_PAGE, bad_page) reads that page's struct page
     * just before it dies: the newest load of a struct page's reference count in the cpu's ring names
     * the page, and the owners say who had it then (a block freed while another allocator still used
     * it is the double ownership such a BUG reports). "" when the ring holds no such load.
     */
    private String lastStructPage(final int cpu)
    {
        final int n = Math.min(ringPos[cpu], RING);
        for (int k = 0; k < n; k++)
        {
            final int i = (ringPos[cpu] - 1 - k) & (RING - 1);
            final long rel = ringVaddr[cpu][i] - Layout.VMEMMAP_START;
            if (Long.compareUnsigned(rel, Layout.VMEMMAP_SIZE) < 0 && rel % Page.SIZE == Page.COUNT)
            {
                final long pfn = rel / Page.SIZE;
                final long key = shadow.physKey(cpu, pfn << Layout.PAGE_SHIFT);
                return "  the last struct page it read is pfn " + Long.toHexString(pfn) + "'s (count " + (int)ringValue[cpu][i]
                    + " at event " + ringEvent[cpu][i] + " in " + symbols.sym(ringPc[cpu][i]) + "); that page then:\n"
                    + owners.describe(key).indent(4);
            }
        }
        return "";
    }

    /**
     * The cpu's first event at another pc after a kernel function's pop: if it runs at the popped
     * value, control went there (a ret); a target that is not text (and did not fault: a canonical
     * address) is a bad return. Anything else (a restored register, a ret to text) is no news.
     */
    private void returned(final Event e, final int cpu)
    {
        popArmed[cpu] = false;
        final long v = popValue[cpu];
        // Text here is where code can be: the kernel image's text and the module area (a
        // function table gap there is no evidence of garbage).
        if (e.pc() != v || v == 0 || Long.compareUnsigned(v - Layout.KERNEL_TEXT, Layout.TEXT_MAX) < 0
            || Long.compareUnsigned(v - Layout.MODULES_VADDR, Layout.MODULES_END - Layout.MODULES_VADDR) < 0 || isText(v))
        {
            return;
        }
        badRetEvent = e.index();
        badRetPopEvent = popEvent[cpu];
        badRetPc = popPc[cpu];
        badRetTarget = v;
        badRetSlot = popSlot[cpu];
        badRetSlotKey = shadow.translate(cpu, popSlot[cpu]);
        badRetCpu = cpu;
        badRetTask = shadow.task(cpu);
        badRetStack = shadow.backtrace(cpu);
    }

    /** Text addresses already looked up (direct-mapped, so a ret's check costs a compare, not a symbol search). */
    private final long[] textSeen = new long[1024];

    private boolean isText(final long pc)
    {
        final int i = (int)(pc ^ pc >>> 10) & (textSeen.length - 1);
        if (textSeen[i] == pc && pc != 0)
        {
            return true;
        }
        if (symbols.function(pc) != null || symbols.sym(pc).contains(" ["))
        {
            textSeen[i] = pc;
            return true;
        }
        return false;
    }

    /** Whether the fault's bad value is the return address its own ret popped: a bad return. */
    static boolean badReturn(final Fault f)
    {
        final int c = carrier(f);
        return c >= 0 && f.pops[c] && f.values[c] == f.addr && (f.pcs[c] == f.pc || f.pc == f.addr);
    }

    @Override
    public String checked()
    {
        return oops != null ? "the oops at event " + oops.oopsEvent + " followed back" : unexplained >= 0 ? "no fault at the oops's pc"
            : powerCode > 0 ? "no oops before the power-off code " + powerCode : "";
    }

    @Override
    public void onEnd()
    {
        if (oops != null)
        {
            return;
        }
        if (unexplained >= 0)
        {
            findings.add(new Finding(name(), unexplained, "oops (kernel BUG or unhandled fault) in " + symbols.sym(unexplainedPc) + " on cpu"
                + unexplainedCpu + " with no faulting access to follow", "  the OOPS mark at event " + unexplained
                + " has no exception at its pc on that cpu" + (unexplainedPage.isEmpty() ? ": nothing links it to an earlier event\n"
                : "\n" + unexplainedPage), Finding.Role.SYMPTOM, "oops",
                symbols.function(unexplainedPc), 80));
        }
        else if (powerCode > 0)
        {
            findings.add(new Finding(name(), powerEvent, (powerCode == 2 ? "kernel panic" : "failure code " + powerCode) + " at power-off by "
                + symbols.sym(powerPc), "  the run ended with code " + powerCode + " on the power port at event " + powerEvent
                + " and no oops before it\n", Finding.Role.SYMPTOM, "run-failed", symbols.function(powerPc), 50));
        }
    }

    /**
     * Walks the frame-pointer chain at the fault as the kernel's oops will; when a saved frame
     * pointer or return address is garbage (not a higher frame, not text, never written) the
     * Call Trace cannot be walked past it: remember the slot, so {@link #explain} can say who
     * wrote it.
     */
    private void checkFrames(final Fault f)
    {
        long fp = shadow.fp(f.cpu);
        for (int depth = 0; depth < MachineShadow.MAX_FRAMES && fp != 0; depth++)
        {
            final long key = shadow.translate(f.cpu, fp);
            if ((fp & 7) != 0 || key < 0)
            {
                return; // not a frame the trace shows: nothing to say
            }
            if (!shadow.memory().known(key + 8))
            {
                return;
            }
            final long ra = shadow.memory().read64(key + 8);
            if (ra == 0)
            {
                return;
            }
            if (symbols.function(ra) == null && !symbols.sym(ra).contains(" ["))
            {
                f.badFrameSlot = fp + 8;
                f.badFrameKey = key + 8;
                f.badFrameValue = ra;
                f.badFrameWhat = "return address";
                return;
            }
            final long next = shadow.memory().read64(key);
            if (next != 0 && Long.compareUnsigned(next, fp) <= 0)
            {
                f.badFrameSlot = fp;
                f.badFrameKey = key;
                f.badFrameValue = next;
                f.badFrameWhat = "saved frame pointer";
                return;
            }
            fp = next;
        }
    }

    /** One line: what kind of fault, from the exception event (vector, error code, the access's address). */
    String faultKind(final Fault f)
    {
        if (badReturn(f))
        {
            return "bad return: ret to " + Symbols.hex16(f.addr) + ", not text (" + (f.vector == 13 ? "general protection fault on a non-canonical"
                + " address" : "page fault on the fetch") + "), the return address popped from " + Long.toHexString(f.vaddrs[carrier(f)]);
        }
        if (f.vector == 13)
        {
            final boolean canonical = (f.addr >> 47) == 0 || (f.addr >> 47) == -1;
            return "general protection fault" + (canonical ? "" : " on the non-canonical address " + Symbols.hex16(f.addr))
                + (f.markedCr2 >= 0 && f.markedCr2 != f.addr ? " (CR2 " + Symbols.hex16(f.markedCr2) + " is the last page fault's, not this one's)" : "");
        }
        final boolean fetch = (f.error & 0x10) != 0;
        final String access = fetch ? "instruction fetch" : (f.error & 2) != 0 ? "write" : "read";
        final String what = (f.error & 1) != 0 ? "protection violation" : "not-present page";
        final String head;
        if (fetch && f.pc == f.addr)
        {
            head = "bad jump: call or return to " + Symbols.hex16(f.addr);
        }
        else if (Long.compareUnsigned(f.addr, 4096) < 0)
        {
            head = "NULL pointer dereference at " + Symbols.hex16(f.addr);
        }
        else
        {
            head = "page fault at " + Symbols.hex16(f.addr);
        }
        final String fn = symbols.function(f.pc);
        final String call = fn != null && fn.contains("indirect_thunk") ? ", a bad indirect call to " + Symbols.hex16(f.addr) : "";
        return head + " (" + access + ", " + what + ((f.error & 4) != 0 ? ", user mode" : ", kernel mode") + call + ")";
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
        for (int k = 0; k < f.count; k++)
        {
            if (tableEntryFollowed(f.values[k], f.addr))
            {
                return k;
            }
        }
        return -1;
    }

    /**
     * A page-table entry the kernel followed through the direct map: addr in __va(entry's frame) ..
     * +4 KiB, and inside the direct map's range (a frame so large that __va wraps is not one).
     */
    static boolean tableEntryFollowed(final long entry, final long addr)
    {
        final long d = addr - (palimpsest.kernel.Layout.PAGE_OFFSET + (entry & palimpsest.emulator.Paging.ADDR_MASK));
        return (entry & palimpsest.emulator.Paging.P) != 0 && d >= 0 && d < 4096 && palimpsest.kernel.Layout.isDirectMap(addr);
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
                symbols.onEvent(e);
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
            explain(context.looker(), context.whoWrote());
        }
        if (badRetEvent >= 0)
        {
            badReturnReport(context.trace, context.whoWrote());
        }
    }

    /** A ret to a canonical non-text address (no fault stopped it): where, to what, and who wrote the return address slot. */
    private void badReturnReport(final Path trace, final WhoWroteIndex index)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("==================================================================\n");
        sb.append("bad return: ret in ").append(symbols.sym(badRetPc)).append(" to ").append(Symbols.hex16(badRetTarget))
            .append(", which is not text, on cpu").append(badRetCpu).append(" task ").append(badRetTask).append(" (the return address was popped from ")
            .append(Long.toHexString(badRetSlot)).append(" at event ").append(badRetPopEvent).append("; the cpu ran on at it from event ")
            .append(badRetEvent).append(")\n");
        symbols.stack(sb, badRetPc, badRetStack);
        final List<WhoWroteIndex.Write> ws = badRetSlotKey < 0 ? List.of() : index.writers(badRetSlotKey, 8, badRetPopEvent, false);
        long writer = -1;
        String chain = "";
        if (ws.isEmpty())
        {
            sb.append("nobody wrote the return address slot during the trace\n");
        }
        else
        {
            writer = ws.get(0).event;
            final Probe.Sight s = Probe.look(trace, symbols, List.of(writer)).get(0);
            chain = symbols.chain(s.event.pc(), s.stack);
            sb.append("the slot was last written ").append(String.format("0x%x", s.event.value())).append(" (was ")
                .append(String.format("0x%x", s.event.oldValue())).append(") at event ").append(writer).append(" by ").append(chain).append('\n');
            symbols.stack(sb, s.event.pc(), s.stack);
        }
        sb.append("==================================================================\n");
        findings.add(new Finding(name(), badRetEvent, "bad return in " + symbols.sym(badRetPc) + " to " + Symbols.hex16(badRetTarget)
            + " (not text)" + (chain.isEmpty() ? "" : "; the return address was written by " + chain), sb.toString(), Finding.Role.SYMPTOM,
            "bad-return", symbols.function(badRetPc), 80, badRetPopEvent, writer));
    }

    /** The writes {@link #explain} probes: the bad frame slot's writer, the writers of X, the earlier writes of the differing byte. */
    @Override
    public java.util.Collection<Long> probes(final palimpsest.analyzers.AnalysisContext context)
    {
        final List<Long> evs = new ArrayList<>();
        if (oops == null)
        {
            return evs;
        }
        final Fault f = oops;
        final WhoWroteIndex index = context.whoWrote();
        if (!f.badFrameWhat.isEmpty())
        {
            final List<WhoWroteIndex.Write> ws = index.writers(f.badFrameKey, 8, f.event, false);
            if (!ws.isEmpty())
            {
                evs.add(ws.get(0).event);
            }
        }
        final int c = carrier(f);
        if (c >= 0)
        {
            final List<WhoWroteIndex.Write> ws = index.writers(f.phys[c], 8, f.events[c], false);
            final int k = culpritOf(ws, f);
            if (k >= 0)
            {
                for (final WhoWroteIndex.Write w : ws)
                {
                    evs.add(w.event);
                }
                final WhoWroteIndex.Write w = ws.get(k);
                final List<WhoWroteIndex.Write> earlier = index.writers(w.physAddr, w.size, w.event, true);
                for (int i = 0; i < Math.min(EARLIER, earlier.size()); i++)
                {
                    evs.add(earlier.get(i).event);
                }
            }
        }
        return evs;
    }

    /**
     * Which of X's writers (newest first) wrote the differing byte: the newest that covers only part
     * of the 8 bytes, else the newest; -1 when there is no lead (nobody wrote X, or only before the
     * object X lies in was allocated).
     */
    private static int culpritOf(final List<WhoWroteIndex.Write> ws, final Fault f)
    {
        long newest = -1;
        for (final WhoWroteIndex.Write w : ws)
        {
            newest = Math.max(newest, w.event);
        }
        if (ws.isEmpty() || f.sourceAllocEvent >= 0 && newest < f.sourceAllocEvent)
        {
            return -1;
        }
        for (int i = 0; i < ws.size(); i++)
        {
            if (ws.get(i).size < 8)
            {
                return i;
            }
        }
        return 0;
    }

    /** {@link #explain(Probe.Looker, WhoWroteIndex)} with a pass over the trace per probe. */
    public void explain(final Path trace, final WhoWroteIndex index)
    {
        explain(Probe.of(trace, symbols), index);
    }

    /** Second stage, after the pass: follows the bad value back through the who-wrote index and prints the chain. */
    public void explain(final Probe.Looker looker, final WhoWroteIndex index)
    {
        if (oops == null)
        {
            return;
        }
        final Fault f = oops;
        final StringBuilder sb = new StringBuilder();
        sb.append("==================================================================\n");
        sb.append("Oops causal chain (oops at event ").append(f.oopsEvent).append(", cpu").append(f.cpu).append(", task ").append(f.task).append(")\n");
        sb.append("  [1] fault: ").append(faultKind(f)).append(" by ").append(symbols.sym(f.pc)).append(" at event ").append(f.event).append('\n');
        sb.append("      ").append(symbols.chain(f.pc, f.stack)).append('\n');
        final List<Long> extraLinks = new ArrayList<>();
        if (!f.badFrameWhat.isEmpty())
        {
            sb.append("      the Call Trace cannot be walked past ").append(Long.toHexString(f.badFrameSlot)).append(": its ").append(f.badFrameWhat)
                .append(" is ").append(Symbols.hex16(f.badFrameValue)).append('\n');
            final List<WhoWroteIndex.Write> ws = index.writers(f.badFrameKey, 8, f.event, false);
            if (ws.isEmpty())
            {
                sb.append("      nobody wrote that slot during the trace\n");
            }
            else
            {
                final Probe.Sight s = looker.look(List.of(ws.get(0).event)).get(0);
                sb.append("      that garbage was written at event ").append(ws.get(0).event).append(" by ")
                    .append(symbols.chain(s.event.pc(), s.stack)).append('\n');
                extraLinks.add(ws.get(0).event);
            }
        }
        if (f.nestedEvent >= 0)
        {
            sb.append("      then the oops path itself faulted at event ").append(f.nestedEvent).append(" in ").append(symbols.sym(f.nestedPc))
                .append(" on ").append(Symbols.hex16(f.nestedAddr)).append(" (the printed Call Trace may be cut short)\n");
        }
        final int c = carrier(f);
        final String kindNote = badReturn(f) ? " (bad return)" : f.vector == 13 ? " (general protection fault)" : Long.compareUnsigned(f.addr, 4096) < 0 ? " (NULL pointer dereference)" : "";
        String title = "oops at " + Long.toHexString(f.addr) + " in " + symbols.sym(f.pc) + kindNote;
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
            final long dv = f.addr - f.values[c];
            sb.append("  [2] the bad pointer ").append(Symbols.hex16(f.values[c])).append(f.values[c] == f.addr ? "" :
                dv >= 0 && dv < 4096 ? " (+0x" + Long.toHexString(dv) + ")" : " (a page-table entry: __va(" +
                Long.toHexString(f.values[c] & palimpsest.emulator.Paging.ADDR_MASK) + ") + 0x" +
                Long.toHexString(f.addr - palimpsest.kernel.Layout.PAGE_OFFSET - (f.values[c] & palimpsest.emulator.Paging.ADDR_MASK)) +
                " is the address)").append(" was loaded by ").append(symbols.sym(f.pcs[c]))
                .append(" at event ").append(f.events[c]).append('\n');
            sb.append("  [3] from X = ").append(Long.toHexString(x)).append(" (phys ")
                .append(Long.toHexString(MachineShadow.paddrOf(f.phys[c]))).append(")\n");
            for (final String line : f.sourceOwner.split("\n"))
            {
                sb.append("      ").append(line).append('\n');
            }
            final List<WhoWroteIndex.Write> ws = index.writers(f.phys[c], 8, f.events[c], false);
            long newest = -1;
            for (final WhoWroteIndex.Write w : ws)
            {
                newest = Math.max(newest, w.event);
            }
            if (ws.isEmpty() && f.sourceAllocEvent < 0)
            {
                sb.append("  [4] nobody wrote X during the trace\n");
            }
            else if (f.sourceAllocEvent >= 0 && newest < f.sourceAllocEvent)
            {
                // No wrong lead: the last write of X is older than the object X lies in, so no
                // writer of this object put the value there; it is what the memory held.
                sb.append("  [4] X was not written since its allocation at event ").append(f.sourceAllocEvent).append(" by ")
                    .append(f.sourceAllocator).append(":\n      the bad pointer is uninitialised memory (slab poison or the previous owner's leftover; ")
                    .append(newest < 0 ? "nobody wrote it during the trace" : "the last write, at event " + newest + ", is older than the object")
                    .append(")\n");
                title += " <- pointer loaded from " + Long.toHexString(x) + ", never written since its allocation at event " + f.sourceAllocEvent;
                extraLinks.add(f.sourceAllocEvent);
            }
            else
            {
                final List<Long> evs = new ArrayList<>();
                for (final WhoWroteIndex.Write w : ws)
                {
                    evs.add(w.event);
                }
                final List<Probe.Sight> sights = looker.look(evs);
                // The culprit: the newest write that covers only part of the 8 bytes (the differing
                // byte); if every write is whole, the newest one.
                final int culprit = culpritOf(ws, f);
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
            earlierWrites(looker, index, sb);
        }
        sb.append("==================================================================\n");
        final List<Long> all = new ArrayList<>(List.of(f.event));
        if (carrierLoadEvent >= 0)
        {
            all.add(carrierLoadEvent);
        }
        all.addAll(extraLinks);
        final long[] links = all.stream().mapToLong(Long::longValue).toArray();
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
    private void earlierWrites(final Probe.Looker looker, final WhoWroteIndex index, final StringBuilder sb)
    {
        final List<WhoWroteIndex.Write> ws = index.writers(culprit.physAddr, culprit.size, culprit.event, true);
        final int n = Math.min(EARLIER, ws.size());
        if (n == 0)
        {
            return;
        }
        final List<Long> evs = new ArrayList<>();
        for (int i = 0; i < n; i++)
        {
            evs.add(ws.get(i).event);
        }
        final List<Probe.Sight> sights = looker.look(evs);
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

    /** Registers this analyzer as {@code oops}. */
    public static final class Factory extends palimpsest.analyzers.ShadowAnalyzerFactory
    {
        public Factory()
        {
            super("oops", "oops causal chain: the faulting access, the load that carried the bad value, who wrote it", OopsChain::new);
        }
    }
}
