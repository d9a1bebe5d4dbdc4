package palimpsest.kernel.module;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.fs.Vfs;

/**
 * Character devices for driver modules: {@code register_chrdev(major, name, fops)} puts the
 * driver's {@code struct file_operations} in the {@code chrdevs[]} table (kernel data) and makes
 * the node {@code /dev/NAME}; opening it runs {@code chrdev_open}, which takes the fops from the
 * table into the file and calls {@code fops->open}; read, write, ioctl (syscall 16) and the last
 * close ({@code fops->release}) go through the file's pointers, every one an indirect call from
 * memory, so a driver that frees its fops, or a stale table entry after unload, goes wrong for
 * real.
 *
 * <pre>
 * struct file_operations (40 bytes; ramfs's has only read)
 *   +0 read(file, ubuf, n)  +8 write(file, ubuf, n)  +16 open(inode, file)
 *   +24 release(inode, file)  +32 unlocked_ioctl(file, cmd, arg)
 * chrdevs[MAX_MAJOR]: fops pointer per major (0 = free), kzalloc'ed at the first register_chrdev
 * </pre>
 */
public final class CharDevs
{
    public static final int FOP_READ = 0;
    public static final int FOP_WRITE = 8;
    public static final int FOP_OPEN = 16;
    public static final int FOP_RELEASE = 24;
    public static final int FOP_IOCTL = 32;
    public static final int FOPS_SIZE = 40;
    public static final int MAX_MAJOR = Globals.CHRDEV_MAJORS;
    public static final long ENXIO = -6;
    public static final long EBUSY = -16;
    public static final long EINVAL = -22;
    public static final long ENOTTY = -25;

    private final Kernel k;
    private final Fn registerFn;
    private final Fn unregisterFn;
    private final Fn openFn;

    public CharDevs(final Kernel k)
    {
        this.k = k;
        this.registerFn = k.text.fn("register_chrdev", 0x60);
        this.unregisterFn = k.text.fn("unregister_chrdev", 0x40);
        this.openFn = k.text.fn("chrdev_open", 0x60);
    }

    /** A zeroed struct file_operations with these entry points (0 = not provided), kmalloc'ed. */
    public long fops(final Cpu cpu, final long read, final long write, final long open, final long release, final long ioctl)
    {
        final long f = k.slab.kzalloc(cpu, FOPS_SIZE);
        cpu.store64(f + FOP_READ, read);
        cpu.store64(f + FOP_WRITE, write);
        cpu.store64(f + FOP_OPEN, open);
        cpu.store64(f + FOP_RELEASE, release);
        cpu.store64(f + FOP_IOCTL, ioctl);
        return f;
    }

    /** register_chrdev: 0, or -EBUSY when the major is taken, -EINVAL when it is out of range. */
    public long register(final Cpu cpu, final int major, final String name, final long fops)
    {
        registerFn.enter(cpu);
        if (major <= 0 || major >= MAX_MAJOR)
        {
            return registerFn.leave(cpu, EINVAL);
        }
        long table = cpu.load64(Globals.CHRDEVS);
        if (table == 0)
        {
            table = k.slab.kzalloc(cpu, MAX_MAJOR * 8);
            cpu.store64(Globals.CHRDEVS, table);
        }
        final long slot = table + major * 8L;
        if (cpu.load64(slot) != 0)
        {
            return registerFn.leave(cpu, EBUSY);
        }
        cpu.store64(slot, fops);
        k.vfs.mknod(cpu, "dev/" + name, Vfs.S_IFCHR, major);
        return registerFn.leave(cpu, 0);
    }

    /** unregister_chrdev: the node stays (opening it then fails with -ENXIO, as a node without a driver). */
    public void unregister(final Cpu cpu, final int major)
    {
        unregisterFn.enter(cpu);
        final long table = cpu.load64(Globals.CHRDEVS);
        if (major > 0 && major < MAX_MAJOR && table != 0)
        {
            cpu.store64(table + major * 8L, 0);
        }
        unregisterFn.leave(cpu);
    }

    /** chrdev_open: the driver's fops into the file, then fops->open(inode, file); 0 or -errno. */
    public long open(final Cpu cpu, final long inode, final long file)
    {
        openFn.enter(cpu);
        final long major = cpu.load64(inode + Vfs.I_RDEV);
        final long table = cpu.load64(Globals.CHRDEVS);
        final long fops = major > 0 && major < MAX_MAJOR && table != 0 ? cpu.load64(table + major * 8) : 0;
        if (fops == 0)
        {
            return openFn.leave(cpu, ENXIO);
        }
        cpu.store64(file + Vfs.F_OP, fops);
        final long open = cpu.load64(fops + FOP_OPEN);
        final long r = open == 0 ? 0 : k.callIndirect(cpu, open, inode, file, 0);
        return openFn.leave(cpu, r);
    }

    /** Calls fops->[off](a0, a1, a2) of an open char-device file, or returns dflt when the driver has none. */
    public long call(final Cpu cpu, final long file, final int off, final long a0, final long a1, final long a2, final long dflt)
    {
        final long fops = cpu.load64(file + Vfs.F_OP);
        final long fn = cpu.load64(fops + off);
        return fn == 0 ? dflt : k.callIndirect(cpu, fn, a0, a1, a2);
    }
}
