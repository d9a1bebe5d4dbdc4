package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * iozone in miniature: a read throughput test whose state is C globals. Its counters and option
 * flags live in .bss right after the initialised data, in the last data page of the file, and the
 * program relies on C's promise that they start at zero; it checks them first (the way the diary's
 * Yilun found them non-zero) and then reads the input file in records, summing bytes and records
 * into the same globals.
 *
 * <pre>
 * .bss: +0 total_bytes  +8 records  +16 w_traj_flag  +24 r_traj_flag  +32 include_flush  +40 mmapflag
 *       +48 no_unlink  +56 verify_errors  then a 4 KiB record buffer and 512 bytes of output scratch
 * </pre>
 */
public final class Iozone extends UserProgram
{
    public static final int RECLEN = 4096;
    private static final String[] GLOBALS = {
        "total_bytes", "records", "w_traj_flag", "r_traj_flag", "include_flush", "mmapflag", "no_unlink", "verify_errors"
    };

    private long gBanner;
    private long gPath;
    private long gGlobals;
    private long gBuf;
    private long gScratch;
    private long mainFn;

    public Iozone()
    {
        super("iozone", "/bin/iozone", 0x400000);
    }

    @Override
    protected void define(final Image img)
    {
        mainFn = img.fn("main", 0x200, this::main);
        gBanner = img.data("\tIozone: Performance Test of File I/O\n");
        gPath = img.data("/data/words.txt");
        gGlobals = img.bss(8L * GLOBALS.length);
        gBuf = img.bss(RECLEN);
        gScratch = img.bss(512);
    }

    private void main(final Cpu cpu)
    {
        cpu.pc(mainFn);
        U.write(cpu, gBanner, U.strlen(cpu, gBanner));
        cpu.pc(mainFn + 0x20);
        boolean dirty = false;
        for (int i = 0; i < GLOBALS.length; i++)
        {
            final long v = cpu.load64(gGlobals + 8L * i);
            if (v != 0)
            {
                U.print(cpu, gScratch, String.format("iozone: BAD: .bss variable %s at 0x%x is 0x%x, not 0\n", GLOBALS[i],
                    gGlobals + 8L * i, v));
                dirty = true;
            }
        }
        if (dirty)
        {
            U.exit(cpu, 1);
        }
        final long fd = U.open(cpu, gPath);
        if (fd < 0)
        {
            U.print(cpu, gScratch, "iozone: cannot open " + U.str(cpu, gPath) + " (" + fd + ")\n");
            U.exit(cpu, 2);
        }
        while (true)
        {
            cpu.pc(mainFn + 0x80);
            final long n = U.read(cpu, fd, gBuf, RECLEN);
            if (n <= 0)
            {
                break;
            }
            cpu.store64(gGlobals, cpu.load64(gGlobals) + n);
            cpu.store64(gGlobals + 8, cpu.load64(gGlobals + 8) + 1);
        }
        U.close(cpu, fd);
        U.print(cpu, gScratch, "iozone: read " + cpu.load64(gGlobals) + " bytes in " + cpu.load64(gGlobals + 8) + " records of " +
            RECLEN + " bytes\n");
        U.print(cpu, gScratch, "iozone test complete.\n");
        U.exit(cpu, 0);
    }
}
