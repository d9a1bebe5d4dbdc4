package palimpsest.kernel.scenarios;

import palimpsest.emulator.Machine;
import palimpsest.emulator.ScenarioContext;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.programs.LegoExec;

/**
 * lego-exec: fork and exec of a program with argv/envp on a LegoOS cluster (p2m_fork with the
 * parent's dirty pcache lines written back first, handle_p2m_execve building the child's image on
 * the memory node). GOOD when the child printed its arguments, both saw their own data, and every
 * node powered off.
 */
public final class LegoExecScenario extends LegoWordCountScenario
{
    @Override
    public String name()
    {
        return "lego-exec";
    }

    @Override
    public String description()
    {
        return "LegoOS: fork + exec with argv/envp, handle_p2m_fork / handle_p2m_execve on the memory node";
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        config.lego = cluster(context, machine.config().nodes);
        config.program(new LegoExec());
        config.program(new LegoExec.Echo());
        config.init("/bin/lego_exec");
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        return new String[] {
            "echo_args: argc=3 argv[0]=/bin/echo_args argv[1]=alpha argv[2]=beta envp[0]=HOME=/ envp[1]=TERM=linux envp[2]=LEGO=1",
            "echo_args: mprotect ok", "echo_args: brk ok", "lego-exec: child exited 0, parent data intact", "reboot: Power down"
        };
    }

    /** Its tasks mostly run one at a time: the placement on one cpu says nothing. */
    @Override
    protected boolean spreadsOverCpus()
    {
        return false;
    }
}
