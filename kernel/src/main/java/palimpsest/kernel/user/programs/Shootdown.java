package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.mm.Vm;
import palimpsest.kernel.user.Syscalls;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * A buffer moved by mremap under threads that use it from other cpus (Phoenix's threads reading a
 * buffer another thread grows). The main thread maps a flag page, then the buffer (just below it,
 * so growing it must move it), writes {@code OLD} into it and starts one reader per other cpu; each
 * reader reads the buffer (its cpu now caches the translation), says so, and spins on the flag
 * page. Main then grows the buffer with mremap (the pages move to a new range; the old range's ptes
 * are cleared and, with the shootdown, every cpu running this mm flushes it), maps a fresh page at
 * the old address (the hole is reused) and writes {@code NEW} there, and raises the flag. Every
 * reader reads the old address again: {@code NEW} through a page walk; {@code OLD} through a stale
 * TLB entry that still points at the moved page.
 *
 * <pre>
 * flag page: +0 phase (0 readers start, 1 buffer replaced)  +8.. one word per reader: 1 started, 2 saw NEW, 3 saw OLD
 * </pre>
 */
public final class Shootdown extends UserProgram
{
    public static final long OLD = 0x0_1d01d01dL;
    public static final long NEW = 0x0_5ee5ee5eL;
    public static final String GOOD_LINE = "shootdown: every reader saw the new page";
    public static final String STALE = "read the moved page through a stale TLB entry";
    public static final String MISPLACED = "shootdown: the new page is not at the old address";
    private static final int MAX_READERS = 15;

    private final int readers;
    private long gCtrl;
    private long gScratch;
    private long readerFn;

    public Shootdown(final int cpus)
    {
        super("shootdown", "/bin/shootdown", 0xC00000);
        this.readers = Math.max(1, Math.min(MAX_READERS, cpus - 1));
    }

    @Override
    protected void define(final Image img)
    {
        img.fn("main", 0x200, this::main);
        readerFn = img.fn("reader", 0x80, this::reader);
        // +0 flag page, +8 buffer, +16.. the readers' tids (cleared at exit)
        gCtrl = img.bss(16 + 8L * MAX_READERS);
        gScratch = img.bss(256);
    }

    private void main(final Cpu cpu)
    {
        cpu.pc(textBase());
        final long flag = U.mmap(cpu, 4096);
        final long buf = U.mmap(cpu, 4096);
        cpu.store64(gCtrl, flag);
        cpu.store64(gCtrl + 8, buf);
        cpu.store64(buf, OLD);
        for (int i = 0; i < readers; i++)
        {
            final long stack = U.mmap(cpu, 8192);
            cpu.pc(textBase() + 0x40);
            U.clone(cpu, readerFn, stack + 8192 - 64, i, gCtrl + 16 + 8L * i);
        }
        for (int i = 0; i < readers; i++)
        {
            cpu.pc(textBase() + 0x60);
            while (cpu.load64(flag + 8 + 8L * i) == 0)
            {
                U.yield(cpu);
            }
        }
        cpu.pc(textBase() + 0x80);
        final long moved = U.mremap(cpu, buf, 4096, 3 * 4096, Vm.MREMAP_MAYMOVE);
        final long fresh = U.mmap(cpu, 4096);
        if (moved == buf || fresh != buf)
        {
            U.print(cpu, gScratch, MISPLACED + " (moved to 0x" + Long.toHexString(moved) + ", new page at 0x" +
                Long.toHexString(fresh) + ")\n");
        }
        cpu.store64(fresh, NEW);
        cpu.store64(flag, 1);
        int stale = 0;
        for (int i = 0; i < readers; i++)
        {
            cpu.pc(textBase() + 0xc0);
            U.join(cpu, gCtrl + 16 + 8L * i);
            if (cpu.load64(flag + 8 + 8L * i) != 2)
            {
                stale++;
                U.print(cpu, gScratch, "shootdown: reader " + i + " " + STALE + "\n");
            }
        }
        if (stale == 0)
        {
            U.print(cpu, gScratch, GOOD_LINE + "\n");
        }
        U.exit(cpu, stale == 0 ? 0 : 1);
    }

    /** One reader: caches the buffer's translation, then reads it again once main replaced the buffer. */
    private void reader(final Cpu cpu)
    {
        cpu.pc(readerFn);
        final long i = cpu.reg(Syscalls.RDI);
        final long flag = cpu.load64(gCtrl);
        final long buf = cpu.load64(gCtrl + 8);
        final long first = cpu.load64(buf);
        cpu.store64(flag + 8 + 8 * i, first == OLD ? 1 : 4);
        while (cpu.load64(flag) == 0)
        {
            cpu.pc(readerFn + 0x20);
        }
        cpu.pc(readerFn + 0x40);
        cpu.store64(flag + 8 + 8 * i, cpu.load64(buf) == NEW ? 2 : 3);
        cpu.setReg(Syscalls.RAX, 0);
    }
}
