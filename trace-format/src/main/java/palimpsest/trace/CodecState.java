package palimpsest.trace;

import java.util.Arrays;

/**
 * The prediction state shared, step for step, by {@link ChunkEncoder} and {@link ChunkDecoder}. Both
 * sides call the same methods in the same order, so they always predict the same thing. Everything is
 * logically reset at each chunk start (lazily, per cpu slot, through a generation number), which is
 * what makes every chunk decodable on its own.
 *
 * <p>Per cpu slot: last icount, last pc, last vaddr, last data (paddr - vaddr), a 16-entry direct-mapped
 * page -> frame table of data accesses, per-level last page-walk entry address and value, the last value
 * of each of registers 0..31 and the value of the last load. Shared by all slots (format 3): a
 * 4096-entry direct-mapped cache of the last value accessed at each physical word (index paddr / 8),
 * and a 4096-entry table of the last value accessed by each code site (index a hash of pc).
 * Slots: cpus 0..255 are slots 0..255, devices 0x8000..0x80ff slots 256..511, any other id shares
 * slot 512 (still exact, only less well predicted).
 */
final class CodecState
{
    static final int SLOTS = 513;
    static final int TLB = 16;
    static final int WALK_LEVELS = 8;
    static final int REGS = 32;
    /** Entries of the physical-word value cache and of the per-pc value table (powers of two). */
    static final int VALUES = 4096;
    static final int PCS = 4096;
    static final int PAGE_SHIFT = 12;
    static final long PAGE_MASK = (1L << PAGE_SHIFT) - 1;
    /** Virtual address bases per slot (stack, heap object, ...): a vaddr is a delta from one of them. */
    static final int BASES = 4;
    /** Physical frame bits of a page-table entry (x86-64 layout: bits 12..51). */
    static final long ENTRY_FRAME_MASK = 0x000FFFFFFFFFF000L;
    /** An encoder moves a base to a new region (least recently used base) when no base is this close. */
    static final long FAR = 1L << 20;

    final long[] icount = new long[SLOTS];
    final long[] pc = new long[SLOTS];
    final long[] vbase = new long[SLOTS * BASES];
    final long[] vbaseUse = new long[SLOTS * BASES];
    final long[] baseOffset = new long[SLOTS * BASES];
    final long[] fetchOffset = new long[SLOTS];
    final long[] tlbPage = new long[SLOTS * TLB];
    final long[] tlbFrame = new long[SLOTS * TLB];
    final int[] walkLevel = new int[SLOTS];
    final long[] walkPaddr = new long[SLOTS * WALK_LEVELS];
    final long[] walkValue = new long[SLOTS * WALK_LEVELS];
    final long[] reg = new long[SLOTS * REGS];
    final long[] lastLoad = new long[SLOTS];
    private final long[] valueAddr = new long[VALUES];
    private final int[] valueSize = new int[VALUES];
    private final long[] valueAt = new long[VALUES];
    private final long[] pcKey = new long[PCS];
    private final long[] pcValue = new long[PCS];
    private final int[] slotGeneration = new int[SLOTS];
    private int generation;
    private long clock;

    /** Cpu of the previous event in the chunk (0 at chunk start) and its slot. */
    int cpu;
    int slot;

    CodecState()
    {
        reset();
    }

    /** Chunk start: forget everything. */
    void reset()
    {
        generation++;
        if (generation == 0)
        {
            Arrays.fill(slotGeneration, 0);
            generation = 1;
        }
        Arrays.fill(valueAddr, -1L);
        Arrays.fill(valueSize, 0);
        Arrays.fill(valueAt, 0L);
        Arrays.fill(pcKey, -1L);
        Arrays.fill(pcValue, 0L);
        cpu = 0;
        slot = slotOf(0);
    }

    /** Makes cpu the current cpu and returns its slot (resetting the slot if first seen in this chunk). */
    int switchTo(final int cpu)
    {
        this.cpu = cpu;
        this.slot = slotOf(cpu);
        return slot;
    }

    private int slotOf(final int cpu)
    {
        final int s;
        if (cpu >= 0 && cpu < 256)
        {
            s = cpu;
        }
        else if (cpu >= 0x8000 && cpu < 0x8100)
        {
            s = 256 + cpu - 0x8000;
        }
        else
        {
            s = 512;
        }
        if (slotGeneration[s] != generation)
        {
            resetSlot(s);
        }
        return s;
    }

