package palimpsest.kernel.scenarios;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Verdict;
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
}
