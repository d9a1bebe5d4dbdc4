package palimpsest.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.regs.RegisterProvenance;
import palimpsest.analyzers.regs.RegisterWriters;
import palimpsest.analyzers.whowrote.IndexedProbe;
import palimpsest.analyzers.whowrote.Probe;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.trace.Reg;
import palimpsest.trace.TraceHeader;

/** {@code pal who-wrote TRACE --reg R --cpu C [--before N]}: register provenance. */
final class RegisterQuery
{
    private RegisterQuery()
    {
    }

    static int run(final Io io, final Path trace, final String name, final int cpu, final long before, final PluginOptions plugins)
    {
        final int reg = RegisterWriters.parse(name);
        if (reg < 0)
        {
            throw new UserError("--reg must be one of if, flags, rsp, rbp, cr3, cpl; got " + name);
        }
        final TraceHeader h = DumpCommand.header(trace);
        if (cpu < 0 || cpu >= h.cpuCount())
        {
            throw new UserError("--cpu " + cpu + ": the trace has cpus 0.." + (h.cpuCount() - 1));
        }
        // Backwards from --before through the chunk table: a write shortly before costs a chunk or two, not a pass.
        final RegisterProvenance.Answer a = RegisterProvenance.lastWriteNear(trace, cpu, reg, before);
        final PrintStream out = io.out;
        final String what = name.equalsIgnoreCase("if") ? "IF" : Reg.name(reg);
        final String when = before == Long.MAX_VALUE ? "the end" : "event " + before;
        if (a.event < 0)
        {
            out.println("who wrote " + what + " on cpu" + cpu + " before " + when + ": nobody (the reset value)");
            return Whole.exit(io, 1, Whole.of(trace)); // "nobody" from a cut or damaged trace is not an answer
        }
        final Symbols symbols = Symbols.of(trace, h, plugins::catalog);
        // The writer's task and stack from the keyframes and the who-wrote index when it is on disk; else the pass.
        final WhoWroteIndex idx = WhoWroteIndex.openIfFresh(trace);
        List<Probe.Sight> sights = idx == null ? null : IndexedProbe.look(trace, plugins.catalog(), symbols, idx, List.of(a.event));
        if (sights == null)
        {
            sights = Probe.look(trace, symbols, List.of(a.event));
        }
        final Probe.Sight s = sights.get(0);
        final String value = reg == Reg.FLAGS ? String.format("0x%x (IF=%d)", a.value, RegisterWriters.ifSet(a.value) ? 1 : 0) :
            "0x" + Long.toHexString(a.value);
        out.println("who wrote " + what + " on cpu" + cpu + " before " + when + ":");
        out.println();
        out.println("#" + a.event + " cpu" + cpu + " task " + s.task + " " + Reg.name(reg) + " = " + value + " by the " + a.how
            + " at " + symbols.sym(a.pc));
        out.println("  writer: " + symbols.chain(a.pc, s.stack));
        out.print(symbols.stack(new StringBuilder(), a.pc, s.stack).toString().replaceAll("(?m)^", "  "));
        return Whole.exit(io, 0, Whole.of(trace, idx == null ? null : idx.extent()));
    }
}
