package palimpsest.kernel.scenarios;

import palimpsest.emulator.ScenarioArg;
import java.util.List;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.module.E1000;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;
import palimpsest.kernel.user.programs.DcacheWalker;
import palimpsest.kernel.user.programs.MemChecker;

/**
 * The 2.6.25-git2 "0xf0 scribble" (LKML, April 2008: Rafael's {@code __d_lookup} oops after
 * suspend/resume, Jiri's checker finding {@code 'p' | 0xf0}), reproduced by its real mechanism.
 *
 * <p>What runs: {@code /sbin/init} loads {@code e1000} (a driver module whose watchdog timer
 * updates statistics with {@code lock xadd} at LOCK sites in module text), forks Jiri's memory
 * checker and a dcache walker (opens every file of a tree, round after round, as kio_file /
 * git-status did), and a suspend/resume is requested by a recorded stimulus (the power button).
 * Suspend takes the second cpu down: SMP alternatives patch every LOCK prefix to 0x3E; resume
 * brings it back: 0xF0 again. With "x86: enhance DEBUG_RODATA support - alternatives" text_poke
 * writes module sites through {@code virt_to_page(addr)}, i.e. physical {@code addr -
 * __START_KERNEL_map}: the page whose pfn equals the module text's offset from
 * __START_KERNEL_map, which is somebody else's memory.
 *
 * <p><b>Why the default run ends in {@code __d_lookup}</b> (a designed reproduction, like a
 * reporter's machine): e1000 is the only module, so its text is at MODULES_VADDR =
 * __START_KERNEL_map + 6 MiB and the stray bytes land in physical page 0x600, at the e1000 LOCK
 * sites' page offsets (0x08d, 0x158, 0x17e, 0x206). The machine is 2 cpus x 8 MiB booted with
 * {@code mem=6240k}: the buddy allocator hands out the small blocks just below the initrd (top of
 * usable RAM) first, in ascending order, and the initrd's 240-file tree fills the dentry cache
 * during boot, so page 0x600 becomes a dentry slab page (dentries are 128 bytes at a stride of
 * 136). Offset 0x08d = dentry #1 + 5: byte 5 of its {@code d_hash.next}, the byte of the thread
 * ("offset 5 within a 64-bit word"): ffff8800xxxxxxxx becomes fffff000xxxxxxxx. The other three
 * land in the tail of a name (after its length) and in padding: harmless. The next walk of that
 * hash chain past the dentry faults: {@code BUG: unable to handle kernel paging request at
 * fffff000...}, {@code IP: __d_lookup}. With {@code victim=checker} the machine is booted with
 * {@code mem=6784k}: page 0x600 is then still free when the checker maps its buffer (with fewer kilobytes a fork page table of the exec path takes it first) and the buffer gets it;
 * the checker reports {@code WHAT THE HELL} with {@code 70f0707070707070} words. Jiri's program
 * took 1 GB of 2 ("it eats almost all free available memory"); ours takes {@code checker-kb}
 * (3 MiB of the ~3.9 MiB free after boot), which is why the machine is small: filling and checking
 * every byte of most of RAM is what costs events (~1.8M in the buggy run, ~4.6M in a clean one).
 *
 * <p>Timeline: boot (~0.25 ms virtual), init loads e1000 and forks the checker and the walker;
 * the power button at {@link #SUSPEND_AT} (1 ms) while the checker sleeps on its filled buffer;
 * suspend (UP: 0x3E), 0.6 ms asleep, resume (SMP: 0xF0); the walker's next lookups cross the bad
 * pointer.
 *
 * <p>Args: {@code suspend=0|1} (default 1), {@code module=0|1} (default 1),
 * {@code victim=dentry|checker}, {@code mem-kb} (the mem= limit), {@code checker-kb} (default
 * 3072), {@code rounds} (checker rounds, default 2), {@code walks} (walker rounds, default 5),
 * {@code dirs}/{@code files} (tree size, default 12 x 20; changing it moves the victim).
 *
 * <p>Verdict: BAD "oops in __d_lookup ..." or "checker: corrupted byte 0xf0 at ..."; GOOD on a
 * clean power-off after the workload finished (after the resume, when suspend=1); SKIP when the
 * run broke before it could tell (boot or module load failed, or it died before the resume).
 */
public final class TextPokeScribbleScenario extends KernelScenario
{
    public static final String NAME = "text-poke-scribble";
    public static final long TEXT_BASE = 0xA00000;
    /** Virtual time of the power button: the checker has filled its buffer and sleeps. */
    public static final long SUSPEND_AT = 1_000_000;

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public String description()
    {
        return "2.6.25-git2's 0xf0 scribble: e1000 module, suspend/resume patches SMP alternatives, text_poke hits the wrong page " +
            "(args suspend, module, victim=dentry|checker, checker-kb, rounds, dirs, files)";
    }

    @Override
    public MachineConfig defaultConfig()
    {
        return new MachineConfig(1, 2, 8);
    }

    @Override
    public long maxInstructions()
    {
        return 60_000_000L;
    }

