package palimpsest.kernel.scenarios;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Verdict;
import palimpsest.kernel.Globals;
import palimpsest.kernel.KernelInspector;
import palimpsest.kernel.sched.PerCpu;
import palimpsest.kernel.lego.LegoConfig;

/** What every LegoOS scenario demands of the memory nodes: up, serving, powered off cleanly. */
final class LegoVerdicts
{
    private LegoVerdicts()
    {
    }

    /** BAD for a node that oopsed, never served, or did not power off; null if the memory nodes are fine. */
    static Verdict nodes(final Machine machine, final Outcome outcome)
    {
        for (int n = 1; n < machine.config().nodes; n++)
        {
            final String c = machine.console(n).text();
            final int bug = Math.max(c.indexOf("BUG:"), c.indexOf("Kernel panic"));
            if (bug >= 0)
            {
                final int eol = c.indexOf('\n', bug);
                return Verdict.bad("[" + LegoConfig.label(n) + "] " + c.substring(bug, eol < 0 ? c.length() : eol));
            }
            if (!c.contains("Memory-component manager is up and running."))
            {
                return Verdict.bad("[" + LegoConfig.label(n) + "] the memory-component manager never came up");
            }
            if (outcome.clean() && !machine.poweredOff(n))
            {
                return Verdict.bad("[" + LegoConfig.label(n) + "] did not power off");
            }
        }
        boolean loaded = false;
        for (int n = 1; n < machine.config().nodes; n++)
        {
            loaded |= machine.console(n).text().contains("handle_p2m_execve(): pid:1,");
        }
        return loaded ? null : Verdict.bad("no memory node loaded the processor's init (no handle_p2m_execve of pid 1)");
    }

    /**
     * Where the processor's user tasks ran, from its per-cpu areas (switches to a task with an mm):
     * with more than one cpu online, a workload that started several tasks and ran them all on one
     * cpu was confined there (a cpus_allowed inherited from the boot cpu's idle task). Null if fine.
     */
    static String placement(final Machine machine)
    {
        final KernelInspector mem = new KernelInspector(machine.memory(0));
        final long online = mem.global(Globals.CPU_ONLINE_MASK);
        final int cpus = machine.config().cpusPerNode;
        if (Long.bitCount(online) < 2)
        {
            return null;
        }
        final StringBuilder per = new StringBuilder();
        int used = 0;
        int only = -1;
        for (int c = 0; c < cpus; c++)
        {
            final long n = mem.read64(mem.global(Globals.PER_CPU_OFFSET + c * 8L) + PerCpu.USER_SWITCHES);
            per.append(c == 0 ? "" : ",").append(n);
            if (n > 0)
            {
                used++;
                only = c;
            }
        }
        return used == 1 ? "every user task on [P0] ran on cpu " + only + " only, with " + Long.bitCount(online) +
            " cpus online (switches to user tasks per cpu: " + per + ")" : null;
    }
}
