package palimpsest.kernel;

import palimpsest.emulator.Cpu;

/**
 * Loads whose value the C code then <em>uses</em>: as the condition of a branch ({@code if
 * (vma->vm_ops)}) or as a length ({@code copy_to_user(buf, p, dev->len)}). The Java kernel's
 * registers are not in the trace, so the use is said in it: the load, then a {@link
 * Mark#VALUE_USE} annotation naming the bytes the value came from and the kind of use (a MARK
 * costs no instruction: timing does not change). KMSAN reports an uninitialised value exactly at
 * such a use; a copy of it is no use.
 */
public final class Uses
{
    /** The value decides a branch. */
    public static final int BRANCH = 1;
    /** The value is a length (a copy's size, a loop bound). */
    public static final int LENGTH = 2;

    private Uses()
    {
    }

    /** {@code if (*(u64 *)addr)}: loads the word whose value decides a branch. */
    public static long branch64(final Cpu cpu, final long addr)
    {
        final long v = cpu.load64(addr);
        cpu.mark(Mark.VALUE_USE, addr, 8 | BRANCH << 8);
        return v;
    }

    /** Loads a word used as a length. */
    public static long length64(final Cpu cpu, final long addr)
    {
        final long v = cpu.load64(addr);
        cpu.mark(Mark.VALUE_USE, addr, 8 | LENGTH << 8);
        return v;
    }

    /** The kind of a VALUE_USE mark's b. */
    public static int kind(final long b)
    {
        return (int)(b >>> 8) & 0xff;
    }

    /** The size of a VALUE_USE mark's b. */
    public static int size(final long b)
    {
        return (int)b & 0xff;
    }
}
