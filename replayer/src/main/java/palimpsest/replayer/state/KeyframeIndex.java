package palimpsest.replayer.state;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import palimpsest.recorder.keyframe.KeyframeFile;
import palimpsest.recorder.keyframe.KeyframeReader;
import palimpsest.trace.Hash64;

/**
 * Random access into {@code TRACE/keyframes.kryo}: where each keyframe's registers are and, for
 * every physical page any keyframe holds, which keyframes hold it and where. The state at
 * keyframe K is then, per page, the copy in the last keyframe at or before K: a binary search and
 * one 4 KiB read per page, never a pass over the earlier keyframes, so {@code pal state --at N}
 * costs the same at event 100 M as at event 1 M. Kept as {@code TRACE/keyframes.idx}, built in one
 * pass over the keyframes file (not the trace) when missing, stale or damaged.
 *
 * <pre>
 * file (little-endian)
 *   0  magic "PALKFIDX" u64       8  version u32 (= 1)   12  cpus u32
 *  16  trace header digest u64   24  trace fingerprint u64 ({@link TraceExtent#fingerprint})
 *  32  keyframes.kryo size u64   40  keyframes.kryo modification time (ns) u64
 *  48  keyframes u32             52  pages u32
 *  56  checksum of bytes [64, end) u64 (XXH64, seed = version)
 *  64  entries u64               72  reserved u64
 *  80  the trace's extent when the index was built ({@link TraceExtent#write}), padded to 8
 *      keyframes x (3 + 9 x cpus) u64: position | chunks | chunk digest | registers as in the keyframe
 *      pages x 16:   page key u64 (node << 32 | page number) | first entry u32 | count u32   (by key)
 *      entries x 24: keyframe number u64 | offset of the page's 4096 bytes in keyframes.kryo u64 |
 *                    XXH64 of those bytes u64                          (per page, keyframe order)
 * </pre>
 * Page bytes are checked against their hash when read, so damage to keyframes.kryo after the index
 * was built is found even though keyframe bodies are no longer read whole.
 */
public final class KeyframeIndex
{
    public static final String NAME = "keyframes.idx";
    static final long MAGIC = 0x58444946_4b4c4150L; // "PALKFIDX" little-endian
    static final int VERSION = 1;
    private static final int HEADER = 80;

    /** Checks that a keyframe belongs to the trace (its chunk digest); throws Unusable if not. */
    public interface Belongs
    {
        void check(KeyframeReader.Keyframe k, int i) throws KeyframeReader.Unusable;
    }

    private final ByteBuffer buf;
    private final int cpus;
    private final int keyframes;
    private final int pages;
    private final TraceExtent extent;
    private final int framesAt;
    private final int pagesAt;
    private final int entriesAt;
    private final Path kryo;

    private KeyframeIndex(final ByteBuffer buf, final Path kryo, final TraceExtent extent, final int framesAt)
    {
        this.buf = buf;
        this.kryo = kryo;
        this.cpus = buf.getInt(12);
        this.keyframes = buf.getInt(48);
        this.pages = buf.getInt(52);
        this.extent = extent;
        this.framesAt = framesAt;
        this.pagesAt = framesAt + keyframes * frameBytes(cpus);
        this.entriesAt = pagesAt + 16 * pages;
    }

    private static int frameBytes(final int cpus)
    {
        return 8 * (3 + KeyframeFile.REGS_PER_CPU * cpus);
    }

    public static Path of(final Path trace)
    {
        return trace.resolve(NAME);
    }

    /** The trace's extent when the index was built (the trace is unchanged since: same fingerprint). */
    public TraceExtent extent()
    {
        return extent;
    }

    public int keyframes()
    {
        return keyframes;
    }

    /** Event position of keyframe k (the state after events 0..position-1). */
    public long position(final int k)
    {
        return buf.getLong(framesAt + k * frameBytes(cpus));
    }

