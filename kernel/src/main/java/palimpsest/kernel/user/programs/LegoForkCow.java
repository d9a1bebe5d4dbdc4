package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * The LegoOS diary's 03/01 workload in small: a process whose second thread keeps writing a page
 * forks. After fork the child's copy of that page is a snapshot: it must not change, whatever the
 * parent's thread writes (copy-on-write). The child reads the page, lets the parent's writer run,
 * reads it again and compares; then it writes the page itself (its own copy from now on). The
 * parent joins the writer and waits for the child. Exit 0 = the snapshot held.
 */
public final class LegoForkCow extends UserProgram
{
    private static final int WORDS = 512;

    private final long rounds;
    private long gShared;
    private long gStop;
    private long gStarted;
    private long gCtid;
    private long gSnap;
    private long gStatus;
    private long gScratch;
    private long writerFn;
    private long childFn;

    public LegoForkCow(final long rounds)
    {
        super("fork_cow", "/bin/fork_cow", 0xa00000);
        this.rounds = rounds;
    }

    @Override
    protected void define(final Image img)
    {
        img.fn("main", 0x100, this::main);
        writerFn = img.fn("fork_cow_writer", 0x80, this::writer);
        childFn = img.fn("fork_cow_child", 0x100, this::child);
        gShared = img.bss(8);
        gStop = img.bss(8);
        gStarted = img.bss(8);
        gCtid = img.bss(8);
        gStatus = img.bss(8);
        gSnap = img.bss(WORDS * 8L);
        gScratch = img.bss(256);
    }

    private void main(final Cpu cpu)
    {
        final long page = U.mmap(cpu, 4096);
        for (int i = 0; i < WORDS; i++)
        {
            cpu.store64(page + i * 8L, 0x1000L + i);
        }
        cpu.store64(gShared, page);
        final long stack = U.mmap(cpu, 16384);
        U.clone(cpu, writerFn, stack + 16384 - 64, page, gCtid);
        while (cpu.load64(gStarted) == 0)
        {
            U.yield(cpu);
        }
        final long child = U.fork(cpu, childFn);
        final long pid = U.wait(cpu, gStatus);
        final long code = (cpu.load32(gStatus) >> 8) & 0xFF;
        cpu.store64(gStop, 1);
        U.join(cpu, gCtid);
        U.print(cpu, gScratch, "fork_cow: child " + (pid == child ? "" : "MISMATCH ") + "exited " + code + "\n");
        U.exit(cpu, code == 0 && pid == child ? 0 : 1);
    }

    /** The parent's second thread: every word of the page + 1 per round, until told to stop. */
    private void writer(final Cpu cpu)
    {
        final long page = cpu.reg(palimpsest.kernel.user.Syscalls.RDI);
        cpu.store64(gStarted, 1);
        long n = 0;
        while (cpu.load64(gStop) == 0 && n < rounds)
        {
            cpu.pc(writerFn + 0x20);
            for (int i = 0; i < WORDS; i += 8)
            {
                cpu.store64(page + i * 8L, cpu.load64(page + i * 8L) + 1);
            }
            n++;
        }
        U.exit(cpu, 0);
    }

    private void child(final Cpu cpu)
    {
        final long page = cpu.load64(gShared);
        for (int i = 0; i < WORDS; i++)
        {
            cpu.store64(gSnap + i * 8L, cpu.load64(page + i * 8L));
        }
        // Let the parent's writer run a while on its own cpu.
        for (int i = 0; i < 4; i++)
        {
            U.yield(cpu);
            cpu.compute(2000);
        }
        String changed = null;
        for (int i = 0; i < WORDS && changed == null; i++)
        {
            final long now = cpu.load64(page + i * 8L);
            final long then = cpu.load64(gSnap + i * 8L);
            if (now != then)
            {
                changed = String.format("fork_cow: the child's copy changed after fork: %x+%x was 0x%x, now 0x%x%n", page, i * 8, then, now);
            }
        }
        // The child's first write: its own copy from here on (with page-csum=1 the kernel prints
        // the shared line's checksum and then the checksum of the copy the memory node sends).
        cpu.store64(page + 8, cpu.load64(page + 8));
        if (changed != null)
        {
            U.print(cpu, gScratch, changed);
            U.exit(cpu, 3);
        }
        cpu.store64(page, 0x5eed);
        U.print(cpu, gScratch, "fork_cow: the child's copy held\n");
        U.exit(cpu, cpu.load64(page) == 0x5eed ? 0 : 4);
    }
}
