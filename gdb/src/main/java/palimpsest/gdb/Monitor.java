package palimpsest.gdb;

import java.util.List;
import java.util.Locale;

import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.emulator.Paging;
import palimpsest.replayer.state.TraceState;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * gdb's {@code monitor} commands ({@code qRcmd}) over a {@link ReplayTarget}:
 * <ul>
 *   <li>{@code when}: the current event (rr's {@code when});</li>
 *   <li>{@code goto N}: stand at event N (then {@code maintenance flush register-cache} in gdb, whose register cache
 *       does not know the target moved);</li>
 *   <li>{@code who-wrote ADDR [LEN]}: the last writer of each byte of [ADDR, ADDR+LEN) before the
 *       current event, ADDR virtual through the current thread's page tables: event, cpu, pc, the
 *       value, the mapping it wrote through when that is not ADDR's, and its call chain.</li>
 * </ul>
 */
final class Monitor
{
    private static final int MAX_FRAMES = 12;
    private static final int MAX_LEN = 4096;

    private final ReplayTarget target;

    Monitor(final ReplayTarget target)
    {
        this.target = target;
    }

    /** The command's output (lines ending in newline). */
    String run(final String command)
    {
        final String[] w = command.trim().split("\\s+");
        try
        {
            switch (w[0])
            {
                case "when":
                    return when();
                case "goto":
                    return w.length == 2 ? moveTo(number(w[1])) : "usage: monitor goto N\n";
                case "who-wrote":
                    return w.length == 2 || w.length == 3 ? whoWrote(hex(w[1]), w.length == 3 ? (int)number(w[2]) : 1)
                        : "usage: monitor who-wrote ADDR [LEN]\n";
                default:
                    return "monitor commands: when | goto N | who-wrote ADDR [LEN]\n";
            }
        }
        catch (final NumberFormatException e)
        {
            return "pal: not a number: " + e.getMessage() + "\n";
        }
    }

    private String when()
    {
        final long pending = target.pendingEvent();
        final int cpu = target.thread();
        final String where = pending >= 0
            ? "before event " + pending + " (cpu" + cpu + " about to execute it)"
            : "after event " + (target.position() - 1) + " (the state after events 0.." + (target.position() - 1) + ")";
        return String.format("current event: %d of %d, %s; thread %d = cpu%d at %s%n", target.position(), target.events(),
            where, cpu + 1, cpu, target.symbols().sym(target.pc(cpu)));
    }

    private String moveTo(final long n)
    {
        if (n < 0 || n > target.events())
        {
            return "pal: event " + n + " is not in the trace (0.." + target.events() + ")\n";
        }
        target.moveTo(n);
        return "now at event " + n + " (after events 0.." + (n - 1) + "); run 'maintenance flush register-cache' (flushregs) so gdb reads the registers again\n";
    }

    private String whoWrote(final long vaddr, final int len)
    {
        if (len <= 0 || len > MAX_LEN)
        {
            return "pal: LEN must be 1.." + MAX_LEN + "\n";
        }
        final int cpu = target.thread();
        final StringBuilder out = new StringBuilder();
        final long before = target.position();
        final WhoWroteIndex index = target.index();
        final Symbols sym = target.symbols();
        int i = 0;
        boolean any = false;
        while (i < len)
        {
            final long phys = target.physOf(vaddr + i);
            if (phys < 0)
            {
                return out.append(String.format("pal: %x is not mapped on cpu%d at event %d%n", vaddr + i, cpu, before)).toString();
            }
            // the bytes up to the end of this physical page go in one query
            final int run = (int)Math.min(len - i, Paging.PAGE_SIZE - (phys & Paging.PAGE_MASK));
            final List<WhoWroteIndex.Write> writes = index.writers(phys, run, before, false);
            for (final WhoWroteIndex.Write w : writes)
            {
                any = true;
                describe(out, vaddr + i + (w.physAddr - phys), w, sym);
            }
            i += run;
        }
        if (!any)
        {
            out.append(String.format("nobody wrote %x..%x before event %d (it holds what the image loaded)%n", vaddr,
                vaddr + len - 1, before));
        }
        return out.toString();
    }

    private void describe(final StringBuilder out, final long watched, final WhoWroteIndex.Write w, final Symbols sym)
    {
        final Event e = target.event(w.event);
        final long pa = w.physAddr & ((1L << 48) - 1);
        if (EventKind.isDevice(e.cpu()))
        {
            out.append(String.format("#%d DMA of device %d wrote %d byte(s) at phys %x (%x)%n", e.index(),
                e.cpu() - EventKind.deviceId(0), e.size(), pa, watched));
            return;
        }
        out.append(String.format("#%d cpu%d %s wrote %d byte(s) = %s at %x (phys %x)%n", e.index(), e.cpu(), sym.sym(e.pc()),
            e.size(), hexValue(e.value(), e.size()), watched, pa));
        if (e.vaddr() != watched && e.size() > 0 && Long.compareUnsigned(watched - e.vaddr(), e.size()) >= 0)
        {
            out.append(String.format("  through another mapping of the same physical bytes: %x (a watchpoint on %x " +
                "fires for it here; a hardware one would not)%n", e.vaddr(), watched));
        }
        final TraceState then = target.stateAt(e.index());
        final List<Long> frames = then.backtrace(e.cpu(), MAX_FRAMES);
        final StringBuilder chain = new StringBuilder("  ").append(name(sym, e.pc()));
        for (int f = 1; f < frames.size(); f++)
        {
            chain.append(" <- ").append(name(sym, frames.get(f)));
        }
        out.append(chain).append('\n');
    }

    private static String name(final Symbols sym, final long pc)
    {
        final String f = sym.function(pc);
        return f != null ? f : sym.sym(pc);
    }

    private static String hexValue(final long v, final int size)
    {
        return String.format(Locale.ROOT, "0x%0" + (2 * size) + "x", size >= 8 ? v : v & ((1L << (8 * size)) - 1));
    }

    private static long hex(final String s)
    {
        return Long.parseUnsignedLong(s.startsWith("0x") || s.startsWith("0X") ? s.substring(2) : s, 16);
    }

    private static long number(final String s)
    {
        return s.startsWith("0x") || s.startsWith("0X") ? Long.parseUnsignedLong(s.substring(2), 16) : Long.parseLong(s);
    }
}