    private void resetSlot(final int s)
    {
        slotGeneration[s] = generation;
        icount[s] = 0;
        pc[s] = 0;
        lastLoad[s] = 0;
        Arrays.fill(vbase, s * BASES, s * BASES + BASES, 0L);
        Arrays.fill(vbaseUse, s * BASES, s * BASES + BASES, 0L);
        Arrays.fill(baseOffset, s * BASES, s * BASES + BASES, 0L);
        fetchOffset[s] = 0;
        Arrays.fill(tlbPage, s * TLB, s * TLB + TLB, -1L);
        Arrays.fill(tlbFrame, s * TLB, s * TLB + TLB, 0L);
        walkLevel[s] = 0;
        Arrays.fill(walkPaddr, s * WALK_LEVELS, s * WALK_LEVELS + WALK_LEVELS, 0L);
        Arrays.fill(walkValue, s * WALK_LEVELS, s * WALK_LEVELS + WALK_LEVELS, 0L);
        Arrays.fill(reg, s * REGS, s * REGS + REGS, 0L);
    }

    int walkSlot(final int s)
    {
        return s * WALK_LEVELS + Math.min(walkLevel[s], WALK_LEVELS - 1);
    }

    /** Encoder side: the base to code vaddr against (the nearest, or the least recently used if all are far). */
    int chooseBase(final int s, final long vaddr)
    {
        final int first = s * BASES;
        int best = 0;
        long bestDistance = Long.MAX_VALUE;
        int lru = 0;
        long lruUse = Long.MAX_VALUE;
        for (int i = 0; i < BASES; i++)
        {
            final long d = vaddr - vbase[first + i];
            final long distance = d == Long.MIN_VALUE ? Long.MAX_VALUE : Math.abs(d);
            if (distance < bestDistance)
            {
                bestDistance = distance;
                best = i;
            }
            if (vbaseUse[first + i] < lruUse)
            {
                lruUse = vbaseUse[first + i];
                lru = i;
            }
        }
        return bestDistance < FAR ? best : lru;
    }

    long base(final int s, final int i)
    {
        return vbase[s * BASES + i];
    }

    void useBase(final int s, final int i, final long vaddr)
    {
        vbase[s * BASES + i] = vaddr;
        vbaseUse[s * BASES + i] = ++clock;
    }

    /**
     * Predicted physical address of an access.
     * <ul>
     *   <li>Walk read: the entry the x86-64 4-level layout says (level 0: the table of the last walk's first
     *       read, deeper levels: the table the previous read of this walk points to) at vaddr's index.</li>
     *   <li>Access right after a walk: the frame its last read points to, at vaddr's page offset.</li>
     *   <li>Otherwise the frame of the same virtual page if known (a 16-entry page table per cpu), else
     *       vaddr + the last (paddr - vaddr) seen through the same vaddr base (or of the last fetch).</li>
     * </ul>
     * Wrong predictions cost bytes, never exactness.
     */
    long predictPaddr(final int s, final int kind, final long vaddr, final int base)
    {
        final int level = walkLevel[s];
        if (kind == EventKind.WALK)
        {
            final int shift = 39 - 9 * Math.min(level, 3);
            final long index = ((vaddr >>> shift) & 511) << 3;
            final long table = level == 0 ? walkPaddr[s * WALK_LEVELS] & ~PAGE_MASK :
                walkValue[s * WALK_LEVELS + Math.min(level, WALK_LEVELS) - 1] & ENTRY_FRAME_MASK;
            return table | index;
        }
        if (level > 0)
        {
            final long entry = walkValue[s * WALK_LEVELS + Math.min(level, WALK_LEVELS) - 1];
            long offsetMask = PAGE_MASK;
            if ((entry & 0x80) != 0 && (level == 2 || level == 3))
            {
                offsetMask = level == 3 ? (1L << 21) - 1 : (1L << 30) - 1;
            }
            return (entry & ENTRY_FRAME_MASK & ~offsetMask) | (vaddr & offsetMask);
        }
        final long page = vaddr >>> PAGE_SHIFT;
        final int e = s * TLB + (int)(page & (TLB - 1));
        if (tlbPage[e] == page)
        {
            return (tlbFrame[e] << PAGE_SHIFT) | (vaddr & PAGE_MASK);
        }
        return vaddr + (base < 0 || base >= BASES ? fetchOffset[s] : baseOffset[s * BASES + base]);
    }