    @Override
    protected List<ScenarioArg> scenarioArgs()
    {
        return List.of(
            ScenarioArg.number("module", "1", "1: load the e1000 module whose alternatives text_poke rewrites; 0: none"),
            ScenarioArg.choice("victim", "dentry", "what the stray 0xf0 lands in: a dentry, or the memory checker's buffer",
                "dentry", "checker"),
            ScenarioArg.number("dirs", "12", "directories of the tree the dcache walker looks up"),
            ScenarioArg.number("files", "20", "files per directory"),
            ScenarioArg.number("walks", "5", "walks of the tree"),
            ScenarioArg.number("rounds", "2", "rounds of the memory checker"),
            ScenarioArg.number("checker-kb", "3072", "KiB the memory checker fills and checks"),
            ScenarioArg.number("mem-kb", "6240 (6692 with victim=checker)", "KiB of RAM the kernel may use"),
            ScenarioArg.number("suspend", "1", "1: press the power button (suspend, then resume) around virtual time 1000000; 0: never"));
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext ctx, final Machine machine)
    {
        final boolean module = ctx.longArg("module", 1) != 0;
        final boolean checkerVictim = "checker".equals(ctx.arg("victim", "dentry"));
        final List<String> tree = DcacheWalker.tree((int)ctx.longArg("dirs", 12), (int)ctx.longArg("files", 20));
        for (final String p : tree)
        {
            config.file(p, new byte[0]);
        }
        config.module(E1000.NAME, E1000::new);
        final MemChecker checker = new MemChecker(ctx.longArg("checker-kb", 3072) * 1024, (int)ctx.longArg("rounds", 2), 12);
        final DcacheWalker walker = new DcacheWalker(tree, (int)ctx.longArg("walks", 5), 2);
        config.program(new Init(checker, walker, module));
        config.init("/sbin/init");
        config.memLimit = ctx.longArg("mem-kb", checkerVictim ? 6784 : 6240) * 1024;
    }

    @Override
    public void load(final Machine machine, final ScenarioContext context)
    {
        super.load(machine, context);
        // The power button, pressed around SUSPEND_AT unless suspend=0 (or suspend-at= moved it:
        // KernelScenario has armed that one already).
        if (context.longArg("suspend", 1) != 0 && context.longArg("suspend-at", 0) == 0)
        {
            kernel(machine).pm.suspendAt(machine, SUSPEND_AT);
        }
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        return new String[] {"memcheck: ", "walker: ", "reboot: Power down"};
    }

    @Override
    public Verdict verdict(final Machine machine, final Outcome outcome)
    {
        final String con = machine.console(0).text();
        final int oops = con.indexOf("BUG: unable to handle kernel paging request at ");
        if (oops >= 0)
        {
            final String addr = con.substring(oops + 47, Math.min(con.length(), oops + 63));
            final int ip = con.indexOf("IP: [<", oops);
            final String where = ip < 0 ? "" : con.substring(ip, con.indexOf('\n', ip));
            if (where.contains("__d_lookup"))
            {
                return Verdict.bad("oops in __d_lookup: paging request at " + addr + " (" + where + ")");
            }
            return Verdict.bad("oops: paging request at " + addr + " (" + where + ")");
        }
        final int hell = con.indexOf("WHAT THE HELL (");
        if (hell >= 0)
        {
            final String off = con.substring(hell + 15, con.indexOf(')', hell));
            final int f0 = con.indexOf("f0 ", hell);
            return Verdict.bad("checker: corrupted byte " + (f0 >= 0 ? "0xf0" : "?") + " at offset 0x" + off + " of its buffer");
        }
        if (!con.contains("init: starting workload"))
        {
            return Verdict.skip("the run broke before the workload started: " + outcome);
        }
        final boolean wantResume = con.contains("PM: Entering mem sleep");
        if (wantResume && !con.contains("Restarting tasks ... done.") && !outcome.clean())
        {
            return Verdict.skip("the run broke before resume: " + outcome);
        }
        return super.verdict(machine, outcome);
    }

    /** /sbin/init: load the driver, start the checker and the walker, wait for both. */
    static final class Init extends UserProgram
    {
        private final MemChecker checker;
        private final DcacheWalker walker;
        private final boolean module;
        private long e1000Name;
        private long scratch;
        private long status;

        Init(final MemChecker checker, final DcacheWalker walker, final boolean module)
        {
            super("init", "/sbin/init", TEXT_BASE);
            this.checker = checker;
            this.walker = walker;
            this.module = module;
        }

        @Override
        protected void define(final Image img)
        {
            img.fn("main", 0x100, this::main);
            e1000Name = img.data(E1000.NAME);
            walker.defineData(img);
            checker.define(img);
            walker.define(img);
            scratch = img.bss(128);
            status = img.bss(8);
        }

        private void main(final Cpu cpu)
        {
            if (module)
            {
                final long r = U.initModule(cpu, e1000Name);
                if (r != 0)
                {
                    U.print(cpu, scratch, "init: insmod e1000 failed: " + r + "\n");
                    U.exit(cpu, 3);
                }
            }
            U.print(cpu, scratch, "init: starting workload\n");
            if (U.fork(cpu, checker.entry()) < 0 || U.fork(cpu, walker.entry()) < 0)
            {
                U.exit(cpu, 3);
            }
            long bad = 0;
            for (int i = 0; i < 2; i++)
            {
                if (U.wait(cpu, status) < 0)
                {
                    bad++;
                }
                else if (cpu.load64(status) != 0)
                {
                    bad++;
                }
            }
            U.print(cpu, scratch, "init: workload done, " + bad + " failed\n");
            U.exit(cpu, bad == 0 ? 0 : 1);
        }
    }
}
