package palimpsest.emulator;

/**
 * x86-64-style 4-level paging constants: 4 KiB pages, 9 bits a level, 8-byte entries.
 *
 * <pre>
 *  63  62        52 51                         12 11  9 8 7 6 5 4 3 2 1 0
 * +---+------------+-----------------------------+-----+-+-+-+-+-+-+-+-+-+
 * |NX |  ignored   |   physical frame address    | avl |G|0|D|A|.|.|U|W|P|
 * +---+------------+-----------------------------+-----+-+-+-+-+-+-+-+-+-+
 * </pre>
 * The MMU reads entries (recorded as walk events) but never writes them: it does not set A/D.
 */
public final class Paging
{
    public static final long PAGE_SIZE = 4096;
    public static final int PAGE_SHIFT = 12;
    public static final long PAGE_MASK = PAGE_SIZE - 1;

    public static final long P = 1L;
    public static final long W = 1L << 1;
    public static final long U = 1L << 2;
    public static final long A = 1L << 5;
    public static final long D = 1L << 6;
    public static final long G = 1L << 8;
    public static final long NX = 1L << 63;
    public static final long ADDR_MASK = 0x000F_FFFF_FFFF_F000L;
    /**
     * Address bits at and above MAXPHYADDR (46) that must be 0 in a present entry: a walk that
     * meets one set faults with {@link #PF_RSVD}, as x86 does (a table read from where no RAM is
     * returns all ones, so a table pointer beyond RAM faults at the next level).
     */
    public static final long RSVD_MASK = 0x000F_C000_0000_0000L;

    /** Page-fault error code bits. */
    public static final long PF_PRESENT = 1;
    public static final long PF_WRITE = 2;
    public static final long PF_USER = 4;
    public static final long PF_RSVD = 8;
    public static final long PF_FETCH = 16;

    public static final int VEC_GP = 13;
    public static final int VEC_PF = 14;

    private Paging()
    {
    }

    public static boolean canonical(final long vaddr)
    {
        return (vaddr >> 47) == 0 || (vaddr >> 47) == -1;
    }

    /** Index into the table of the given level (4 = PML4 .. 1 = PT). */
    public static int index(final long vaddr, final int level)
    {
        return (int)(vaddr >>> (PAGE_SHIFT + 9 * (level - 1))) & 511;
    }
}
