package palimpsest.analyzers.stack;

import java.util.ArrayList;
import java.util.List;

import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.AnalysisContext;
import palimpsest.analyzers.AnalyzerFactory;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.LongLongMap;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.owner.Origin;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.Reg;

/**
 * Stack integrity: a store that overwrites the saved frame pointer ({@code [fp]}) or return address
 * ({@code [fp+8]}) of a live frame, made while that frame is live (by the function itself or by a
 * deeper one it called: a stack buffer overflow), is {@code BUG: KASAN: stack-out-of-bounds in f}
 * naming the writer. The frames are the cpu's frame-pointer chain at the store, as the kernel's own
 * backtracer walks it; a frame's slots are written legitimately only while it is being built (the
 * call's push and {@code push rbp}, both below the frame pointer of the moment), so any later store
 * to them from the running task is the overflow. Only stores at or above the current frame pointer
 * inside the live part of the cpu's stack are candidates, which keeps the check off the hot path.
 *
 * <p>A smashed frame is judged when it is next used: its epilogue reading the slot back (a load of
 * the slot while the frame pointer is that frame) confirms the overflow, and so does the end of the
 * trace with the frame still live (an oops stopped the cpu first). A frame the task abandons
 * without returning through it (the frame pointer moves to a chain that no longer holds it:
 * Akaros's proc_restartcore rebuilding the user context over the dead kernel frames at the stack
 * top, then popping it with iret) was dead when it was written, so the store was no overflow.
 *
 * <p>The report says whose slot it was (the frame's function and which slot), what it held and
 * what was written, and who wrote the slot last (the call that built the frame). One report per
 * writing pc; the count of further smashes is appended.
 */
public final class StackSmash implements Analyzer
{
    public static final String NAME = "stack";

    private final MachineShadow shadow;
    private final Symbols symbols;
    private final List<Finding> findings = new ArrayList<>();
    private final List<Smash> smashes = new ArrayList<>();
    private final LongLongMap byPc = new LongLongMap(16, -1);
    /** Smashes whose frame has not been returned through or abandoned yet. */
    private final List<Smash> pending = new ArrayList<>();
    private long checkedStores;

    private static final class Smash
    {
        final Origin writer;
        final long vaddr;
        final int size;
        final long value;
        final long old;
        final boolean returnAddress;
        final long frameFunctionPc;
        final int depth;
        /** The smashed frame (its saved frame pointer's address). */
        final long frame;
        long more;
        /** The events of this smash's stores (the first ones): the story links the oops that used the slots to them. */
        final long[] events = new long[8];
        int nEvents;

        void add(final long event)
        {
            if (nEvents < events.length)
            {
                events[nEvents++] = event;
            }
        }

        Smash(final Origin writer, final Event e, final boolean returnAddress, final long frameFunctionPc, final int depth,
            final long frame)
        {
            this.frame = frame;
            this.writer = writer;
            this.vaddr = e.vaddr();
            this.size = e.size();
            this.value = e.value();
            this.old = e.oldValue();
            this.returnAddress = returnAddress;
            this.frameFunctionPc = frameFunctionPc;
            this.depth = depth;
            add(e.index());
        }
    }

    public StackSmash(final MachineShadow shadow, final Symbols symbols)
    {
        this.shadow = shadow;
        this.symbols = symbols;
    }

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public void onEvent(final Event e)
    {
        if (!pending.isEmpty())
        {
            judgePending(e);
        }
        if (e.kind() != EventKind.STORE)
        {
            return;
        }
        final int cpu = e.cpu();
        if (cpu >= shadow.cpus())
        {
            return;
        }
        final long fp = shadow.fp(cpu);
        final long va = e.vaddr();
        if (fp == 0 || Long.compareUnsigned(va + e.size(), fp) <= 0 || !shadow.onStack(cpu, va))
        {
            return;
        }
        checkedStores++;
        // Walk the live chain: frame k has its saved fp at fps[k] and its return address at fps[k] + 8.
        long f = fp;
        int n = 0;
        while (n < MachineShadow.MAX_FRAMES && f != 0 && (f & 7) == 0 && shadow.onStack(cpu, f))
        {
            if (overlaps(va, e.size(), f, 16))
            {
                report(cpu, e, Long.compareUnsigned(va + e.size(), f + 8) > 0 && Long.compareUnsigned(va, f + 16) < 0, n, f);
                return;
            }
            final long key = shadow.translate(cpu, f);
            if (key < 0)
            {
                return;
            }
            final long next = shadow.memory().read64(key);
            if (Long.compareUnsigned(next, f) <= 0)
            {
                return;
            }
            n++;
            f = next;
        }
    }

    private static boolean overlaps(final long a, final int alen, final long b, final int blen)
    {
        return Long.compareUnsigned(a, b + blen) < 0 && Long.compareUnsigned(b, a + alen) < 0;
    }

