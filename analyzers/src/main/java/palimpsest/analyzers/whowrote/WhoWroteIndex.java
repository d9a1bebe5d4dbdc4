package palimpsest.analyzers.whowrote;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongConsumer;

import palimpsest.analyzers.core.LongLongMap;
import palimpsest.replayer.state.TraceExtent;
import palimpsest.trace.DecodeAhead;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.Hash64;
import palimpsest.trace.TraceException;
import palimpsest.trace.TraceHeader;

/**
 * Who wrote each physical byte, by page: built in one streaming pass over a trace and kept next to
 * it as {@code TRACE/who-wrote.idx}. Every write (STORE, RMW, DMA_WRITE) becomes one 8-byte entry in
 * the list of its physical page, in event order; the virtual-to-physical translations the accesses
 * showed are kept too, so a query may name a virtual address. Beside them, the few facts a report
 * needs about the moment of a write, so that it is answered without a pass over the trace: the
 * allocator's marks by address (what owned the bytes then), each cpu's task switches, the module
 * unloads, and the trace's extent when the index was built.
 *
 * <pre>
 * file (little-endian)
 *   0  magic "PALWWIDX"                         8
 *   8  version u32 (= 2)        12  user address spaces u32 (numbered 1..n in mapping keys)
 *  16  trace fingerprint u64 ({@code TraceExtent.fingerprint}: rebuilt when it differs)
 *  24  events u64              32  pages u32   36  reserved u32
 *  40  mappings u64            48  entries u64
 *  56  checksum u64: XXH64 chained over 64 KiB blocks (seed = previous block's hash) of [64, entries)
 *      then of [mappings, end); the entries are checked per 64 KiB block when a query reads them
 *  64  slab marks u64          72  page marks u64     80  user pages u64    88  task switches u64
 *  96  module unloads u64     104  largest slab object u32   108  reserved u32
 * 112  entry blocks u64       120  reserved u64
 * 128  the trace's extent when the index was built (TraceExtent), padded to 8
 *      page table, pages x 16:   physical page key u64 (node << 36 | pfn) | first entry u32 | count u32
 *      entries, entries x 8:     event u48 | offset in page u12 | log2 size u4     (per page, event order)
 *      mappings, mappings x 32:  virtual page key u64 | physical page key u64 | first event seen u64 | cpu u64
 *                                (sorted by virtual page, then event; kernel pages are the top bits of the
 *                                vaddr, user pages carry their address space: see MachineShadow)
 *      slab marks x 32:   object's physical key (node << 48 | paddr) u64 | event u64 |
 *                         kind (SLAB_ALLOC, SLAB_FREE) u8 << 56 | cache id u24 << 32 | size u32 | vaddr u64
 *                         (sorted by key, then event)
 *      page marks x 24:   block's physical key u64 | event u64 | kind (PAGE_ALLOC, PAGE_FREE) << 32 | order
 *      user pages x 32:   physical page key u64 | event u64 | user virtual page u64 | task u64
 *                         (first load/store of each user mapping, sorted by physical page, then event)
 *      task switches x 24: cpu u64 | event u64 | task u64    (sorted by cpu, then event)
 *      module unloads x 8: event u64
 *      entry block hashes x 8: XXH64 of each 64 KiB block of the entries (seed = block number)
 * </pre>
 * Sorted tables make every query a few binary searches over a memory-mapped file: no load of the
 * whole index, nothing that grows with the trace in the heap. The build spills its entries to
 * sorted runs beside the index and merges them, so its heap does not grow with the trace either.
 */
public final class WhoWroteIndex
{
    public static final String FILE = "who-wrote.idx";
    static final long MAGIC = 0x5844495757574c41L; // "ALWWWIDX" little-endian, checked as a whole
    static final int VERSION = 2;
    static final int HEADER = 128;
    static final int BLOCK = 1 << 16;
    static final int MAPPING = 32;
    static final int SLAB = 32;
    static final int PAGE = 24;
    static final int USER = 32;
    static final int TASK = 24;

    /** Thrown by a query that finds a block of entries damaged since the index was opened. */
    public static final class Damaged extends RuntimeException
    {
        Damaged(final String message)
        {
            super(message);
        }
    }

    private final ByteBuffer buf;
    private final Path file;
    private final int spaces;
    private final int pages;
    private final long entries;
    private final long mappings;
    private final long events;
    private final long pagesAt;
    private final long entriesAt;
    private final long mappingsAt;
    private final long slabsAt;
    private final long slabs;
    private final long blocksAt;
    private final long blocks;
    private final long usersAt;
    private final long users;
    private final long tasksAt;
    private final long tasks;
    private final long unloadsAt;
    private final long unloads;
    private final long hashesAt;
    private final long entryBlocks;
    private final int largestObject;
    private final TraceExtent extent;
    private final java.util.BitSet verified = new java.util.BitSet();

