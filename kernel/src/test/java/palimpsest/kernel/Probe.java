package palimpsest.kernel;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.mm.Vm;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * A test program: checks its data and .bss as loaded, then mremap: grows a mapping that cannot
 * grow in place, checks the data moved with it and that the old range is gone (a forked child
 * touching it is killed).
 */
final class Probe extends UserProgram
{
    private long gData;
    private long gBss;
    private long gScratch;
    private long gStatus;
    private long gOld;
    private long touchFn;

    Probe()
    {
        super("probe", "/bin/probe", 0x800000);
    }

    @Override
    protected void define(final Image img)
    {
        img.fn("main", 0x200, this::main);
        touchFn = img.fn("touch_old", 0x40, cpu -> cpu.load64(cpu.load64(gOld)));
        final byte[] d = new byte[100];
        java.util.Arrays.fill(d, (byte)0x5a);
        gData = img.data(d);
        gBss = img.bss(6000);
        gScratch = img.bss(256);
        gStatus = img.bss(8);
        gOld = img.bss(8);
    }

    private void main(final Cpu cpu)
    {
        cpu.push(0);
        for (int i = 0; i < 100; i++)
        {
            if (cpu.load8(gData + i) != 0x5a)
            {
                U.print(cpu, gScratch, "data: wrong at +" + i + "\n");
                U.exit(cpu, 1);
            }
        }
        int dirty = -1;
        for (int i = 0; i < 6000 && dirty < 0; i++)
        {
            if (cpu.load8(gBss + i) != 0)
            {
                dirty = i;
            }
        }
        U.print(cpu, gScratch, dirty < 0 ? "bss: clean\n" : "bss: dirty at +" + dirty + "\n");
        final long above = U.mmap(cpu, 4096);
        final long p = U.mmap(cpu, 4096);
        for (int i = 0; i < 512; i++)
        {
            cpu.store64(p + i * 8L, 0xabc000L + i);
        }
        final long q = U.mremap(cpu, p, 4096, 3 * 4096, Vm.MREMAP_MAYMOVE);
        boolean kept = q > 0 && q != p;
        for (int i = 0; i < 512 && kept; i++)
        {
            kept = cpu.load64(q + i * 8L) == 0xabc000L + i;
        }
        cpu.store64(q + 2 * 4096 + 8, 7);
        cpu.store64(gOld, p);
        U.fork(cpu, touchFn);
        U.wait(cpu, gStatus);
        final long status = cpu.load32(gStatus) >> 8;
        U.print(cpu, gScratch, "mremap: " + (kept ? "moved, data kept" : "BROKEN") + ", old range " +
            (status == 139 ? "gone" : "still mapped (" + status + ")") + ", above " + (above > q ? "ok" : "?") + "\n");
        U.exit(cpu, 0);
    }
}
