package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * The LegoOS diary's 03/08 workload in small: {@code python hello_world.py}. Its executable is
 * linked as CPython's is, text below 0x600000 and .data (the GOT first) at 0x601000; everything
 * else lives in the mmap area far above.
 *
 * <ol>
 *   <li><b>ld.so</b> maps the shared libraries and relocates them (every page written), then
 *       makes each one's RELRO part read-only with mprotect, one after the other once all are
 *       relocated; it relocates the executable last: the first store to the GOT, right after
 *       the last mprotect, is the process's first touch of its low address range (its page
 *       tables are allocated there).</li>
 *   <li><b>The interpreter</b> (obmalloc over a glibc arena heap): the heap is reserved with no
 *       access and grown with mprotect(PROT_READ|PROT_WRITE) one chunk at a time, and every round
 *       writes objects over all of it: new regions, then the same ones over and over (the heap is
 *       bigger than the pcache, so lines are evicted and written back all along). Each pool page
 *       starts with its header: two tagged ints (the pool's hash and its size class's,
 *       {@code h << 1 | 1}, at +0 and +24) and the free-block pointer (+8). Nothing of the
 *       interpreter's touches the low range.</li>
 *   <li><b>hello_world.py</b>: the last import makes its RELRO read-only (mprotect), then the
 *       interpreter writes the GOT's second slot (0x601008) and prints {@code hello world}.</li>
 * </ol>
 * Exit 0 when it printed; a processor that corrupted the page table above 0x601008 in between
 * oopses in pcache_handle_fault when that store faults.
 */
public final class LegoPython extends UserProgram
{
    public static final long TEXT = 0x5f1000;
    private static final long PAGE = 4096;
    private static final int PROT_READ = 1;
    private static final int PROT_RW = 3;
    /** mprotect (x86-64 10). */
    private static final int SYS_MPROTECT = 10;

    private final int libs;
    private final int libPages;
    private final int heapPages;
    private final int growPages;
    private final long rounds;
    private long gGot;
    private long mainFn;
    private long ldsoFn;
    private long interpFn;

    public LegoPython(final int libs, final int libPages, final int heapPages, final int growPages, final long rounds)
    {
        super("python", "/bin/python", TEXT);
        this.libs = libs;
        this.libPages = libPages;
        this.heapPages = heapPages;
        this.growPages = growPages;
        this.rounds = rounds;
    }

    @Override
    protected void define(final Image img)
    {
        mainFn = img.fn("main", 0x100, this::main);
        ldsoFn = img.fn("_dl_relocate_object", 0x200, c -> { });
        interpFn = img.fn("PyEval_EvalFrameEx", 0x400, c -> { });
        gGot = img.data(new byte[16]);
    }

    private static long mprotect(final Cpu cpu, final long start, final long len, final int prot)
    {
        return U.syscall(cpu, SYS_MPROTECT, start, len, prot);
    }

    private void main(final Cpu cpu)
    {
        // ld.so: map and relocate each object, then make every object's RELRO read-only once all
        // are relocated (as ld.so does when IRELATIVE relocations must run first), one mprotect
        // each with no store between them; then the executable: its GOT is the first touch of
        // the low range, right after the last mprotect.
        final long[] lib = new long[libs];
        for (int i = 0; i < libs; i++)
        {
            lib[i] = U.mmap(cpu, libPages * PAGE);
            for (int p = 0; p < libPages; p++)
            {
                cpu.pc(ldsoFn + 0x40);
                for (int w = 0; w < 512; w += 8)
                {
                    cpu.store64(lib[i] + p * PAGE + w * 8L, lib[i] + 0x1000L * i + w * 8L);
                }
            }
        }
        for (int i = 0; i < libs; i++)
        {
            cpu.pc(ldsoFn + 0x100);
            mprotect(cpu, lib[i], (libPages - 1) * PAGE, PROT_READ);
        }
        cpu.pc(ldsoFn + 0x180);
        cpu.store64(gGot, lib[0] + 0x40);

        // The interpreter: an arena heap reserved PROT_NONE, grown with mprotect.
        cpu.pc(mainFn + 0x40);
        final long heap = U.syscall(cpu, palimpsest.kernel.user.Syscalls.SYS_MMAP, 0, heapPages * PAGE, 0);
        int grown = 0;
        long h = 0x2545f4914f6cdd1dL;
        for (long r = 0; r < rounds; r++)
        {
            if (grown < heapPages)
            {
                cpu.pc(interpFn + 0x20);
                final int n = Math.min(growPages, heapPages - grown);
                mprotect(cpu, heap + grown * PAGE, n * PAGE, PROT_RW);
                grown += n;
            }
            for (int p = 0; p < grown; p++)
            {
                cpu.pc(interpFn + 0x80);
                final long pool = heap + p * PAGE;
                h = h * 0x5851f42d4c957f2dL + 0x14057b7ef767814fL;
                cpu.store64(pool, ((h >>> 22) << 1) | 1);
                cpu.store64(pool + 8, pool + 64);
                cpu.store64(pool + 24, ((Long.rotateLeft(h, 29) >>> 22) << 1) | 1);
                final long obj = pool + 64 + (r % 56) * 64;
                cpu.store64(obj, r);
                cpu.store64(obj + 8, cpu.load64(obj + 8) + p);
                cpu.compute(40);
            }
        }

        // hello_world.py: the last import's RELRO, then the GOT, then the print.
        cpu.pc(ldsoFn + 0x100);
        mprotect(cpu, lib[libs - 1] + (libPages - 1) * PAGE, PAGE, PROT_READ);
        cpu.pc(mainFn + 0x80);
        cpu.store64(gGot + 8, heap);
        final long buf = heap + (grown - 1) * PAGE + 2048;
        U.print(cpu, buf, "hello world\n");
        U.exit(cpu, 0);
    }
}
