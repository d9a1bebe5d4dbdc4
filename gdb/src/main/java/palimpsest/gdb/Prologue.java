package palimpsest.gdb;

import java.util.Arrays;
import java.util.List;
import java.util.function.LongFunction;

import palimpsest.gdb.elf.ElfSymbolFile;

/**
 * Which instruction of a function's prologue or epilogue a cpu is at. The kernel enters every
 * function with {@code push rbp} (offset 0, one byte) and {@code mov rbp, rsp} (offset 1, three
 * bytes) and leaves with {@code leave} (size - 2) and {@code ret} (size - 1), but its events carry
 * the pc of the sequence's start for all of them. gdb's unwind rules ({@code .debug_frame}, see
 * {@link ElfSymbolFile}) differ between those instructions, so RIP must say which one is next;
 * the registers and the stack tell:
 * <ul>
 *   <li>at offset 0: RBP = RSP means the mov is done (the body at +4 is next); [RSP] = RBP means
 *       the push is done (the mov at +1 is next); else the push is next (just called);</li>
 *   <li>at size - 2: RBP above RSP with [RSP - 8] = RBP means leave popped the caller's frame
 *       pointer (the ret at size - 1 is next); [RSP - 16] = RBP with a return address into another
 *       function at [RSP - 8] means ret ran too (the cpu is at that return address; its next event
 *       will say so).</li>
 * </ul>
 */
final class Prologue
{
    private final long[] starts;
    private final long[] sizes;

    Prologue(final List<ElfSymbolFile.Function> functions)
    {
        final List<ElfSymbolFile.Function> sorted = new java.util.ArrayList<>(functions);
        sorted.sort((a, b) -> Long.compareUnsigned(a.start(), b.start()));
        starts = new long[sorted.size()];
        sizes = new long[sorted.size()];
        for (int i = 0; i < starts.length; i++)
        {
            // sign bit flipped: signed order of the keys = unsigned order of the addresses
            starts[i] = sorted.get(i).start() ^ Long.MIN_VALUE;
            sizes[i] = sorted.get(i).size();
        }
    }

    /** The address of the instruction the cpu executes next; read8 gives a stack word or null. */
    long instruction(final long pc, final long sp, final long fp, final LongFunction<Long> read8)
    {
        final int i = Arrays.binarySearch(starts, pc ^ Long.MIN_VALUE);
        if (i >= 0)
        {
            if (fp == sp)
            {
                return pc + 4;
            }
            final Long top = read8.apply(sp);
            return top != null && top == fp ? pc + 1 : pc;
        }
        final int f = -i - 2;
        if (f >= 0 && sizes[f] >= ElfSymbolFile.MIN_FRAMED && pc == (starts[f] ^ Long.MIN_VALUE) + sizes[f] - 2 &&
            Long.compareUnsigned(fp, sp) > 0)
        {
            final Long below = read8.apply(sp - 8);
            if (below != null && below == fp)
            {
                return pc + 1;
            }
        }
        if (f >= 0 && sizes[f] >= ElfSymbolFile.MIN_FRAMED && pc == (starts[f] ^ Long.MIN_VALUE) + sizes[f] - 2)
        {
            // ret done too, the caller's pc not yet in an event: [RSP - 16] is the frame pointer leave
            // popped and [RSP - 8] the return address ret jumped to, in another function
            final Long saved = read8.apply(sp - 16);
            final Long ra = read8.apply(sp - 8);
            if (saved != null && saved == fp && ra != null && function(ra) >= 0 && function(ra) != f)
            {
                return ra;
            }
        }
        return pc;
    }

    /** Index of the function holding addr, or -1. */
    private int function(final long addr)
    {
        final int i = Arrays.binarySearch(starts, addr ^ Long.MIN_VALUE);
        final int f = i >= 0 ? i : -i - 2;
        return f >= 0 && Long.compareUnsigned(addr - (starts[f] ^ Long.MIN_VALUE), sizes[f]) < 0 ? f : -1;
    }
}
