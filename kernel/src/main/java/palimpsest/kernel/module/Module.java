package palimpsest.kernel.module;

import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Routine;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Kernel;

/**
 * A loadable module's code: what a {@code .ko} file holds. {@link #define} lays out its text at a
 * base address chosen by the loader (module_alloc), so a fresh instance is made for every load
 * (the Java object is the relocated code, nothing else: the module's state is in emulated memory,
 * reached through its {@code struct module}). Functions whose bodies use inline atomics declare
 * their LOCK-prefix sites with {@link Image#lockSite}: the loader writes 0xF0 there and lists the
 * sites in the module's {@code .smp_locks} table, which SMP alternatives patch.
 */
public abstract class Module
{
    /** The module's name as {@code lsmod} shows it. */
    public abstract String name();

    /** Lays out the text: functions and lock sites, starting at img.base(). */
    protected abstract void define(Image img);

    /** module_init: runs in the loading task's context; the struct module is at mod. Returns 0 or -errno. */
    protected abstract long init(Cpu cpu, Kernel k, long mod);

    /** module_exit: undoes init. */
    protected abstract void exit(Cpu cpu, Kernel k, long mod);

    /** The module's text while it is being laid out: functions in order, each 16-byte aligned. */
    public static final class Image
    {
        private final long base;
        private long next;
        final List<Fn> fns = new ArrayList<>();
        final List<Routine> bodies = new ArrayList<>();
        final List<Long> lockSites = new ArrayList<>();

        Image(final long base)
        {
            this.base = base;
            this.next = base;
        }

        public long base()
        {
            return base;
        }

        public Fn fn(final String name, final int size)
        {
            return fn(name, size, null);
        }

        /** A function; body (may be null) runs when control is transferred to its first byte. */
        public Fn fn(final String name, final int size, final Routine body)
        {
            final long sz = Math.max(0x20, (size + 15) & ~15L);
            final Fn f = new Fn(name, next, sz);
            next += sz;
            fns.add(f);
            bodies.add(body);
            return f;
        }

        /** A LOCK-prefixed instruction at fn+off (byte 0xF0, listed in the module's .smp_locks). */
        public long lockSite(final Fn fn, final int off)
        {
            final long site = fn.addr + off;
            lockSites.add(site);
            return site;
        }

        public long size()
        {
            return next - base;
        }
    }
}
