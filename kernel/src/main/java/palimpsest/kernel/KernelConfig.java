package palimpsest.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

import palimpsest.emulator.Cpu;

import palimpsest.kernel.patches.Patches;
import palimpsest.kernel.user.UserProgram;

/**
 * What the boot loader hands the kernel: the build (patches), the command line (init program),
 * the initrd's files and the user programs whose code the image carries.
 */
public final class KernelConfig
{
    /** A file for the initrd. */
    public static final class InitrdFile
    {
        public final String path;
        public final byte[] data;

        public InitrdFile(final String path, final byte[] data)
        {
            this.path = path;
            this.data = data;
        }
    }

    public Patches patches = Patches.of("", List.of());
    /** Path of the first user program (pid 1), or null to idle {@link #idleTicks} and power off. */
    public String init;
    /** Without an init program: how long pid 1 idles before powering off (virtual ticks). */
    public long idleTicks = 2_000_000;
    /** APIC timer period in ticks (the scheduler tick). */
    public long timerPeriod = 200_000;
    /** Akaros profiler: PMU overflow period in retired instructions once a process starts it (0 = no profiler). */
    public long pmuPeriod;
    public final List<InitrdFile> files = new ArrayList<>();
    /** Linux's {@code mem=}: use at most this many bytes of RAM (0 = all of it). */
    public long memLimit;
    /**
     * In-kernel tests (KUnit style): run by pid 1, a kernel thread, on an emulated cpu once the
     * machine is up; then the kernel powers off. An AssertionError thrown here ends the run as
     * an internal error carrying it.
     */
    public BiConsumer<Cpu, Kernel> kunit;
    /** Code added to the image while it is built (like {@link palimpsest.kernel.patches.Patch#install}). */
    public final List<Consumer<Kernel>> builders = new ArrayList<>();
    public final List<UserProgram> programs = new ArrayList<>();
    /** LegoOS: one kernel per node with roles (processor / memory); null = the single-node kernel. */
    public palimpsest.kernel.lego.LegoConfig lego;
    /** Loadable modules by name (init_module(name) loads one). */
    public final java.util.Map<String, java.util.function.Supplier<? extends palimpsest.kernel.module.Module>> modules =
        new java.util.TreeMap<>();

    public KernelConfig patches(final Patches p)
    {
        this.patches = p;
        return this;
    }

    public KernelConfig init(final String path)
    {
        this.init = path;
        return this;
    }

    public KernelConfig file(final String path, final byte[] data)
    {
        files.add(new InitrdFile(path, data));
        return this;
    }

    /** Makes a module loadable by name (the module's .ko). */
    public KernelConfig module(final String name, final java.util.function.Supplier<? extends palimpsest.kernel.module.Module> code)
    {
        modules.put(name, code);
        return this;
    }

    /** Adds a program: its code is registered at its text address and its image becomes a file. */
    public KernelConfig program(final UserProgram p)
    {
        programs.add(p);
        return this;
    }
}