    /** A smashed frame's epilogue reading its slot confirms it; the task moving its frame pointer off it drops it. */
    private void judgePending(final Event e)
    {
        final int cpu = e.cpu();
        final boolean load = e.kind() == EventKind.LOAD;
        final boolean newFp = e.kind() == EventKind.REG && (int)e.a() == Reg.FP;
        if (!load && !newFp)
        {
            return;
        }
        for (int i = pending.size() - 1; i >= 0; i--)
        {
            final Smash p = pending.get(i);
            if (p.writer.cpu != cpu || shadow.task(cpu) != p.writer.task)
            {
                continue;
            }
            if (load && shadow.fp(cpu) == p.frame && overlaps(e.vaddr(), e.size(), p.frame, 16))
            {
                pending.remove(i);
                confirm(p);
            }
            else if (newFp && !onChain(cpu, e.b(), p.frame))
            {
                pending.remove(i);
            }
        }
    }

    /** Whether frame lies on the frame-pointer chain that starts at fp. */
    private boolean onChain(final int cpu, final long fp, final long frame)
    {
        long f = fp;
        for (int n = 0; n < MachineShadow.MAX_FRAMES && f != 0 && (f & 7) == 0 && shadow.onStack(cpu, f); n++)
        {
            if (f == frame)
            {
                return true;
            }
            final long key = shadow.translate(cpu, f);
            if (key < 0)
            {
                return false;
            }
            final long next = shadow.memory().read64(key);
            if (Long.compareUnsigned(next, f) <= 0)
            {
                return false;
            }
            f = next;
        }
        return false;
    }

    private void confirm(final Smash s)
    {
        final long i = byPc.get(s.writer.pc);
        if (i >= 0)
        {
            final Smash first = smashes.get((int)i);
            first.more += 1 + s.more;
            for (int k = 0; k < s.nEvents; k++)
            {
                first.add(s.events[k]);
            }
            return;
        }
        byPc.put(s.writer.pc, smashes.size());
        smashes.add(s);
    }

    private void report(final int cpu, final Event e, final boolean returnAddress, final int depth, final long frame)
    {
        for (final Smash p : pending)
        {
            if (p.writer.pc == e.pc() && p.writer.cpu == cpu && p.frame == frame)
            {
                p.more++;
                p.add(e.index());
                return;
            }
        }
        final long[] stack = shadow.backtrace(cpu);
        // The smashed frame belongs to the function whose return address sits above it: the
        // (depth)th return address of the chain is where frame depth returns to, so the frame
        // itself is the function that return address's predecessor names.
        final long framePc = depth == 0 ? e.pc() : (depth - 1 < stack.length ? stack[depth - 1] : 0);
        pending.add(new Smash(new Origin(e.index(), cpu, shadow.task(cpu), e.pc(), stack), e, returnAddress, framePc, depth, frame));
    }

    @Override
    public List<Finding> findings()
    {
        if (findings.isEmpty())
        {
            // Frames still live at the end of the trace: nothing abandoned them.
            for (final Smash p : pending)
            {
                confirm(p);
            }
            pending.clear();
            for (final Smash s : smashes)
            {
                findings.add(new Finding(NAME, s.writer.event, title(s), report(s), Finding.Role.CAUSE, "stack-out-of-bounds",
                    fn(s.writer.pc), 85, java.util.Arrays.copyOf(s.events, s.nEvents)));
            }
        }
        return findings;
    }

    private String fn(final long pc)
    {
        final String f = symbols.function(pc);
        return f != null ? f : symbols.sym(pc);
    }

    private String slot(final Smash s)
    {
        return (s.returnAddress ? "return address" : "saved frame pointer") + " of the frame of " + fn(s.frameFunctionPc) +
            (s.depth == 0 ? " (the writer's own frame)" : " (" + s.depth + " frame(s) up the call chain)");
    }

    private String title(final Smash s)
    {
        return "KASAN: stack-out-of-bounds in " + fn(s.writer.pc) + ": overwrote the " + slot(s) + " on cpu" + s.writer.cpu;
    }

    private String report(final Smash s)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("BUG: KASAN: stack-out-of-bounds in ").append(symbols.sym(s.writer.pc)).append('\n');
        sb.append("Write of size ").append(s.size).append(" at addr ").append(Symbols.hex16(s.vaddr)).append(" by task ")
            .append(s.writer.task).append(" on cpu").append(s.writer.cpu).append(" at event ").append(s.writer.event).append(":\n");
        symbols.stack(sb, s.writer.pc, s.writer.stack);
        sb.append("\nThe address is the ").append(slot(s)).append(", a live frame of this task's stack.\n");
        sb.append("It held 0x").append(Long.toHexString(s.old));
        if (s.returnAddress && symbols.function(s.old) != null)
        {
            sb.append(" (").append(symbols.sym(s.old)).append(')');
        }
        sb.append(" and now holds 0x").append(Long.toHexString(s.value)).append(s.returnAddress ?
            ": that frame will return there, and the backtrace walks through it.\n" :
            ": the caller's frame chain is cut there; the backtrace stops or wanders.\n");
        if (s.more > 0)
        {
            sb.append("(").append(s.more).append(" more stores from this pc over live frame slots)\n");
        }
        return sb.toString();
    }

    @Override
    public String checked()
    {
        return checkedStores + " stores above a frame pointer checked against the live frame chain";
    }

    public static final class Factory implements AnalyzerFactory
    {
        @Override
        public String name()
        {
            return NAME;
        }

        @Override
        public String description()
        {
            return "KASAN-style stack-out-of-bounds: a store over a live frame's saved frame pointer or return address";
        }

        @Override
        public Analyzer create(final AnalysisContext c)
        {
            return new StackSmash(c.shadow, c.symbols);
        }
    }
}
