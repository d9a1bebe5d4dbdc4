package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.mm.Vm;
import palimpsest.kernel.user.Syscalls;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * Phoenix word_count-pthread in miniature. The main thread reads the input file into a buffer it
 * grows with mremap, splits it at word boundaries and starts N threads (clone, shared address
 * space). Each thread counts words into its own sorted array of 32-byte entries {word[24],
 * count}, binary-searching with string compares and growing the array with mremap when full
 * (threads mremap concurrently). Main joins them (futex on the cleared tid), merges, and prints
 * the totals and the top ten by count.
 *
 * <pre>
 * thread control block (64 bytes, .bss)
 *   +0 start  +8 end  +16 results  +24 count  +32 tid (cleared by the kernel at exit)  +40 stack
 * </pre>
 */
public final class WordCount extends UserProgram
{
    public static final int ENTRY = 32;
    public static final int MAX_WORD = 23;
    public static final int TOP = 10;
    public static final int MAX_THREADS = 16;

    private final int threads;
    /** Times each map task counts its slice (a soak: the trace grows, the memory it touches does not). */
    private final int passes;
    private long gPath;
    private long gTotal;
    private long gCtrl;
    private long gScratch;
    private long workerFn;
    private long mainFn;

    public WordCount(final int threads)
    {
        this(threads, 1);
    }

    public WordCount(final int threads, final int passes)
    {
        super("word_count", "/bin/word_count", 0x400000);
        this.threads = Math.max(1, Math.min(MAX_THREADS, threads));
        this.passes = Math.max(1, passes);
    }

    @Override
    protected void define(final Image img)
    {
        mainFn = img.fn("main", 0x300, this::main);
        workerFn = img.fn("wordcount_map", 0x200, this::worker);
        img.fn("strcmp", 0x40, cpu -> { });
        gPath = img.data("/data/words.txt");
        // A C global (static long total_words;): it counts on .bss starting at zero.
        gTotal = img.bss(8);
        gCtrl = img.bss(64L * MAX_THREADS);
        gScratch = img.bss(512);
    }

    private static boolean letter(final long c)
    {
        return c >= 'a' && c <= 'z';
    }

    private void main(final Cpu cpu)
    {
        cpu.pc(mainFn);
        final long fd = U.open(cpu, gPath);
        if (fd < 0)
        {
            U.print(cpu, gScratch, "word_count: cannot open input (" + fd + ")\n");
            U.exit(cpu, 2);
        }
        long cap = 4096;
        long buf = U.mmap(cpu, cap);
        long len = 0;
        while (true)
        {
            final long n = U.read(cpu, fd, buf + len, cap - len);
            if (n <= 0)
            {
                break;
            }
            len += n;
            if (len == cap)
            {
                cpu.pc(mainFn + 0x40);
                buf = U.mremap(cpu, buf, cap, cap * 2, Vm.MREMAP_MAYMOVE);
                cap *= 2;
            }
        }
        U.close(cpu, fd);
        cpu.pc(mainFn + 0x80);
        final long[] bounds = new long[threads + 1];
        bounds[threads] = len;
        for (int i = 1; i < threads; i++)
        {
            long b = Math.max(bounds[i - 1], len * i / threads);
            while (b < len && letter(cpu.load8(buf + b)))
            {
                b++;
            }
            bounds[i] = b;
        }
        for (int i = 0; i < threads; i++)
        {
            final long ctrl = gCtrl + 64L * i;
            cpu.store64(ctrl, buf + bounds[i]);
            cpu.store64(ctrl + 8, buf + bounds[i + 1]);
            cpu.store64(ctrl + 16, 0);
            cpu.store64(ctrl + 24, 0);
            final long stack = U.mmap(cpu, 16384);
            cpu.store64(ctrl + 40, stack);
            cpu.pc(mainFn + 0xa0);
            U.clone(cpu, workerFn, stack + 16384 - 64, ctrl, ctrl + 32);
        }
        for (int i = 0; i < threads; i++)
        {
            cpu.pc(mainFn + 0xc0);
            U.join(cpu, gCtrl + 64L * i + 32);
        }
        // Merge every thread's sorted array into one.
        long mcap = 4096 / ENTRY;
        long merged = U.mmap(cpu, mcap * ENTRY);
        long mcount = 0;
        for (int i = 0; i < threads; i++)
        {
            final long ctrl = gCtrl + 64L * i;
            final long res = cpu.load64(ctrl + 16);
            final long n = cpu.load64(ctrl + 24);
            for (long e = 0; e < n; e++)
            {
                cpu.pc(mainFn + 0x100);
                final long word = res + e * ENTRY;
                final long count = cpu.load64(word + 24);
                cpu.store64(gTotal, cpu.load64(gTotal) + count);
                final long pos = search(cpu, merged, mcount, word, U.strlen(cpu, word));
                if (pos >= 0)
                {
                    cpu.store64(merged + pos * ENTRY + 24, cpu.load64(merged + pos * ENTRY + 24) + count);
                    continue;
                }
                if (mcount == mcap)
                {
                    merged = U.mremap(cpu, merged, mcap * ENTRY, mcap * ENTRY * 2, Vm.MREMAP_MAYMOVE);
                    mcap *= 2;
                }
                insert(cpu, merged, mcount, -pos - 1, word, U.strlen(cpu, word), count);
                mcount++;
            }
        }
        U.print(cpu, gScratch, "word_count: " + cpu.load64(gTotal) + " words, " + mcount + " distinct\n");
        printTop(cpu, gScratch, merged, mcount, mainFn + 0x180);
        U.exit(cpu, 0);
    }

