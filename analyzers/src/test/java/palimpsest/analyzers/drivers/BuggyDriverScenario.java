package palimpsest.analyzers.drivers;

import java.util.List;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.ScenarioArg;
import palimpsest.emulator.ScenarioContext;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.scenarios.KernelScenario;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * test-buggy-driver: init loads {@link BuggyDriver}, drives one of its bugs through /dev/buggy
 * ({@code --arg bug=uninit-length|uninit-branch|stack|dma-uaf|lockup|none}, {@code --arg fixed=1} for
 * the driver's fixed form), closes the device, unloads the module and powers off.
 */
public final class BuggyDriverScenario extends KernelScenario
{
    public static final String NAME = "test-buggy-driver";
    static final String DONE = "buggy: done";

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public String description()
    {
        return "a test plugin driver's bugs, one per run (uninit length/branch, stack overflow, DMA into a freed RX buffer)";
    }

    @Override
    public MachineConfig defaultConfig()
    {
        return new MachineConfig(1, 2, 16);
    }

    /** Short: a lockup runs into this limit. */
    @Override
    public long maxInstructions()
    {
        return 2_000_000L;
    }

    @Override
    protected List<ScenarioArg> scenarioArgs()
    {
        return List.of(ScenarioArg.choice("bug", "none", "which bug the program drives", "none", "uninit-length", "uninit-branch", "stack", "dma-uaf", "lockup"),
            ScenarioArg.number("fixed", "0", "1: the driver's fixed form"));
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        final String bug = context.args().getOrDefault("bug", "none");
        final boolean fixed = context.longArg("fixed", 0) != 0;
        config.module(BuggyDriver.NAME, BuggyDriver::new).program(new Driver(bug, fixed)).init("/bin/buggytest");
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        return new String[] {DONE, "reboot: Power down"};
    }

    /** The user program: insmod, open, the chosen ioctls, close, rmmod. */
    static final class Driver extends UserProgram
    {
        private final String bug;
        private final boolean fixed;
        private long scratch;
        private long name;
        private long path;
        private long buf;

        Driver(final String bug, final boolean fixed)
        {
            super("buggytest", "/bin/buggytest", 0xc00000);
            this.bug = bug;
            this.fixed = fixed;
        }

        @Override
        protected void define(final Image img)
        {
            img.fn("main", 0x100, this::main);
            name = img.data(BuggyDriver.NAME);
            path = img.data("/dev/buggy");
            scratch = img.bss(256);
            buf = img.bss(64);
        }

        private void main(final Cpu cpu)
        {
            cpu.pc(textBase());
            final long loaded = U.initModule(cpu, name);
            final long fd = U.open(cpu, path);
            final long f = fixed ? 1 : 0;
            long r = 0;
            switch (bug)
            {
                case "uninit-length": r = U.ioctl(cpu, fd, 1, buf | f); break;
                case "uninit-branch": r = U.ioctl(cpu, fd, 2, f); break;
                case "stack":
                    for (int i = 0; i < 32; i++)
                    {
                        cpu.store8(buf + i, 'A');
                    }
                    r = U.ioctl(cpu, fd, fixed ? 7 : 3, buf);
                    break;
                case "dma-uaf":
                    U.ioctl(cpu, fd, 4, f);
                    U.ioctl(cpu, fd, 5, 0);
                    U.sleep(cpu, 2);
                    r = U.ioctl(cpu, fd, 6, 0);
                    break;
                case "lockup":
                    U.ioctl(cpu, fd, 8, f);
                    r = U.ioctl(cpu, fd, 8, f);
                    break;
                default: break;
            }
            final long closed = U.close(cpu, fd);
            final long unloaded = U.deleteModule(cpu, name);
            U.print(cpu, scratch, DONE + " insmod=" + loaded + " fd=" + fd + " bug=" + bug + " r=" + r + " close=" + closed + " rmmod=" + unloaded + "\n");
            U.exit(cpu, 0);
        }
    }
}
