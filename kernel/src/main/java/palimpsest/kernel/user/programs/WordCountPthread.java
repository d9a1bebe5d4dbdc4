package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.mm.Vm;
import palimpsest.kernel.user.Syscalls;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * Phoenix word_count-pthread as the LegoOS diary ran it: keys are pointers. The main thread reads
 * the input (a buffer grown with mremap), splits it at word boundaries and clones N threads. Each
 * thread makes one pass over its slice, as Phoenix's map emits: every word is copied into a buffer
 * of its own (Phoenix style: NUL-terminated, cut at 23 letters), grown by realloc, i.e. mremap, and
 * counted at once in a sorted array of {char *key, long count} entries whose keys point into that
 * buffer, binary-searching with {@code strcmp(word, entry->key)} and growing the array with mremap
 * too (when the text buffer moves, the keys are rebased). So four threads mremap text buffers and
 * key arrays at once, and a key array page that another thread's text lands in holds ASCII where
 * strcmp expects pointers (a non-canonical address: #GP). Main joins the threads, merges their
 * arrays and prints the same totals and top ten as {@link WordCount}.
 *
 * <pre>
 * thread control block (64 bytes, .bss)
 *   +0 start  +8 end  +16 keys  +24 count  +32 tid (cleared by the kernel at exit)  +40 stack
 * key entry (16 bytes)  +0 key (char *)  +8 count
 * </pre>
 */
public final class WordCountPthread extends UserProgram
{
    static final int KEY = 16;
    private static final int MAX_THREADS = 16;

    private final int threads;
    private long gRunning;
    private long gPath;
    private long gCtrl;
    private long gScratch;
    private long mainFn;
    private long workerFn;
    private long strcmpFn;

    public WordCountPthread(final int threads)
    {
        super("word_count-pthread", "/bin/word_count-pthread", 0x400000);
        this.threads = Math.max(1, Math.min(MAX_THREADS, threads));
    }

    @Override
    protected void define(final Image img)
    {
        mainFn = img.fn("main", 0x300, this::main);
        workerFn = img.fn("wordcount_map", 0x300, this::worker);
        strcmpFn = img.fn("__strcmp_sse42", 0x80, cpu -> { });
        gRunning = img.data("Wordcount: Running...\n");
        gPath = img.data("/data/words.txt");
        img.data("Finished");
        // As a linker writes p_filesz: the initialised bytes, not rounded up (0x31 here).
        img.exactFileSize();
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
        U.write(cpu, gRunning, U.strlen(cpu, gRunning));
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
        // The reduce: every thread's keys into one sorted array of inline words (WordCount's).
        long mcap = 4096 / WordCount.ENTRY;
        long merged = U.mmap(cpu, mcap * WordCount.ENTRY);
        long mcount = 0;
        long total = 0;
        for (int i = 0; i < threads; i++)
        {
            final long ctrl = gCtrl + 64L * i;
            final long keys = cpu.load64(ctrl + 16);
            final long n = cpu.load64(ctrl + 24);
            for (long e = 0; e < n; e++)
            {
                cpu.pc(mainFn + 0x100);
                final long word = cpu.load64(keys + e * KEY);
                final long count = cpu.load64(keys + e * KEY + 8);
                total += count;
                final long wl = U.strlen(cpu, word);
                final long pos = WordCount.search(cpu, merged, mcount, word, wl);
                if (pos >= 0)
                {
                    final long c = merged + pos * WordCount.ENTRY + 24;
                    cpu.store64(c, cpu.load64(c) + count);
                    continue;
                }
                if (mcount == mcap)
                {
                    merged = U.mremap(cpu, merged, mcap * WordCount.ENTRY, mcap * WordCount.ENTRY * 2, Vm.MREMAP_MAYMOVE);
                    mcap *= 2;
                }
                WordCount.insert(cpu, merged, mcount, -pos - 1, word, wl, count);
                mcount++;
            }
        }
        U.print(cpu, gScratch, "word_count: " + total + " words, " + mcount + " distinct\n");
        WordCount.printTop(cpu, gScratch, merged, mcount, mainFn + 0x180);
        U.exit(cpu, 0);
    }

    /** strcmp(a, b) as __strcmp_sse42 is called: a in RDI, b in RSI (a bad b faults with RSI holding it). */
    private int strcmp(final Cpu cpu, final long a, final long b, final long ret)
    {
        cpu.pc(strcmpFn);
        cpu.setReg(Syscalls.RDI, a);
        cpu.setReg(Syscalls.RSI, b);
        // __strcmp_sse42's first instructions: mov %esi,%ecx; mov %edi,%eax; and $0x3f each (page-cross checks).
        cpu.setReg(Syscalls.RCX, b & 0x3f);
        cpu.setReg(Syscalls.RAX, a & 0x3f);
        // +0x1a: movdqu (%rsi),%xmm2, the diary's faulting instruction (+0x16 loads (%rdi)).
        cpu.pc(strcmpFn + 0x1a);
        final int r = U.strcmp(cpu, a, b);
        cpu.pc(ret);
        return r;
    }

    /**
     * The map task, one pass over the slice as Phoenix's map emits: each word is copied into the
     * thread's own NUL-separated buffer and at once counted by pointer. So the text buffer and the
     * key array grow in turns, and the four threads' mremaps of both kinds interleave. When the
     * text buffer moves, the keys are rebased (realloc semantics: the program knows both bases).
     */
    private void worker(final Cpu cpu)
    {
        cpu.pc(workerFn);
        final long ctrl = cpu.reg(Syscalls.RDI);
        final long end = cpu.load64(ctrl + 8);
        long p = cpu.load64(ctrl);
        long tcap = 4096;
        long text = U.mmap(cpu, tcap);
        long tlen = 0;
        long cap = 4096 / KEY;
        long keys = U.mmap(cpu, cap * KEY);
        long n = 0;
        while (p < end)
        {
            cpu.pc(workerFn + 0x20);
            while (p < end && !letter(cpu.load8(p)))
            {
                p++;
            }
            final long at = tlen;
            long wl = 0;
            while (p < end && letter(cpu.load8(p)))
            {
                if (wl < WordCount.MAX_WORD)
                {
                    if (tlen + 1 >= tcap)
                    {
                        cpu.pc(workerFn + 0x40);
                        final long moved = grow(cpu, ctrl, text, tcap);
                        tcap *= 2;
                        for (long e = 0; e < n && moved != text; e++)
                        {
                            cpu.store64(keys + e * KEY, cpu.load64(keys + e * KEY) + moved - text);
                        }
                        text = moved;
                    }
                    cpu.store8(text + tlen++, cpu.load8(p));
                    wl++;
                }
                p++;
            }
            if (wl == 0)
            {
                continue;
            }
            cpu.store8(text + tlen++, 0);
            final long w = text + at;
            cpu.pc(workerFn + 0x80);
            long lo = 0;
            long hi = n;
            long found = -1;
            while (lo < hi && found < 0)
            {
                final long mid = (lo + hi) >>> 1;
                final int c = strcmp(cpu, w, cpu.load64(keys + mid * KEY), workerFn + 0xa0);
                if (c == 0)
                {
                    found = mid;
                }
                else if (c < 0)
                {
                    hi = mid;
                }
                else
                {
                    lo = mid + 1;
                }
            }
            if (found >= 0)
            {
                cpu.store64(keys + found * KEY + 8, cpu.load64(keys + found * KEY + 8) + 1);
                continue;
            }
            if (n == cap)
            {
                cpu.pc(workerFn + 0xc0);
                keys = grow(cpu, ctrl, keys, cap * KEY);
                cap *= 2;
            }
            for (long e = n; e > lo; e--)
            {
                cpu.store64(keys + e * KEY, cpu.load64(keys + (e - 1) * KEY));
                cpu.store64(keys + e * KEY + 8, cpu.load64(keys + (e - 1) * KEY + 8));
            }
            cpu.store64(keys + lo * KEY, w);
            cpu.store64(keys + lo * KEY + 8, 1);
            n++;
        }
        cpu.store64(ctrl + 16, keys);
        cpu.store64(ctrl + 24, n);
        cpu.setReg(Syscalls.RAX, 0);
    }

    /** realloc to twice the size: mremap, which may move the buffer. */
    private static long grow(final Cpu cpu, final long ctrl, final long buf, final long size)
    {
        final long moved = U.mremap(cpu, buf, size, size * 2, Vm.MREMAP_MAYMOVE);
        if (moved < 0 && moved > -4096)
        {
            U.print(cpu, ctrl + 48, "mremap failed\n");
            U.exit(cpu, 3);
        }
        return moved;
    }
}