    /** The last keyframe at or before event n, or -1. */
    public int before(final long n)
    {
        int lo = 0;
        int hi = keyframes - 1;
        int best = -1;
        while (lo <= hi)
        {
            final int mid = (lo + hi) >>> 1;
            if (position(mid) <= n)
            {
                best = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return best;
    }

    /**
     * Puts the state of keyframe k into st: every page as its last copy at or before k, the registers
     * and the position. st must be the loaded machine (no event applied).
     *
     * @throws KeyframeReader.Unusable when a page's bytes no longer match their hash
     */
    public void apply(final int k, final TraceState st) throws KeyframeReader.Unusable
    {
        final ByteBuffer page = ByteBuffer.allocate(KeyframeFile.PAGE_SIZE);
        try (FileChannel ch = FileChannel.open(kryo, StandardOpenOption.READ))
        {
            for (int p = 0; p < pages; p++)
            {
                final long key = buf.getLong(pagesAt + 16 * p);
                final int at = lastCopy(p, k);
                if (at < 0)
                {
                    continue;
                }
                page.clear();
                final long offset = buf.getLong(at + 8);
                while (page.hasRemaining())
                {
                    if (ch.read(page, offset + page.position()) < 0)
                    {
                        throw new KeyframeReader.Unusable(KeyframeFile.NAME + " is shorter than its index says");
                    }
                }
                if (Hash64.hash(page.array(), 0, KeyframeFile.PAGE_SIZE, 0) != buf.getLong(at + 16))
                {
                    throw new KeyframeReader.Unusable(KeyframeFile.NAME + " damaged (a page differs from its index)");
                }
                st.memory((int)(key >>> 32)).copyIn((key & 0xffffffffL) * KeyframeFile.PAGE_SIZE, page.array(), 0,
                    KeyframeFile.PAGE_SIZE);
            }
        }
        catch (final IOException e)
        {
            throw new KeyframeReader.Unusable("keyframes unreadable: " + e.getMessage());
        }
        applyRegs(k, st);
    }

    /** Registers and position of keyframe k into st (its pages are left to {@link #page}). */
    void applyRegs(final int k, final TraceState st)
    {
        final int f = framesAt + k * frameBytes(cpus);
        for (int cpu = 0; cpu < st.cpuCount(); cpu++)
        {
            final int o = f + 24 + 8 * KeyframeFile.REGS_PER_CPU * cpu;
            st.regs(cpu).set(buf.getLong(o), buf.getLong(o + 8), buf.getLong(o + 16), buf.getLong(o + 24), buf.getLong(o + 32),
                buf.getLong(o + 40), buf.getLong(o + 48), (int)buf.getLong(o + 56), buf.getLong(o + 64));
        }
        st.position(position(k));
    }

    /** Where in the entries the last copy at or before keyframe k of the p-th page is, or -1 (no keyframe then held it). */
    private int lastCopy(final int p, final int k)
    {
        final int first = buf.getInt(pagesAt + 16 * p + 8);
        final int count = buf.getInt(pagesAt + 16 * p + 12);
        int lo = 0;
        int hi = count - 1;
        int best = -1;
        while (lo <= hi)
        {
            final int mid = (lo + hi) >>> 1;
            if (buf.getLong(entriesAt + 24 * (first + mid)) <= k)
            {
                best = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return best < 0 ? -1 : entriesAt + 24 * (first + best);
    }

    /** A page copy of keyframes.kryo that no longer matches its hash, found while a paged state reads it. */
    public static final class PageDamaged extends RuntimeException
    {
        PageDamaged(final String message)
        {
            super(message);
        }
    }

    /** keyframes.kryo mapped (null until a page is first read; when over 2 GiB, read page by page). */
    private ByteBuffer kryoMap;

    /**
     * The bytes of a page (node, page number) in keyframe k's state, its last copy at or before k,
     * into dst: a binary search in the page table and one in the page's copies, one 4 KiB read.
     *
     * @return false (dst untouched) when no keyframe at or before k holds the page
     * @throws PageDamaged when the copy's bytes no longer match their hash
     */
    boolean page(final int k, final int node, final long pageNumber, final byte[] dst)
    {
        final long key = (long)node << 32 | pageNumber;
        int lo = 0;
        int hi = pages - 1;
        int p = -1;
        while (lo <= hi)
        {
            final int mid = (lo + hi) >>> 1;
            final long at = buf.getLong(pagesAt + 16 * mid);
            if (at < key)
            {
                lo = mid + 1;
            }
            else if (at > key)
            {
                hi = mid - 1;
            }
            else
            {
                p = mid;
                break;
            }
        }
        if (p < 0)
        {
            return false;
        }
        final int at = lastCopy(p, k);
        if (at < 0)
        {
            return false;
        }
        readPage(buf.getLong(at + 8), dst);
        if (Hash64.hash(dst, 0, KeyframeFile.PAGE_SIZE, 0) != buf.getLong(at + 16))
        {
            throw new PageDamaged(KeyframeFile.NAME + " damaged (a page differs from its index)");
        }
        return true;
    }

    private void readPage(final long offset, final byte[] dst)
    {
        try
        {
            if (kryoMap == null)
            {
                try (FileChannel ch = FileChannel.open(kryo, StandardOpenOption.READ))
                {
                    if (ch.size() <= Integer.MAX_VALUE)
                    {
                        kryoMap = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
                    }
                    else
                    {
                        final ByteBuffer page = ByteBuffer.wrap(dst);
                        while (page.hasRemaining())
                        {
                            if (ch.read(page, offset + page.position()) < 0)
                            {
                                throw new PageDamaged(KeyframeFile.NAME + " is shorter than its index says");
                            }
                        }
                        return;
                    }
                }
            }
            if (offset < 0 || offset + KeyframeFile.PAGE_SIZE > kryoMap.capacity())
            {
                throw new PageDamaged(KeyframeFile.NAME + " is shorter than its index says");
            }
            kryoMap.duplicate().position((int)offset).get(dst, 0, KeyframeFile.PAGE_SIZE);
        }
        catch (final IOException e)
        {
            throw new PageDamaged("keyframes unreadable: " + e.getMessage());
        }
    }

    /**
     * The index of the trace's keyframes if it exists and matches the trace and keyframes file as
     * they are now, else null (then {@link #build}).
     */
    public static KeyframeIndex open(final Path trace, final int cpus, final long headerDigest)
    {
        final Path file = of(trace);
        final Path kryo = KeyframeFile.of(trace);
        if (!Files.isRegularFile(file) || !Files.isRegularFile(kryo))
        {
            return null;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ))
        {
            final long size = ch.size();
            if (size < HEADER || size > Integer.MAX_VALUE)
            {
                return null;
            }
            final ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.LITTLE_ENDIAN);
            if (b.getLong(0) != MAGIC || b.getInt(8) != VERSION || b.getInt(12) != cpus || b.getLong(16) != headerDigest
                || b.getLong(24) != TraceExtent.fingerprint(trace) || b.getLong(32) != Files.size(kryo)
                || b.getLong(40) != Files.getLastModifiedTime(kryo).to(TimeUnit.NANOSECONDS))
            {
                return null;
            }
            final TraceExtent extent = TraceExtent.read(b, HEADER);
            if (extent == null)
            {
                return null;
            }
            final int framesAt = align8(HEADER + extent.encodedLength());
            final KeyframeIndex idx = new KeyframeIndex(b, kryo, extent, framesAt);
            if (idx.keyframes < 0 || idx.pages < 0 || (long)idx.entriesAt + 24 * b.getLong(64) != size
                || checksum(b, (int)size) != b.getLong(56))
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

    private static int align8(final int n)
    {
        return (n + 7) & ~7;
    }

    private static long checksum(final ByteBuffer b, final int size)
    {
        final byte[] block = new byte[1 << 16];
        final ByteBuffer d = b.duplicate();
        d.position(64);
        long h = VERSION;
        while (d.remaining() > 0)
        {
            final int n = Math.min(block.length, d.remaining());
            d.get(block, 0, n);
            h = Hash64.hash(block, 0, n, h);
        }
        return h;
    }

    /**
     * One pass over keyframes.kryo (each keyframe's checksum and chunk digest checked) and one
     * verification of the trace's chunks; writes the index next to the trace.
     *
     * @throws KeyframeReader.Unusable when the keyframes file is missing, damaged or another trace's
     */
    public static void build(final Path trace, final int nodes, final int cpus, final int pagesPerNode,
        final long headerDigest, final Belongs belongs) throws KeyframeReader.Unusable
    {
        final Path kryo = KeyframeFile.of(trace);
        final long fingerprint = TraceExtent.fingerprint(trace);
        final long kryoSize;
        final long kryoTime;
        try
        {
            kryoSize = Files.size(kryo);
            kryoTime = Files.getLastModifiedTime(kryo).to(TimeUnit.NANOSECONDS);
        }
        catch (final IOException e)
        {
            throw new KeyframeReader.Unusable("no keyframes");
        }
        long[] frames = new long[64 * (3 + KeyframeFile.REGS_PER_CPU * cpus)];
        int count = 0;
        // One row per page copy: page key, keyframe number, offset, hash.
        long[] rows = new long[4 * 1024];
        int nrows = 0;
        try (KeyframeReader kr = KeyframeReader.open(kryo, nodes, cpus, pagesPerNode, headerDigest))
        {
            final KeyframeReader.Keyframe k = new KeyframeReader.Keyframe();
            final int fw = 3 + KeyframeFile.REGS_PER_CPU * cpus;
            long last = 0;
            while (kr.next(k))
            {
                if (k.position <= last)
                {
                    throw new KeyframeReader.Unusable("keyframe " + count + " out of order");
                }
                last = k.position;
                belongs.check(k, count);
                if ((count + 1) * fw > frames.length)
                {
                    frames = Arrays.copyOf(frames, frames.length * 2);
                }
                frames[count * fw] = k.position;
                frames[count * fw + 1] = k.chunks;
                frames[count * fw + 2] = k.chunkDigest;
                System.arraycopy(k.regs, 0, frames, count * fw + 3, k.regs.length);
                for (int i = 0; i < k.pages; i++)
                {
                    if (4 * (nrows + 1) > rows.length)
                    {
                        rows = Arrays.copyOf(rows, rows.length * 2);
                    }
                    rows[4 * nrows] = (long)k.pageNode[i] << 32 | k.pageNumber[i];
                    rows[4 * nrows + 1] = count;
                    rows[4 * nrows + 2] = KeyframeReader.pageOffset(k.fileOffset, cpus, i);
                    rows[4 * nrows + 3] = Hash64.hash(k.data, i * KeyframeFile.PAGE_SIZE, KeyframeFile.PAGE_SIZE, 0);
                    nrows++;
                }
                count++;
            }
        }
        write(trace, cpus, headerDigest, fingerprint, kryoSize, kryoTime, TraceExtent.verify(trace), frames, count, rows, nrows);
    }

    private static void write(final Path trace, final int cpus, final long headerDigest, final long fingerprint, final long kryoSize,
        final long kryoTime, final TraceExtent extent, final long[] frames, final int count, final long[] rows, final int nrows)
        throws KeyframeReader.Unusable
    {
        // Rows by page key, then keyframe number: a stable sort of their indices.
        final Integer[] order = new Integer[nrows];
        for (int i = 0; i < nrows; i++)
        {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> rows[4 * x] != rows[4 * y] ? Long.compare(rows[4 * x], rows[4 * y])
            : Long.compare(rows[4 * x + 1], rows[4 * y + 1]));
        int pages = 0;
        for (int i = 0; i < nrows; i++)
        {
            if (i == 0 || rows[4 * order[i]] != rows[4 * order[i - 1]])
            {
                pages++;
            }
        }
        final int framesAt = align8(HEADER + extent.encodedLength());
        final long size = framesAt + (long)count * frameBytes(cpus) + 16L * pages + 24L * nrows;
        if (size > Integer.MAX_VALUE)
        {
            throw new KeyframeReader.Unusable("keyframe index would exceed 2 GiB");
        }
        final ByteBuffer b = ByteBuffer.allocate((int)size).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC).putInt(VERSION).putInt(cpus).putLong(headerDigest).putLong(fingerprint).putLong(kryoSize)
            .putLong(kryoTime).putInt(count).putInt(pages).putLong(0).putLong(nrows).putLong(0);
        extent.write(b);
        b.position(framesAt);
        final int fw = 3 + KeyframeFile.REGS_PER_CPU * cpus;
        for (int i = 0; i < count * fw; i++)
        {
            b.putLong(frames[i]);
        }
        int first = 0;
        for (int i = 0; i < nrows; i++)
        {
            if (i == nrows - 1 || rows[4 * order[i]] != rows[4 * order[i + 1]])
            {
                b.putLong(rows[4 * order[i]]).putInt(first).putInt(i + 1 - first);
                first = i + 1;
            }
        }
        for (int i = 0; i < nrows; i++)
        {
            final int r = order[i];
            b.putLong(rows[4 * r + 1]).putLong(rows[4 * r + 2]).putLong(rows[4 * r + 3]);
        }
        b.putLong(56, checksum(b, (int)size));
        final Path tmp = trace.resolve(NAME + ".tmp");
        try
        {
            Files.write(tmp, b.array());
            Files.move(tmp, of(trace), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException e)
        {
            throw new KeyframeReader.Unusable("cannot write " + of(trace) + ": " + e.getMessage());
        }
    }
}