    /** The TOP most frequent entries of a merged array, each once (its count is then spent). */
    static void printTop(final Cpu cpu, final long scratch, final long merged, final long mcount, final long pc)
    {
        for (int r = 0; r < TOP && r < mcount; r++)
        {
            cpu.pc(pc);
            long best = -1;
            long bestCount = -1;
            for (long e = 0; e < mcount; e++)
            {
                final long c = cpu.load64(merged + e * ENTRY + 24);
                if (c > bestCount)
                {
                    best = e;
                    bestCount = c;
                }
            }
            U.print(cpu, scratch, U.str(cpu, merged + best * ENTRY) + ": " + bestCount + "\n");
            cpu.store64(merged + best * ENTRY + 24, -1);
        }
    }

    /** Compares the text slice [w, w+len) with a NUL-terminated entry word (strcmp semantics). */
    private static int cmp(final Cpu cpu, final long w, final long len, final long entry)
    {
        for (long i = 0; ; i++)
        {
            final int a = i < len ? (int)cpu.load8(w + i) : 0;
            final int b = (int)cpu.load8(entry + i);
            if (a != b || a == 0)
            {
                return a - b;
            }
        }
    }

    /** Binary search: index if found, else -(insertion point) - 1. */
    static long search(final Cpu cpu, final long arr, final long n, final long w, final long len)
    {
        long lo = 0;
        long hi = n;
        while (lo < hi)
        {
            final long mid = (lo + hi) >>> 1;
            final int c = cmp(cpu, w, len, arr + mid * ENTRY);
            if (c == 0)
            {
                return mid;
            }
            if (c < 0)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }
        return -lo - 1;
    }

    static void insert(final Cpu cpu, final long arr, final long n, final long at, final long w, final long len,
        final long count)
    {
        for (long e = n; e > at; e--)
        {
            U.memcpy(cpu, arr + e * ENTRY, arr + (e - 1) * ENTRY, ENTRY);
        }
        final long dst = arr + at * ENTRY;
        for (int i = 0; i < 24; i++)
        {
            cpu.store8(dst + i, i < len ? cpu.load8(w + i) : 0);
        }
        cpu.store64(dst + 24, count);
    }

    /** The map task of one thread: counts the words of its slice into a sorted array grown with mremap. */
    private void worker(final Cpu cpu)
    {
        cpu.pc(workerFn);
        final long ctrl = cpu.reg(Syscalls.RDI);
        final long end = cpu.load64(ctrl + 8);
        final long start = cpu.load64(ctrl);
        long cap = 4096 / ENTRY;
        long arr = U.mmap(cpu, cap * ENTRY);
        long n = 0;
        for (int pass = 0; pass < passes; pass++)
        {
            long p = start;
            while (p < end)
            {
                cpu.pc(workerFn + 0x40);
                while (p < end && !letter(cpu.load8(p)))
                {
                    p++;
                }
                final long w = p;
                while (p < end && letter(cpu.load8(p)))
                {
                    p++;
                }
                final long len = Math.min(p - w, MAX_WORD);
                if (len == 0)
                {
                    continue;
                }
                cpu.pc(workerFn + 0x80);
                final long pos = search(cpu, arr, n, w, len);
                if (pos >= 0)
                {
                    cpu.store64(arr + pos * ENTRY + 24, cpu.load64(arr + pos * ENTRY + 24) + 1);
                    continue;
                }
                if (n == cap)
                {
                    cpu.pc(workerFn + 0xc0);
                    arr = U.mremap(cpu, arr, cap * ENTRY, cap * ENTRY * 2, Vm.MREMAP_MAYMOVE);
                    if (arr < 0)
                    {
                        U.print(cpu, ctrl + 48, "mremap failed\n");
                        U.exit(cpu, 3);
                    }
                    cap *= 2;
                }
                insert(cpu, arr, n, -pos - 1, w, len, 1);
                n++;
            }
        }
        cpu.store64(ctrl + 16, arr);
        cpu.store64(ctrl + 24, n);
        cpu.setReg(Syscalls.RAX, 0);
    }
}
