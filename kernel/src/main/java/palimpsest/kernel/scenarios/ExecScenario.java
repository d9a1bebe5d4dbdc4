package palimpsest.kernel.scenarios;

import palimpsest.emulator.Machine;
import palimpsest.emulator.ScenarioContext;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.programs.Greeter;
import palimpsest.kernel.user.programs.Launcher;

/**
 * exec: LegoOS's p2m execve. init is a launcher that forks a child per round (arg rounds, default
 * 2); each child execs {@code /bin/greeter}. Every exec builds a new address space whose stack vma
 * comes from {@code __bprm_mm_init} and copies the filename onto the new stack from kernel mode
 * (copy_strings), which faults the stack page in through handle_mm_fault on that vma.
 *
 * <p>Without {@code loader-kzalloc-vma} the vma is kmalloc'ed and its {@code vm_ops} is whatever
 * the slot held: with slab poisoning, 0x6b6b6b6b6b6b6b6b (a general protection fault on the
 * non-canonical {@code vm_ops->fault}); with {@code -slab-poison}, the previous owner's leftover,
 * the freed exec header buffer's word at offset 40 (the file's data size): 0 for the launcher
 * (the bug stays hidden at init's own exec), 0x30 for /bin/greeter, a NULL pointer dereference at
 * 0000000000000030 as in the LegoOS diary.
 */
public final class ExecScenario extends KernelScenario
{
    @Override
    public String name()
    {
        return "exec";
    }

    @Override
    public String description()
    {
        return "LegoOS p2m execve: a launcher forks and each child execs /bin/greeter (arg rounds); the stack vma of __bprm_mm_init";
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        config.program(new Launcher((int)context.longArg("rounds", 2)));
        config.program(new Greeter());
        config.init("/bin/launcher");
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        final long rounds = context.longArg("rounds", 2);
        return new String[] {"hello from /bin/greeter, pid", "exec: " + rounds + " of " + rounds + " execs of /bin/greeter ran", "reboot: Power down"};
    }
}