    private WhoWroteIndex(final ByteBuffer buf, final Path file, final TraceExtent extent)
    {
        this.buf = buf.order(ByteOrder.LITTLE_ENDIAN);
        this.file = file;
        this.extent = extent;
        this.spaces = buf.getInt(12);
        this.events = buf.getLong(24);
        this.pages = buf.getInt(32);
        this.mappings = buf.getLong(40);
        this.entries = buf.getLong(48);
        this.slabs = buf.getLong(64);
        this.blocks = buf.getLong(72);
        this.users = buf.getLong(80);
        this.tasks = buf.getLong(88);
        this.unloads = buf.getLong(96);
        this.largestObject = buf.getInt(104);
        this.entryBlocks = buf.getLong(112);
        this.pagesAt = align8(HEADER + extent.encodedLength());
        this.entriesAt = pagesAt + 16L * pages;
        this.mappingsAt = entriesAt + 8 * entries;
        this.slabsAt = mappingsAt + (long)MAPPING * mappings;
        this.blocksAt = slabsAt + (long)SLAB * slabs;
        this.usersAt = blocksAt + (long)PAGE * blocks;
        this.tasksAt = usersAt + (long)USER * users;
        this.unloadsAt = tasksAt + (long)TASK * tasks;
        this.hashesAt = unloadsAt + 8 * unloads;
    }

    private static int align8(final int n)
    {
        return (n + 7) & ~7;
    }

    private long end()
    {
        return hashesAt + 8 * entryBlocks;
    }

    public long events()
    {
        return events;
    }

    /** Where the entries start in the file (tests damage them). */
    long entriesOffset()
    {
        return entriesAt;
    }

    public long entries()
    {
        return entries;
    }

    public int pages()
    {
        return pages;
    }

    /** What the trace held when the index was built (it is unchanged since: same fingerprint). */
    public TraceExtent extent()
    {
        return extent;
    }

    /** Physical address (node << 48 | paddr) of the i-th indexed page, in address order. */
    public long pageAddress(final int i)
    {
        final long ppage = buf.getLong((int)(pagesAt + 16 * i));
        return (ppage >>> 36) << 48 | (ppage & ((1L << 36) - 1)) << 12;
    }

    public static Path fileOf(final Path trace)
    {
        return trace.resolve(FILE);
    }

    /** A digest of the trace's queue files (name, size, modification time): changes when the trace does. */
    public static long fingerprint(final Path trace)
    {
        return TraceExtent.fingerprint(trace);
    }

    /**
     * Opens the index next to the trace, building it first when it is missing, stale (the trace's
     * fingerprint differs), of another version or damaged (checksum).
     *
     * @param progress told the number of events read so far during a build (may be null)
     */
    public static WhoWroteIndex openOrBuild(final Path trace, final LongConsumer progress)
    {
        final Path file = fileOf(trace);
        final long fp = fingerprint(trace);
        if (Files.isRegularFile(file))
        {
            final WhoWroteIndex idx = tryOpen(file, fp);
            if (idx != null)
            {
                return idx;
            }
        }
        return rebuild(trace, progress);
    }

    /** Builds the index anew (after a query found it {@link Damaged}) and opens it. */
    public static WhoWroteIndex rebuild(final Path trace, final LongConsumer progress)
    {
        final Path file = fileOf(trace);
        final long fp = fingerprint(trace);
        build(trace, file, fp, progress);
        final WhoWroteIndex idx = tryOpen(file, fp);
        if (idx == null)
        {
            throw new TraceException("who-wrote index " + file + " unreadable right after building it");
        }
        return idx;
    }

    /** The index beside the trace when it is on disk and fresh, else null (nothing is built). */
    public static WhoWroteIndex openIfFresh(final Path trace)
    {
        final Path file = fileOf(trace);
        return Files.isRegularFile(file) ? tryOpen(file, fingerprint(trace)) : null;
    }

