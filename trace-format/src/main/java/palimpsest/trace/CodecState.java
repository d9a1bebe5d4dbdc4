package palimpsest.trace;

import java.util.Arrays;

/**
 * The prediction state shared, step for step, by {@link ChunkEncoder} and {@link ChunkDecoder}. Both
 * sides call the same methods in the same order, so they always predict the same thing. Everything is
 * logically reset at each chunk start (lazily, per cpu slot, through a generation number), which is
 * what makes every chunk decodable on its own.
 *
 * <p>Per cpu slot: last icount, last pc, last vaddr not coded from rsp, the last (paddr - vaddr) of
 * site-coded, rsp-coded and fetch accesses, a 16-entry direct-mapped page -> frame table of data
 * accesses, per-level last page-walk entry address and value, the last value of each of registers 0..31
 * and the value of the last load. Shared by all slots (format 4), one array each, 4 longs an entry
 * stamped with the chunk's generation: a 4096-entry direct-mapped cache of the last value accessed at
 * each physical word (index paddr / 8), and a 4096-entry table of the last value and vaddr of each code
 * site (index a hash of pc).
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
    private static final int PC_BITS = Integer.numberOfTrailingZeros(PCS);
    static final int PAGE_SHIFT = 12;
    static final long PAGE_MASK = (1L << PAGE_SHIFT) - 1;
    /** Physical frame bits of a page-table entry (x86-64 layout: bits 12..51). */
    static final long ENTRY_FRAME_MASK = 0x000FFFFFFFFFF000L;

    final long[] icount = new long[SLOTS];
    final long[] pc = new long[SLOTS];
    /**
     * Last data vaddr of the slot not coded from rsp: the vaddr prediction of a site not in the site table
     * (the last heap or static access, where a stack access would be the wrong neighbour).
     */
    final long[] lastData = new long[SLOTS];
    /** Last (paddr - vaddr) of the slot's data accesses coded from the site, from rsp, and of its fetches. */
    final long[] dataOffset = new long[SLOTS];
    final long[] stackOffset = new long[SLOTS];
    final long[] fetchOffset = new long[SLOTS];
    final long[] tlbPage = new long[SLOTS * TLB];
    final long[] tlbFrame = new long[SLOTS * TLB];
    final int[] walkLevel = new int[SLOTS];
    final long[] walkPaddr = new long[SLOTS * WALK_LEVELS];
    final long[] walkValue = new long[SLOTS * WALK_LEVELS];
    final long[] reg = new long[SLOTS * REGS];
    final long[] lastLoad = new long[SLOTS];
    /**
     * The site table, 4 longs an entry (one lookup, half a cache line): pc, generation, last value, last
     * vaddr. An entry counts only when both its pc and its generation match, so a chunk start forgets
     * the table without clearing it.
     */
    final long[] site = new long[PCS * 4];
    /** The value cache, 4 longs an entry: key (paddr and size), generation, value, unused. */
    final long[] cache = new long[VALUES * 4];
    private final int[] slotGeneration = new int[SLOTS];
    /** Chunk generation, 1, 2, ...; entries stamped with another one are empty. */
    long generation;

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
        if ((int)generation == 0)
        {
            Arrays.fill(slotGeneration, 0);
            generation++;
        }
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
        if (slotGeneration[s] != (int)generation)
        {
            resetSlot(s);
        }
        return s;
    }

    private void resetSlot(final int s)
    {
        slotGeneration[s] = (int)generation;
        icount[s] = 0;
        pc[s] = 0;
        lastLoad[s] = 0;
        lastData[s] = 0;
        dataOffset[s] = 0;
        stackOffset[s] = 0;
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

    static int siteIndex(final long pc)
    {
        return (int)((pc * 0x9E3779B97F4A7C15L) >>> (64 - PC_BITS)) << 2;
    }

    static int cacheIndex(final long paddr)
    {
        return ((int)(paddr >>> 3) & (VALUES - 1)) << 2;
    }

    /** What a value cache entry is keyed by: paddr and size (a collision only costs a misprediction). */
    static long cacheKey(final long paddr, final int size)
    {
        return paddr ^ ((long)size << 56);
    }

    /**
     * The site-relative vaddr prediction: the last vaddr accessed by the same code site in this chunk,
     * else the slot's last data vaddr.
     */
    long siteVaddr(final int s, final long pc)
    {
        final int i = siteIndex(pc);
        return site[i] == pc && site[i + 1] == generation ? site[i + 3] : lastData[s];
    }

    /** The stack-relative vaddr prediction: the slot's rsp (register 4, kept from its reg events). */
    long stackVaddr(final int s)
    {
        return reg[s * REGS + Reg.SP];
    }

    /**
     * Predicted physical address of an access.
     * <ul>
     *   <li>Walk read: the entry the x86-64 4-level layout says (level 0: the table of the last walk's first
     *       read, deeper levels: the table the previous read of this walk points to) at vaddr's index.</li>
     *   <li>Access right after a walk: the frame its last read points to, at vaddr's page offset.</li>
     *   <li>Otherwise the frame of the same virtual page if known (a 16-entry page table per cpu), else
     *       vaddr + the slot's last (paddr - vaddr) of an access coded the same way (from the site, from rsp,
     *       a fetch).</li>
     * </ul>
     * Wrong predictions cost bytes, never exactness.
     */
    long predictPaddr(final int s, final int kind, final long vaddr, final boolean stack)
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
        return vaddr + (kind == EventKind.FETCH ? fetchOffset[s] : stack ? stackOffset[s] : dataOffset[s]);
    }

    /**
     * Predicted value of a walk read: the entry read at the same walk level last time; for the 4th read
     * (the leaf of an x86-64 4-level walk) with its frame replaced by the frame of vaddr + the slot's last
     * (paddr - vaddr), which is exact for linearly mapped memory.
     */
    long predictWalkValue(final int s, final long vaddr)
    {
        final long last = walkValue[walkSlot(s)];
        if (walkLevel[s] == 3)
        {
            return ((vaddr + dataOffset[s]) & ENTRY_FRAME_MASK) | (last & ~ENTRY_FRAME_MASK);
        }
        return last;
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
    long predictValue(final int s, final int kind, final long pc, final long vaddr, final long paddr, final int size)
    {
        if (kind == EventKind.WALK)
        {
            return predictWalkValue(s, vaddr);
        }
        final long[] cache = this.cache;
        final long[] site = this.site;
        final long gen = generation;
        final int v = cacheIndex(paddr);
        final boolean cached = cache[v] == cacheKey(paddr, size) && cache[v + 1] == gen;
        final int p = siteIndex(pc);
        final boolean known = site[p] == pc && site[p + 1] == gen;
        final long cachedValue = cached ? cache[v + 2] : 0;
        final long siteValue = known ? site[p + 2] : 0;
        if (EventKind.isWrite(kind))
        {
            return known ? siteValue : cachedValue;
        }
        return cached ? cachedValue : siteValue;
    }

    /** Predicted old value of a write (the O bit): the cached value at paddr, else the new value itself. */
    long predictOld(final long paddr, final int size, final long value)
    {
        final int v = cacheIndex(paddr);
        return cache[v] == cacheKey(paddr, size) && cache[v + 1] == generation ? cache[v + 2] : value;
    }

    void commitInstruction(final int s, final long icount, final long pc)
    {
        this.icount[s] = icount;
        this.pc[s] = pc;
    }

    /**
     * After an access (stack: its vaddr was coded from rsp). A walk read moves the walk on and leaves its
     * vaddr as the site's (the access it translates for comes next, at the same vaddr); any other access
     * stores its value in the value cache and the site table, its vaddr in the site table, and ends the walk.
     */
    void commitAccess(final int s, final int kind, final long icount, final long pc, final long vaddr,
        final long paddr, final int size, final long value, final boolean stack)
    {
        commitInstruction(s, icount, pc);
        final long[] site = this.site;
        final int p = siteIndex(pc);
        final long gen = generation;
        if (kind == EventKind.WALK)
        {
            final int w = walkSlot(s);
            walkPaddr[w] = paddr;
            walkValue[w] = value;
            if (walkLevel[s] < WALK_LEVELS)
            {
                walkLevel[s]++;
            }
            final boolean known = site[p] == pc && site[p + 1] == gen;
            site[p + 2] = known ? site[p + 2] : 0;
        }
        else
        {
            final int v = cacheIndex(paddr);
            final long[] cache = this.cache;
            cache[v] = cacheKey(paddr, size);
            cache[v + 1] = gen;
            cache[v + 2] = value;
            site[p + 2] = value;
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
            if (kind == EventKind.FETCH)
            {
                // A fetch names no data vaddr: the entry keeps the site's (or takes the slot's), never a
                // word left by an earlier chunk, which a decoder starting at this chunk never saw.
                fetchOffset[s] = paddr - vaddr;
                site[p + 3] = site[p] == pc && site[p + 1] == gen ? site[p + 3] : lastData[s];
                site[p] = pc;
                site[p + 1] = gen;
                return;
            }
            if (stack)
            {
                stackOffset[s] = paddr - vaddr;
            }
            else
            {
                dataOffset[s] = paddr - vaddr;
            }
        }
        site[p] = pc;
        site[p + 1] = gen;
        site[p + 3] = vaddr;
        if (!stack)
        {
            lastData[s] = vaddr;
        }
    }
}