    /**
     * Predicted value of a walk read: the entry read at the same walk level last time; for the 4th read
     * (the leaf of an x86-64 4-level walk) with its frame replaced by the frame of vaddr + the last
     * (paddr - vaddr) of its vaddr base, which is exact for linearly mapped memory.
     */
    long predictWalkValue(final int s, final long vaddr, final int base)
    {
        final long last = walkValue[walkSlot(s)];
        if (walkLevel[s] == 3 && base >= 0 && base < BASES)
        {
            return ((vaddr + baseOffset[s * BASES + base]) & ENTRY_FRAME_MASK) | (last & ~ENTRY_FRAME_MASK);
        }
        return last;
    }

    private static int valueIndex(final long paddr)
    {
        return (int)(paddr >>> 3) & (VALUES - 1);
    }

    private static int pcIndex(final long pc)
    {
        return (int)((pc * 0x9E3779B97F4A7C15L) >>> 52) & (PCS - 1);
    }

    /**
     * Predicted value of an access at paddr (the V bit of a compact access says it was right).
     * <ul>
     *   <li>walk read: {@link #predictWalkValue}</li>
     *   <li>load, fetch, dma-read: the last value accessed at paddr with this size, if cached (a pop, a
     *       reload, a re-read of the same field), else the last value accessed by the same code site</li>
     *   <li>store, rmw, dma-write: the last value accessed by the same code site (a call site pushes
     *       the same return address, a loop stores the same constant), else the cached one</li>
     * </ul>
     */
    long predictValue(final int s, final int kind, final long pc, final long vaddr, final long paddr, final int size,
        final int base)
    {
        if (kind == EventKind.WALK)
        {
            return predictWalkValue(s, vaddr, base);
        }
        final int v = valueIndex(paddr);
        final boolean cached = valueAddr[v] == paddr && valueSize[v] == size;
        final int p = pcIndex(pc);
        final boolean site = pcKey[p] == pc;
        if (EventKind.isWrite(kind))
        {
            return site ? pcValue[p] : cached ? valueAt[v] : 0;
        }
        return cached ? valueAt[v] : site ? pcValue[p] : 0;
    }

    /** Predicted old value of a write (the O bit): the cached value at paddr, else the new value itself. */
    long predictOld(final long paddr, final int size, final long value)
    {
        final int v = valueIndex(paddr);
        return valueAddr[v] == paddr && valueSize[v] == size ? valueAt[v] : value;
    }

    void commitInstruction(final int s, final long icount, final long pc)
    {
        this.icount[s] = icount;
        this.pc[s] = pc;
    }

    /** After an access (the vaddr base, if any, was already updated through {@link #useBase}). */
    void commitAccess(final int s, final int kind, final long icount, final long pc, final long vaddr,
        final long paddr, final int size, final long value, final int base)
    {
        commitInstruction(s, icount, pc);
        if (kind == EventKind.WALK)
        {
            final int w = walkSlot(s);
            walkPaddr[w] = paddr;
            walkValue[w] = value;
            if (walkLevel[s] < WALK_LEVELS)
            {
                walkLevel[s]++;
            }
        }
        else
        {
            final int v = valueIndex(paddr);
            valueAddr[v] = paddr;
            valueSize[v] = size;
            valueAt[v] = value;
            final int p = pcIndex(pc);
            pcKey[p] = pc;
            pcValue[p] = value;
            if (kind == EventKind.LOAD)
            {
                lastLoad[s] = value;
            }
            walkLevel[s] = 0;
            if (((paddr ^ vaddr) & PAGE_MASK) == 0)
            {
                final long page = vaddr >>> PAGE_SHIFT;
                final int e = s * TLB + (int)(page & (TLB - 1));
                tlbPage[e] = page;
                tlbFrame[e] = paddr >>> PAGE_SHIFT;
            }
            if (base < 0 || base >= BASES)
            {
                fetchOffset[s] = paddr - vaddr;
            }
            else
            {
                baseOffset[s * BASES + base] = paddr - vaddr;
            }
        }
    }
}