    static WhoWroteIndex tryOpen(final Path file, final long fingerprint)
    {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ))
        {
            final long size = ch.size();
            if (size < HEADER || size > Integer.MAX_VALUE)
            {
                return null;
            }
            final ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.LITTLE_ENDIAN);
            if (b.getLong(0) != MAGIC || b.getInt(8) != VERSION || b.getLong(16) != fingerprint)
            {
                return null;
            }
            final TraceExtent extent = TraceExtent.read(b, HEADER);
            if (extent == null)
            {
                return null;
            }
            final WhoWroteIndex idx = new WhoWroteIndex(b, file, extent);
            if (idx.pages < 0 || idx.end() != size || idx.entryBlocks != (8 * idx.entries + BLOCK - 1) / BLOCK
                || checksum(b, idx.entriesAt, idx.mappingsAt, size) != b.getLong(56))
            {
                return null;
            }
            return idx;
        }
        catch (final IOException | RuntimeException e)
        {
            return null;
        }
    }

    /** XXH64 chained over 64 KiB blocks of [64, a) then [b, end): no copy of the whole body. */
    private static long checksum(final ByteBuffer b, final long a, final long from, final long size)
    {
        final byte[] block = new byte[BLOCK];
        long h = hashRange(b, 64, a, 0x57484f, block);
        return hashRange(b, from, size, h, block);
    }

    private static long hashRange(final ByteBuffer b, final long from, final long to, final long seed, final byte[] block)
    {
        long h = seed;
        final ByteBuffer d = b.duplicate();
        d.position((int)from).limit((int)to);
        while (d.remaining() > 0)
        {
            final int n = Math.min(block.length, d.remaining());
            d.get(block, 0, n);
            h = Hash64.hash(block, 0, n, h);
        }
        return h;
    }

    /** The i-th entry, its 64 KiB block checked against its hash on first use. */
    private long entry(final long i)
    {
        final long at = entriesAt + 8 * i;
        final int block = (int)((8 * i) / BLOCK);
        if (!verified.get(block))
        {
            final long from = entriesAt + (long)block * BLOCK;
            final long to = Math.min(mappingsAt, from + BLOCK);
            final byte[] bytes = new byte[(int)(to - from)];
            buf.duplicate().position((int)from).get(bytes);
            if (Hash64.hash(bytes, 0, bytes.length, block) != buf.getLong((int)(hashesAt + 8L * block)))
            {
                throw new Damaged("who-wrote index " + file + " is damaged (entry block " + block + " fails its hash)");
            }
            verified.set(block);
        }
        return buf.getLong((int)at);
    }

    /** Statistics of one build (for bench). */
    public static final class BuildStats
    {
        public long events;
        public long writes;
        public long nanos;
        public long bytes;
        public int runs;
    }

    public static BuildStats build(final Path trace, final Path file, final long fingerprint, final LongConsumer progress)
    {
        return build(trace, file, fingerprint, progress, Builder.RUN_ENTRIES);
    }

    /** As {@link #build(Path, Path, long, LongConsumer)}, spilling a run every runEntries entries (tests: the runs merge exactly). */
    static BuildStats build(final Path trace, final Path file, final long fingerprint, final LongConsumer progress, final int runEntries)
    {
        final long t0 = System.nanoTime();
        final Builder b;
        final TraceExtent extent;
        // Decoding (on the decode-ahead thread) overlaps with indexing (on this one).
        try (DecodeAhead r = DecodeAhead.open(trace))
        {
            final TraceHeader h = r.header();
            b = new Builder(Math.max(1, h.cpusPerNode()), file.resolveSibling(FILE + ".runs"), runEntries);
            Event e;
            while ((e = r.next()) != null)
            {
                b.accept(e);
                if (progress != null && (e.index() & 0xfffff) == 0)
                {
                    progress.accept(e.index());
                }
            }
            extent = new TraceExtent(r.status(), r.eventsVerified(), r.statusMessage());
        }
        final BuildStats s = new BuildStats();
        try
        {
            final Path tmp = file.resolveSibling(FILE + ".tmp");
            s.bytes = b.write(tmp, fingerprint, extent);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException ex)
        {
            throw new TraceException("cannot write the who-wrote index " + file + ": " + ex.getMessage(), ex);
        }
        finally
        {
            b.close();
        }
        s.events = b.events;
        s.writes = b.writes;
        s.runs = b.runCount;
        s.nanos = System.nanoTime() - t0;
        return s;
    }

    /**
     * Accumulates entries per page and the mark tables; no allocation per event except when a
     * list grows. Every {@link #RUN_ENTRIES} entries the lists are spilled, page by page, as one
     * run to a scratch file; the final write concatenates each page's runs, which keeps event
     * order (runs are in event order) with a heap bounded by one run.
     */
    static final class Builder implements AutoCloseable
    {
        /** The largest page-block order a PAGE_ALLOC mark may carry to be taken as a block. */
        private static final long MAX_BLOCK_ORDER = 20;

        static final int RUN_ENTRIES = 1 << 22;
        private final int cpusPerNode;
        private final int runEntries;
        private final Path runsFile;
        private FileChannel runs;
        int runCount;
        private long runsBytes;
        private final List<long[]> runOffsets = new ArrayList<>();
        private final List<int[]> runCounts = new ArrayList<>();
        private final LongLongMap slots = new LongLongMap(4096, -1);
        private long[] pageKeys = new long[1024];
        private long[][] lists = new long[1024][];
        private int[] counts = new int[1024];
        private long[] totals = new long[1024];
        private int pageCount;
        private long buffered;
        private long lastPage = -1;
        private int lastSlot;
        private final LongLongMap lastMap = new LongLongMap(4096, -1);
        private final Records maps = new Records(4);
        private final long[] cpuVpage = new long[4096];
        private final long[] cpuPpage = new long[4096];
        private final long[] cr3 = new long[4096];
        private final long[] task = new long[4096];
        private final long[] lastUserPage = new long[4096];
        private final LongLongMap userVpage = new LongLongMap(1024, -1);
        private final LongLongMap userTask = new LongLongMap(1024, -1);
        private final LongLongMap spaces = new LongLongMap(64, -1);
        private final Records slabs = new Records(4);
        private final Records blocks = new Records(3);
        private final Records users = new Records(4);
        private final Records tasks = new Records(3);
        private final Records unloads = new Records(1);
        private int largestObject = 8;
        long events;
        long writes;

        Builder(final int cpusPerNode, final Path runsFile, final int runEntries)
        {
            this.cpusPerNode = cpusPerNode;
            this.runEntries = runEntries;
            this.runsFile = runsFile;
            Arrays.fill(cpuVpage, -1);
            Arrays.fill(lastUserPage, -1);
        }

        private int nodeOf(final int cpu)
        {
            return EventKind.isDevice(cpu) ? cpu - 0x8000 : cpu / cpusPerNode;
        }

        void accept(final Event e)
        {
            events++;
            final int kind = e.kind();
            final int cpu = e.cpu();
            if (kind > EventKind.DMA_WRITE)
            {
                if (kind == EventKind.REG && e.a() == palimpsest.trace.Reg.CR3 && cpu < cr3.length)
                {
                    cr3[cpu] = e.b();
                }
                else if (kind == EventKind.TASK_SWITCH && cpu < task.length)
                {
                    task[cpu] = e.b();
                    tasks.add(cpu, e.index(), e.b(), 0);
                }
                else if (kind == EventKind.MARK)
                {
                    mark(e);
                }
                return;
            }
            final long ppage = (long)nodeOf(cpu) << 36 | e.paddr() >>> 12;
            if (kind != EventKind.WALK && kind < EventKind.DMA_READ && cpu < cpuVpage.length)
            {
                if (kind < EventKind.FETCH && e.vaddr() >= 0 && e.vaddr() < palimpsest.kernel.Layout.USER_TOP && ppage != lastUserPage[cpu])
                {
                    userPage(cpu, ppage, e);
                }
                final long vpage = e.vaddr() >>> 12;
                if (vpage != cpuVpage[cpu] || ppage != cpuPpage[cpu])
                {
                    cpuVpage[cpu] = vpage;
                    cpuPpage[cpu] = ppage;
                    long vkey = vpage;
                    if (e.vaddr() >= 0)
                    {
                        long space = spaces.get(cr3[cpu]);
                        if (space < 0)
                        {
                            space = spaces.size() + 1;
                            spaces.put(cr3[cpu], space);
                        }
                        vkey = space << 36 | vpage;
                    }
                    if (lastMap.get(vkey) != ppage)
                    {
                        lastMap.put(vkey, ppage);
                        maps.add(vkey, ppage, e.index(), cpu);
                    }
                }
            }
            if (!EventKind.isWrite(kind))
            {
                return;
            }
            writes++;
            int slot;
            if (ppage == lastPage)
            {
                slot = lastSlot;
            }
            else
            {
                final long s = slots.get(ppage);
                slot = s < 0 ? newPage(ppage) : (int)s;
                lastPage = ppage;
                lastSlot = slot;
            }
            long[] list = lists[slot];
            final int n = counts[slot];
            if (list == null)
            {
                list = lists[slot] = new long[16];
            }
            else if (n == list.length)
            {
                list = lists[slot] = Arrays.copyOf(list, n * 2);
            }
            list[n] = e.index() << 16 | (e.paddr() & 0xfff) << 4 | Integer.numberOfTrailingZeros(e.size());
            counts[slot] = n + 1;
            totals[slot]++;
            if (++buffered == runEntries)
            {
                spill();
            }
        }

        /** As Owners sees user pages: the mapping and task of the last user access per cpu page change. */
        private void userPage(final int cpu, final long ppage, final Event e)
        {
            lastUserPage[cpu] = ppage;
            final long vpage = e.vaddr() >>> 12;
            if (userVpage.get(ppage) != vpage || userTask.get(ppage) != task[cpu])
            {
                userVpage.put(ppage, vpage);
                userTask.put(ppage, task[cpu]);
                users.add(ppage, e.index(), vpage, task[cpu]);
            }
        }

        private void mark(final Event e)
        {
            final int type = (int)e.a();
            final int cpu = e.cpu();
            if (type == palimpsest.kernel.Mark.SLAB_ALLOC || type == palimpsest.kernel.Mark.SLAB_FREE)
            {
                final long key = kernelKey(cpu, e.b());
                if (key >= 0)
                {
                    slabs.add(key, e.index(), (long)type << 56 | (e.c() >>> 32 & 0xffffff) << 32 | (e.c() & 0xffffffffL), e.b());
                    if (type == palimpsest.kernel.Mark.SLAB_ALLOC)
                    {
                        largestObject = Math.max(largestObject, (int)e.c());
                    }
                }
            }
            else if (type == palimpsest.kernel.Mark.PAGE_ALLOC || type == palimpsest.kernel.Mark.PAGE_FREE)
            {
                final long key = (long)nodeOf(cpu) << 48 | e.b();
                blocks.add(key, e.index(), (long)type << 32 | (e.c() & 0xffffffffL), 0);
                // A block's order is small (buddy's MAX_ORDER is 11); a larger one is a damaged or
                // foreign mark, whose "block" would be the whole address space: not a user page's reuse.
                if (type == palimpsest.kernel.Mark.PAGE_ALLOC && e.c() >= 0 && e.c() <= MAX_BLOCK_ORDER)
                {
                    for (long p = key; p < key + (4096L << (int)e.c()); p += 4096)
                    {
                        userVpage.remove(p >>> 12);
                        userTask.remove(p >>> 12);
                    }
                }
            }
            else if (type == palimpsest.kernel.Mark.MODULE_UNLOAD)
            {
                unloads.add(e.index(), 0, 0, 0);
            }
        }

        /** Physical key of a kernel virtual address (the kernel's fixed map, else the mapping last seen), or -1. */
        private long kernelKey(final int cpu, final long vaddr)
        {
            final long pa = palimpsest.analyzers.core.MachineShadow.fixedPa(vaddr);
            if (pa >= 0)
            {
                return (long)nodeOf(cpu) << 48 | pa;
            }
            final long ppage = lastMap.get(vaddr >>> 12);
            return ppage < 0 ? -1 : (ppage >>> 36) << 48 | (ppage & ((1L << 36) - 1)) << 12 | (vaddr & 0xfff);
        }

        private int newPage(final long ppage)
        {
            if (pageCount == pageKeys.length)
            {
                pageKeys = Arrays.copyOf(pageKeys, pageCount * 2);
                lists = Arrays.copyOf(lists, pageCount * 2);
                counts = Arrays.copyOf(counts, pageCount * 2);
                totals = Arrays.copyOf(totals, pageCount * 2);
            }
            pageKeys[pageCount] = ppage;
            slots.put(ppage, pageCount);
            return pageCount++;
        }

        /** Writes the buffered lists as one run (each page's entries together) and frees them. */
        private void spill()
        {
            if (buffered == 0)
            {
                return;
            }
            try
            {
                if (runs == null)
                {
                    runs = FileChannel.open(runsFile, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.READ, StandardOpenOption.WRITE);
                }
                final long[] offsets = new long[pageCount];
                final int[] cnt = new int[pageCount];
                final ByteBuffer out = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
                for (int s = 0; s < pageCount; s++)
                {
                    final int n = counts[s];
                    if (n == 0)
                    {
                        continue;
                    }
                    offsets[s] = runsBytes + out.position();
                    cnt[s] = n;
                    final long[] l = lists[s];
                    for (int i = 0; i < n; i++)
                    {
                        if (!out.hasRemaining())
                        {
                            runsBytes += drain(runs, out, runsBytes);
                        }
                        out.putLong(l[i]);
                    }
                    counts[s] = 0;
                    lists[s] = null;
                }
                runsBytes += drain(runs, out, runsBytes);
                runOffsets.add(offsets);
                runCounts.add(cnt);
                runCount++;
                buffered = 0;
                lastPage = -1;
            }
            catch (final IOException ex)
            {
                throw new TraceException("cannot write the who-wrote index's scratch file " + runsFile + ": " + ex.getMessage(), ex);
            }
        }

        private static int drain(final FileChannel ch, final ByteBuffer out, final long at) throws IOException
        {
            out.flip();
            final int n = out.remaining();
            long p = at;
            while (out.hasRemaining())
            {
                p += ch.write(out, p);
            }
            out.clear();
            return n;
        }

        /** Writes the index file; returns its size. */
        long write(final Path file, final long fingerprint, final TraceExtent extent) throws IOException
        {
            spill();
            final int[] order = Records.sortedSlots(pageKeys, pageCount);
            final long pagesAt = align8(HEADER + extent.encodedLength());
            final long entriesAt = pagesAt + 16L * pageCount;
            final long mappingsAt = entriesAt + 8 * writes;
            final long entryBlocks = (8 * writes + BLOCK - 1) / BLOCK;
            final long size = mappingsAt + (long)MAPPING * maps.size() + (long)SLAB * slabs.size() + (long)PAGE * blocks.size()
                + (long)USER * users.size() + (long)TASK * tasks.size() + 8L * unloads.size() + 8 * entryBlocks;
            if (size > Integer.MAX_VALUE)
            {
                throw new IOException("index would exceed 2 GiB");
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE))
            {
                // The entries, page by page, each page's runs in order; a hash per 64 KiB block.
                final long[] blockHashes = new long[(int)entryBlocks];
                final Out entriesOut = new Out(ch, entriesAt, blockHashes);
                final ByteBuffer in = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
                for (final int s : order)
                {
                    for (int r = 0; r < runOffsets.size(); r++)
                    {
                        final int[] cnt = runCounts.get(r);
                        if (s >= cnt.length || cnt[s] == 0)
                        {
                            continue;
                        }
                        long from = runOffsets.get(r)[s];
                        long left = 8L * cnt[s];
                        while (left > 0)
                        {
                            in.clear().limit((int)Math.min(BLOCK, left));
                            while (in.hasRemaining())
                            {
                                if (runs.read(in, from + in.position()) < 0)
                                {
                                    throw new IOException("scratch file " + runsFile + " ended early");
                                }
                            }
                            in.flip();
                            while (in.hasRemaining())
                            {
                                entriesOut.putLong(in.getLong());
                            }
                            from += in.limit();
                            left -= in.limit();
                        }
                    }
                }
                entriesOut.finish();
                // The page table and header, hashed first; then the tables after the entries.
                final ByteBuffer head = ByteBuffer.allocate((int)entriesAt).order(ByteOrder.LITTLE_ENDIAN);
                head.putLong(MAGIC).putInt(VERSION).putInt(spaces.size()).putLong(fingerprint).putLong(events).putInt(pageCount).putInt(0)
                    .putLong(maps.size()).putLong(writes).putLong(0)
                    .putLong(slabs.size()).putLong(blocks.size()).putLong(users.size()).putLong(tasks.size()).putLong(unloads.size())
                    .putInt(largestObject).putInt(0).putLong(entryBlocks).putLong(0);
                extent.write(head);
                head.position((int)pagesAt);
                long first = 0;
                for (final int s : order)
                {
                    head.putLong(pageKeys[s]).putInt((int)first).putInt((int)totals[s]);
                    first += totals[s];
                }
                final long h = hashRange(head, 64, entriesAt, 0x57484f, new byte[BLOCK]);
                final Out tables = new Out(ch, mappingsAt, null);
                tables.chain(h);
                maps.writeSorted(tables, 2);
                slabs.writeSorted(tables, 1);
                blocks.writeSorted(tables, 1);
                users.writeSorted(tables, 1);
                tasks.writeSorted(tables, 1);
                unloads.writeSorted(tables, 0);
                for (final long bh : blockHashes)
                {
                    tables.putLong(bh);
                }
                tables.finish();
                head.putLong(56, tables.hash());
                head.clear();
                while (head.hasRemaining())
                {
                    ch.write(head, head.position());
                }
            }
            return size;
        }

        @Override
        public void close()
        {
            try
            {
                if (runs != null)
                {
                    runs.close();
                }
                Files.deleteIfExists(runsFile);
            }
            catch (final IOException ignored)
            {
                // scratch only
            }
        }
    }

    /**
     * Sequential writes at a file position through a 64 KiB buffer; either a hash per block (seed =
     * block number) into an array, or one hash chained over every block.
     */
    private static final class Out
    {
        private final FileChannel ch;
        private final ByteBuffer b = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
        private final long[] blockHashes;
        private long at;
        private int block;
        private long chained;

        Out(final FileChannel ch, final long at, final long[] blockHashes)
        {
            this.ch = ch;
            this.at = at;
            this.blockHashes = blockHashes;
        }

        void chain(final long seed)
        {
            chained = seed;
        }

        long hash()
        {
            return chained;
        }

        void putLong(final long v) throws IOException
        {
            if (!b.hasRemaining())
            {
                flush();
            }
            b.putLong(v);
        }

        private void flush() throws IOException
        {
            final int n = b.position();
            if (n == 0)
            {
                return;
            }
            if (blockHashes != null)
            {
                blockHashes[block++] = Hash64.hash(b.array(), 0, n, block - 1);
            }
            else
            {
                chained = Hash64.hash(b.array(), 0, n, chained);
            }
            b.flip();
            while (b.hasRemaining())
            {
                at += ch.write(b, at);
            }
            b.clear();
        }

        void finish() throws IOException
        {
            flush();
        }
    }

    /** Rows of a few longs, appended in event order, written sorted by their first two columns. */
    private static final class Records
    {
        private final int width;
        private long[] rows;
        private int n;

        Records(final int width)
        {
            this.width = width;
            this.rows = new long[width * 256];
        }

        void add(final long a, final long b, final long c, final long d)
        {
            if ((n + 1) * width > rows.length)
            {
                rows = Arrays.copyOf(rows, rows.length * 2);
            }
            final int o = n * width;
            rows[o] = a;
            if (width > 1)
            {
                rows[o + 1] = b;
                rows[o + 2] = c;
            }
            if (width > 3)
            {
                rows[o + 3] = d;
            }
            n++;
        }

        int size()
        {
            return n;
        }

        /** Sorted by column 0, then by column {@code then} (0: column 0 alone; the sort is stable). */
        void writeSorted(final Out out, final int then) throws IOException
        {
            final Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++)
            {
                order[i] = i;
            }
            Arrays.sort(order, (x, y) ->
            {
                final int c = Long.compare(rows[x * width], rows[y * width]);
                return c != 0 || then == 0 ? c : Long.compare(rows[x * width + then], rows[y * width + then]);
            });
            for (final int r : order)
            {
                for (int k = 0; k < width; k++)
                {
                    out.putLong(rows[r * width + k]);
                }
            }
        }

        static int[] sortedSlots(final long[] keys, final int count)
        {
            final Integer[] order = new Integer[count];
            for (int i = 0; i < count; i++)
            {
                order[i] = i;
            }
            Arrays.sort(order, (x, y) -> Long.compare(keys[x], keys[y]));
            final int[] out = new int[count];
            for (int i = 0; i < count; i++)
            {
                out[i] = order[i];
            }
            return out;
        }
    }

    /** One write found by a query. */
    public static final class Write
    {
        public final long event;
        public final long physAddr;
        public final int size;

        Write(final long event, final long physAddr, final int size)
        {
            this.event = event;
            this.physAddr = physAddr;
            this.size = size;
        }
    }

    private int findPage(final long ppage)
    {
        int lo = 0;
        int hi = pages - 1;
        while (lo <= hi)
        {
            final int mid = (lo + hi) >>> 1;
            final long k = buf.getLong((int)(pagesAt + 16 * mid));
            if (k < ppage)
            {
                lo = mid + 1;
            }
            else if (k > ppage)
            {
                hi = mid - 1;
            }
            else
            {
                return mid;
            }
        }
        return -1;
    }

    /**
     * Writes overlapping [phys, phys + len) (phys = node << 48 | paddr, one page at most) before
     * event {@code before}: the last one per byte, or all of them, newest first.
     */
    public List<Write> writers(final long phys, final int len, final long before, final boolean all)
    {
        final List<Write> out = new ArrayList<>();
        final long paddr = phys & ((1L << 48) - 1);
        final long ppage = (phys >>> 48) << 36 | paddr >>> 12;
        final int p = findPage(ppage);
        if (p < 0)
        {
            return out;
        }
        final long first = buf.getInt((int)(pagesAt + 16 * p + 8)) & 0xffffffffL;
        final int count = buf.getInt((int)(pagesAt + 16 * p + 12));
        int lo = 0;
        int hi = count;
        while (lo < hi)
        {
            final int mid = (lo + hi) >>> 1;
            if ((entry(first + mid) >>> 16) < before)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        final int start = (int)(paddr & 0xfff);
        long uncovered = len >= 64 ? -1L : (1L << len) - 1;
        for (int i = lo - 1; i >= 0 && (all || uncovered != 0); i--)
        {
            final long en = entry(first + i);
            final int off = (int)(en >>> 4 & 0xfff);
            final int size = 1 << (en & 0xf);
            if (off + size <= start || off >= start + len)
            {
                continue;
            }
            long bytes = 0;
            for (int k = Math.max(off, start); k < Math.min(off + size, start + len); k++)
            {
                bytes |= 1L << (k - start);
            }
            if (all || (bytes & uncovered) != 0)
            {
                out.add(new Write(en >>> 16, (phys & ~0xfffL) + off, size));
                uncovered &= ~bytes;
            }
        }
        return out;
    }

    /**
     * The physical address (node << 48 | paddr) a kernel virtual address was last seen mapped to
     * before an event, or -1. User addresses: the last mapping in any address space.
     */
    public long translate(final long vaddr, final long before)
    {
        return translate(vaddr, before, -1);
    }

    /** {@link #translate(long, long)} among the mappings into one node's memory (node -1: any). */
    public long translate(final long vaddr, final long before, final int node)
    {
        final long vpage = vaddr >>> 12;
        if (vaddr < 0)
        {
            return translateKey(vpage, vaddr, before, node, -1, -1)[0];
        }
        // A user address: the newest mapping before the event in any address space.
        final long[] best = {-1, -1};
        for (long space = 1; space <= spaces; space++)
        {
            final long[] m = translateKey(space << 36 | vpage, vaddr, before, node, best[0], best[1]);
            best[0] = m[0];
            best[1] = m[1];
        }
        return best[0];
    }

    /** The newest mapping of one virtual page key before an event, if newer than (or as new as) bestEvent. */
    private long[] translateKey(final long vkey, final long vaddr, final long before, final int node, final long best,
        final long bestEvent)
    {
        // The first mapping of vkey whose event is >= before; the candidates are just below it.
        long lo = 0;
        long hi = mappings;
        while (lo < hi)
        {
            final long mid = (lo + hi) >>> 1;
            final int at = (int)(mappingsAt + MAPPING * mid);
            final long k = buf.getLong(at);
            if (k < vkey || (k == vkey && buf.getLong(at + 16) < before))
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        for (long i = lo - 1; i >= 0; i--)
        {
            final int at = (int)(mappingsAt + MAPPING * i);
            if (buf.getLong(at) != vkey)
            {
                break;
            }
            final long ppage = buf.getLong(at + 8);
            if (node < 0 || ppage >>> 36 == node)
            {
                final long ev = buf.getLong(at + 16);
                if (ev >= bestEvent)
                {
                    return new long[] {(ppage >>> 36) << 48 | (ppage & ((1L << 36) - 1)) << 12 | (vaddr & 0xfff), ev};
                }
                break;
            }
        }
        return new long[] {best, bestEvent};
    }

    /** The task a cpu ran before an event (the last TASK_SWITCH's id; 0 before the first). */
    public long task(final int cpu, final long before)
    {
        long lo = 0;
        long hi = tasks;
        while (lo < hi)
        {
            final long mid = (lo + hi) >>> 1;
            final int at = (int)(tasksAt + TASK * mid);
            final long c = buf.getLong(at);
            if (c < cpu || (c == cpu && buf.getLong(at + 8) < before))
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        if (lo == 0)
        {
            return 0;
        }
        final int at = (int)(tasksAt + TASK * (lo - 1));
        return buf.getLong(at) == cpu ? buf.getLong(at + 16) : 0;
    }

    /** Whether a module was unloaded before the event (its symbols then need a pass to recover). */
    public boolean unloadBefore(final long before)
    {
        return unloads > 0 && buf.getLong((int)unloadsAt) < before;
    }

    /** The largest slab object the trace allocated (how far back an object may start). */
    public int largestObject()
    {
        return largestObject;
    }

    /** Slab marks, by object key then event: i in 0..slabs. */
    public long slabs()
    {
        return slabs;
    }

    public long slabKey(final long i)
    {
        return buf.getLong((int)(slabsAt + SLAB * i));
    }

    public long slabEvent(final long i)
    {
        return buf.getLong((int)(slabsAt + SLAB * i + 8));
    }

    /** Mark type (Mark.SLAB_ALLOC, SLAB_FREE). */
    public int slabKind(final long i)
    {
        return (int)(buf.getLong((int)(slabsAt + SLAB * i + 16)) >>> 56);
    }

    public int slabSize(final long i)
    {
        return (int)buf.getLong((int)(slabsAt + SLAB * i + 16));
    }

    public int slabCache(final long i)
    {
        return (int)(buf.getLong((int)(slabsAt + SLAB * i + 16)) >>> 32 & 0xffffff);
    }

    public long slabVaddr(final long i)
    {
        return buf.getLong((int)(slabsAt + SLAB * i + 24));
    }

    /** Page marks, by block key then event. */
    public long blocks()
    {
        return blocks;
    }

    public long blockKey(final long i)
    {
        return buf.getLong((int)(blocksAt + PAGE * i));
    }

    public long blockEvent(final long i)
    {
        return buf.getLong((int)(blocksAt + PAGE * i + 8));
    }

    /** Mark type (Mark.PAGE_ALLOC, PAGE_FREE). */
    public int blockKind(final long i)
    {
        return (int)(buf.getLong((int)(blocksAt + PAGE * i + 16)) >>> 32);
    }

    public int blockOrder(final long i)
    {
        return (int)buf.getLong((int)(blocksAt + PAGE * i + 16));
    }

    /** User page sightings, by physical page key (node << 36 | pfn) then event. */
    public long users()
    {
        return users;
    }

    public long userPage(final long i)
    {
        return buf.getLong((int)(usersAt + USER * i));
    }

    public long userEvent(final long i)
    {
        return buf.getLong((int)(usersAt + USER * i + 8));
    }

    public long userVpage(final long i)
    {
        return buf.getLong((int)(usersAt + USER * i + 16));
    }

    public long userTask(final long i)
    {
        return buf.getLong((int)(usersAt + USER * i + 24));
    }

    /** In a table sorted by key then event: the number of rows with (key, event) < (key, before). */
    public static long lowerBound(final long n, final java.util.function.LongUnaryOperator keyAt,
        final java.util.function.LongUnaryOperator eventAt, final long key, final long before)
    {
        long lo = 0;
        long hi = n;
        while (lo < hi)
        {
            final long mid = (lo + hi) >>> 1;
            final long k = keyAt.applyAsLong(mid);
            if (k < key || (k == key && eventAt.applyAsLong(mid) < before))
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }
}
