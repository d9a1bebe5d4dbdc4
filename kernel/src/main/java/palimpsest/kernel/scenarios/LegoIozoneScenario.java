package palimpsest.kernel.scenarios;

import java.nio.charset.StandardCharsets;

import palimpsest.emulator.Machine;
import palimpsest.emulator.ScenarioContext;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.programs.Iozone;

/**
 * lego-iozone: an iozone-like read test on a LegoOS cluster, whose C globals sit in .bss right
 * after its initialised data. The memory component's loader maps the last data page from the file
 * and must clear the rest of it (lego_clear_user); without that (patch lego-clear-user-todo, the
 * diary's 02/16) the globals hold the file's following bytes and iozone says which are not zero.
 * GOOD when it read the whole file in records and every node powered off.
 */
public final class LegoIozoneScenario extends LegoWordCountScenario
{
    @Override
    public String name()
    {
        return "lego-iozone";
    }

    @Override
    public String description()
    {
        return "LegoOS: an iozone-like read test whose counters are .bss globals (the loader's lego_clear_user)";
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        config.lego = cluster(context, machine.config().nodes);
        config.file("/data/words.txt", text(context).getBytes(StandardCharsets.US_ASCII));
        config.program(new Iozone());
        config.init("/bin/iozone");
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        final int bytes = text(context).length();
        return new String[] {
            "iozone: read " + bytes + " bytes in " + (bytes + Iozone.RECLEN - 1) / Iozone.RECLEN + " records of " + Iozone.RECLEN +
                " bytes",
            "iozone test complete.", "reboot: Power down"
        };
    }

    /** One process, one thread: all of it on one cpu says nothing about cpus_allowed. */
    @Override
    protected boolean spreadsOverCpus()
    {
        return false;
    }
}
