package palimpsest.analyzers.whowrote;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongConsumer;

import palimpsest.analyzers.core.LongLongMap;
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
 * showed are kept too, so a query may name a virtual address.
 *
 * <pre>
 * file (little-endian)
 *   0  magic "PALWWIDX"                         8
 *   8  version u32 (= 1)        12  reserved u32
 *  16  trace fingerprint u64 (names, sizes, mtimes of the queue files: rebuilt when it differs)
 *  24  events u64              32  pages u32   36  reserved u32
 *  40  mappings u64            48  entries u64
 *  56  checksum of bytes [64, end) u64: XXH64 chained over 64 KiB blocks (seed = previous block's hash)
 *  64  page table, pages x 16:   physical page key u64 (node << 36 | pfn) | first entry u32 | count u32
 *      entries, entries x 8:     event u48 | offset in page u12 | log2 size u4     (per page, event order)
 *      mappings, mappings x 24:  virtual page key u64 | physical page key u64 | first event seen u64
 *                                (sorted by virtual page, then event; kernel pages are the top bits of the
 *                                vaddr, user pages carry their address space: see MachineShadow)
 * </pre>
 * Sorted page table and per-page event order make a query two binary searches and a short backward
 * scan over a memory-mapped file: no load of the whole index.
 */
public final class WhoWroteIndex
{
    public static final String FILE = "who-wrote.idx";
    static final long MAGIC = 0x5844495757574c41L; // "ALWWWIDX" little-endian, checked as a whole
    static final int VERSION = 1;
    static final int HEADER = 64;

    private final ByteBuffer buf;
    private final int pages;
    private final long entries;
    private final long mappings;
    private final long events;
    private final long entriesAt;
    private final long mappingsAt;

    private WhoWroteIndex(final ByteBuffer buf)
    {
        this.buf = buf.order(ByteOrder.LITTLE_ENDIAN);
        this.events = buf.getLong(24);
        this.pages = buf.getInt(32);
        this.mappings = buf.getLong(40);
        this.entries = buf.getLong(48);
        this.entriesAt = HEADER + 16L * pages;
        this.mappingsAt = entriesAt + 8 * entries;
    }

    public long events()
    {
        return events;
    }

    public long entries()
    {
        return entries;
    }

    public int pages()
    {
        return pages;
    }

    /** Physical address (node << 48 | paddr) of the i-th indexed page, in address order. */
    public long pageAddress(final int i)
    {
        final long ppage = buf.getLong(HEADER + 16 * i);
        return (ppage >>> 36) << 48 | (ppage & ((1L << 36) - 1)) << 12;
    }

    public static Path fileOf(final Path trace)
    {
        return trace.resolve(FILE);
    }

    /** A digest of the trace's queue files (name, size, modification time): changes when the trace does. */
    public static long fingerprint(final Path trace)
    {
        final List<String> parts = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(trace, "*.cq4"))
        {
            for (final Path p : ds)
            {
                parts.add(p.getFileName() + ":" + Files.size(p) + ":" + Files.getLastModifiedTime(p).toMillis());
            }
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
        java.util.Collections.sort(parts);
        final byte[] b = String.join("|", parts).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return Hash64.hash(b, 0, b.length, VERSION);
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
        build(trace, file, fp, progress);
        final WhoWroteIndex idx = tryOpen(file, fp);
        if (idx == null)
        {
            throw new TraceException("who-wrote index " + file + " unreadable right after building it");
        }
        return idx;
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
            final WhoWroteIndex idx = new WhoWroteIndex(b);
            if (idx.mappingsAt + 24 * idx.mappings != size || checksum(b, (int)size) != b.getLong(56))
            {
                return null;
            }
            return idx;
        }
        catch (final IOException e)
        {
            return null;
        }
    }

    /** XXH64 chained over 64 KiB blocks of [64, size): no copy of the whole body. */
    private static long checksum(final ByteBuffer b, final int size)
    {
        final byte[] block = new byte[1 << 16];
        final ByteBuffer d = b.duplicate();
        d.position(HEADER);
        long h = 0x57484f;
        while (d.remaining() > 0)
        {
            final int n = Math.min(block.length, d.remaining());
            d.get(block, 0, n);
            h = Hash64.hash(block, 0, n, h);
        }
        return h;
    }

    /** Statistics of one build (for bench). */
    public static final class BuildStats
    {
        public long events;
        public long writes;
        public long nanos;
    }

    public static BuildStats build(final Path trace, final Path file, final long fingerprint, final LongConsumer progress)
    {
        final long t0 = System.nanoTime();
        final Builder b;
        // Decoding (on the decode-ahead thread) overlaps with indexing (on this one).
        try (DecodeAhead r = DecodeAhead.open(trace))
        {
            final TraceHeader h = r.header();
            b = new Builder(Math.max(1, h.cpusPerNode()));
            Event e;
            while ((e = r.next()) != null)
            {
                b.accept(e);
                if (progress != null && (e.index() & 0xfffff) == 0)
                {
                    progress.accept(e.index());
                }
            }
        }
        try
        {
            final Path tmp = file.resolveSibling(FILE + ".tmp");
            b.write(tmp, fingerprint);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException ex)
        {
            throw new TraceException("cannot write the who-wrote index " + file + ": " + ex.getMessage(), ex);
        }
        final BuildStats s = new BuildStats();
        s.events = b.events;
        s.writes = b.writes;
        s.nanos = System.nanoTime() - t0;
        return s;
    }

    /** Accumulates entries per page; no allocation per event except when a page's list grows. */
    static final class Builder
    {
        private final int cpusPerNode;
        private final LongLongMap slots = new LongLongMap(4096, -1);
        private long[] pageKeys = new long[1024];
        private long[][] lists = new long[1024][];
        private int[] counts = new int[1024];
        private int pageCount;
        private long lastPage = -1;
        private int lastSlot;
        private final LongLongMap lastMap = new LongLongMap(4096, -1);
        private long[] maps = new long[3 * 1024];
        private int mapCount;
        private final long[] cpuVpage = new long[4096];
        private final long[] cpuPpage = new long[4096];
        private final long[] cr3 = new long[4096];
        private final LongLongMap spaces = new LongLongMap(64, -1);
        long events;
        long writes;

        Builder(final int cpusPerNode)
        {
            this.cpusPerNode = cpusPerNode;
            Arrays.fill(cpuVpage, -1);
        }

        void accept(final Event e)
        {
            events++;
            final int kind = e.kind();
            if (kind > EventKind.DMA_WRITE)
            {
                if (kind == EventKind.REG && e.a() == palimpsest.trace.Reg.CR3 && e.cpu() < cr3.length)
                {
                    cr3[e.cpu()] = e.b();
                }
                return;
            }
            final int cpu = e.cpu();
            final int node = EventKind.isDevice(cpu) ? cpu - 0x8000 : cpu / cpusPerNode;
            final long ppage = (long)node << 36 | e.paddr() >>> 12;
            if (kind != EventKind.WALK && kind < EventKind.DMA_READ && cpu < cpuVpage.length)
            {
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
                        if (3 * mapCount + 3 > maps.length)
                        {
                            maps = Arrays.copyOf(maps, maps.length * 2);
                        }
                        maps[3 * mapCount] = vkey;
                        maps[3 * mapCount + 1] = ppage;
                        maps[3 * mapCount + 2] = e.index();
                        mapCount++;
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
                if (s < 0)
                {
                    slot = newPage(ppage);
                }
                else
                {
                    slot = (int)s;
                }
                lastPage = ppage;
                lastSlot = slot;
            }
            long[] list = lists[slot];
            final int n = counts[slot];
            if (n == list.length)
            {
                list = lists[slot] = Arrays.copyOf(list, n * 2);
            }
            list[n] = e.index() << 16 | (e.paddr() & 0xfff) << 4 | Integer.numberOfTrailingZeros(e.size());
            counts[slot] = n + 1;
        }

        private int newPage(final long ppage)
        {
            if (pageCount == pageKeys.length)
            {
                pageKeys = Arrays.copyOf(pageKeys, pageCount * 2);
                lists = Arrays.copyOf(lists, pageCount * 2);
                counts = Arrays.copyOf(counts, pageCount * 2);
            }
            pageKeys[pageCount] = ppage;
            lists[pageCount] = new long[16];
            slots.put(ppage, pageCount);
            return pageCount++;
        }

        void write(final Path file, final long fingerprint) throws IOException
        {
            final Integer[] order = new Integer[pageCount];
            for (int i = 0; i < pageCount; i++)
            {
                order[i] = i;
            }
            Arrays.sort(order, (x, y) -> Long.compare(pageKeys[x], pageKeys[y]));
            final long[] mapOrder = sortedMappings();
            final long size = HEADER + 16L * pageCount + 8 * writes + 24L * mapCount;
            if (size > Integer.MAX_VALUE)
            {
                throw new IOException("index would exceed 2 GiB");
            }
            final ByteBuffer b = ByteBuffer.allocate((int)size).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(MAGIC).putInt(VERSION).putInt(0).putLong(fingerprint).putLong(events).putInt(pageCount).putInt(0)
                .putLong(mapCount).putLong(writes).putLong(0);
            long first = 0;
            for (final int s : order)
            {
                b.putLong(pageKeys[s]).putInt((int)first).putInt(counts[s]);
                first += counts[s];
            }
            for (final int s : order)
            {
                final long[] l = lists[s];
                for (int i = 0; i < counts[s]; i++)
                {
                    b.putLong(l[i]);
                }
            }
            for (int i = 0; i < mapCount; i++)
            {
                final int m = (int)mapOrder[i];
                b.putLong(maps[3 * m]).putLong(maps[3 * m + 1]).putLong(maps[3 * m + 2]);
            }
            b.putLong(56, checksum(b, (int)size));
            Files.write(file, b.array());
        }

        private long[] sortedMappings()
        {
            final Integer[] idx = new Integer[mapCount];
            for (int i = 0; i < mapCount; i++)
            {
                idx[i] = i;
            }
            Arrays.sort(idx, (x, y) -> maps[3 * x] != maps[3 * y] ? Long.compare(maps[3 * x], maps[3 * y])
                : Long.compare(maps[3 * x + 2], maps[3 * y + 2]));
            final long[] out = new long[mapCount];
            for (int i = 0; i < mapCount; i++)
            {
                out[i] = idx[i];
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
            final long k = buf.getLong(HEADER + 16 * mid);
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
        final long first = buf.getInt(HEADER + 16 * p + 8) & 0xffffffffL;
        final int count = buf.getInt(HEADER + 16 * p + 12);
        int lo = 0;
        int hi = count;
        while (lo < hi)
        {
            final int mid = (lo + hi) >>> 1;
            if ((buf.getLong((int)(entriesAt + 8 * (first + mid))) >>> 16) < before)
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
            final long en = buf.getLong((int)(entriesAt + 8 * (first + i)));
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
        long best = -1;
        long bestEvent = -1;
        for (long i = 0; i < mappings; i++)
        {
            final int at = (int)(mappingsAt + 24 * i);
            final long vkey = buf.getLong(at);
            final boolean match = vaddr < 0 ? vkey == vpage : (vkey & ((1L << 36) - 1)) == vpage && vkey < (1L << 50);
            if (match)
            {
                final long ev = buf.getLong(at + 16);
                if (ev < before && ev >= bestEvent && (node < 0 || buf.getLong(at + 8) >>> 36 == node))
                {
                    bestEvent = ev;
                    final long ppage = buf.getLong(at + 8);
                    best = (ppage >>> 36) << 48 | (ppage & ((1L << 36) - 1)) << 12 | (vaddr & 0xfff);
                }
            }
        }
        return best;
    }
}
