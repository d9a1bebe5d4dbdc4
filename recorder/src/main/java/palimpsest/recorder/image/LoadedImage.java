package palimpsest.recorder.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import palimpsest.emulator.CodeMap;
import palimpsest.emulator.Machine;
import palimpsest.trace.Hash64;
import palimpsest.trace.TraceException;

/**
 * The machine of a trace as it was loaded, before event 0: its symbol table, each node's boot entry
 * and first boot fiber, and every RAM page the loader left non-zero. Kept beside the trace as
 * {@code TRACE/loaded-image.bin} (written when the recording starts, or by the first query of an
 * older trace), so a query ({@code pal who-wrote}, {@code pal state --at}) has the symbols and the
 * memory nothing wrote during the run without loading the scenario on a fresh machine: for a long
 * word-count that load made its whole text and zeroed 128 MiB of RAM per node, most of a query's
 * time. Pages are read one at a time from the mapped file, so a query pays for the pages it looks
 * at, not for the image.
 *
 * <pre>
 * file (little-endian), version 1; not the trace format: it has its own version
 *   0  magic "PALIMAGE" u64           8  version u32          12  nodes u32
 *  16  trace header digest u64 (the trace it belongs to)
 *  24  RAM MiB per node u32          28  symbols u32
 *  32  first boot fiber u64          40  pages u32           44  names bytes u32
 *  48  checksum u64: XXH64 (seed = version) of [64, data)
 *  56  data u64: where the page bytes start (a multiple of 4096)
 *  64  boot entry u64 per node
 *      symbols x 24: start u64 | size u64 | name offset u32 | name length u32   (address order)
 *      names: UTF-8, padded to 8
 *      pages x 16: page key u64 (node << 32 | page number) | XXH64 of its 4096 bytes (seed 0)  (by key)
 *  data: pages x 4096, in the order of their keys
 * </pre>
 * The header, symbols and page table are checked when the file is opened (a damaged or foreign one
 * is not used: the caller falls back to loading the scenario); a page's bytes are checked against
 * their hash when read (a {@link TraceException} saying so).
 */
public final class LoadedImage
{
    public static final String NAME = "loaded-image.bin";
    public static final int VERSION = 1;
    public static final int PAGE = 4096;
    static final long MAGIC = 0x4547414d494c4150L; // "PALIMAGE" little-endian
    private static final int HEADER = 64;

    private final Path file;
    private final ByteBuffer buf;
    private final int nodes;
    private final int memMiB;
    private final int symbols;
    private final int pages;
    private final long firstBootFiber;
    private final int symbolsAt;
    private final int namesAt;
    private final int tableAt;
    private final long dataAt;

    private LoadedImage(final Path file, final ByteBuffer buf)
    {
        this.file = file;
        this.buf = buf;
        this.nodes = buf.getInt(12);
        this.memMiB = buf.getInt(24);
        this.symbols = buf.getInt(28);
        this.firstBootFiber = buf.getLong(32);
        this.pages = buf.getInt(40);
        this.symbolsAt = HEADER + 8 * nodes;
        this.namesAt = symbolsAt + 24 * symbols;
        this.tableAt = namesAt + align8(buf.getInt(44));
        this.dataAt = buf.getLong(56);
    }

    public static Path of(final Path trace)
    {
        return trace.resolve(NAME);
    }

    private static int align8(final int n)
    {
        return (n + 7) & ~7;
    }

    /**
     * The image beside the trace when it is there, whole and this trace's (same header digest), else
     * null: the caller then loads the scenario as before (and may {@link #write} the image).
     */
    public static LoadedImage open(final Path trace, final long headerDigest)
    {
        final Path file = of(trace);
        if (!Files.isRegularFile(file))
        {
            return null;
        }
        return openChecked(file, headerDigest);
    }

    /** Why {@link #open} would refuse the file (null when it is usable or absent): for a note. */
    public static String problem(final Path trace, final long headerDigest)
    {
        final Path file = of(trace);
        if (!Files.isRegularFile(file) || openChecked(file, headerDigest) != null)
        {
            return null;
        }
        return file + " is damaged, of another version or another trace's";
    }

    private static LoadedImage openChecked(final Path file, final long headerDigest)
    {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ))
        {
            final long size = ch.size();
            if (size < HEADER || size > Integer.MAX_VALUE)
            {
                return null;
            }
            final ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.LITTLE_ENDIAN);
            if (b.getLong(0) != MAGIC || b.getInt(8) != VERSION || b.getLong(16) != headerDigest)
            {
                return null;
            }
            final LoadedImage img = new LoadedImage(file, b);
            final long tableEnd = (long)img.tableAt + 16L * img.pages;
            if (img.nodes <= 0 || img.symbols < 0 || img.pages < 0 || tableEnd > img.dataAt || img.dataAt % PAGE != 0
                || img.dataAt + (long)PAGE * img.pages != size
                || checksum(b, (int)tableEnd) != b.getLong(48))
            {
                return null;
            }
            return img;
        }
        catch (final IOException | RuntimeException e)
        {
            return null;
        }
    }

    private static long checksum(final ByteBuffer b, final int end)
    {
        final byte[] bytes = new byte[end - HEADER];
        b.duplicate().position(HEADER).get(bytes);
        return Hash64.hash(bytes, 0, bytes.length, VERSION);
    }

    public int nodes()
    {
        return nodes;
    }

    public int memMiB()
    {
        return memMiB;
    }

    /** The pc node's boot fiber starts at. */
    public long bootEntry(final int node)
    {
        return buf.getLong(HEADER + 8 * node);
    }

    /** The id of node 0's boot fiber (node n's is this + n). */
    public long firstBootFiber()
    {
        return firstBootFiber;
    }

    /** Pages the loader left non-zero, over every node. */
    public int pages()
    {
        return pages;
    }

    /** The symbol table as the loaded machine had it (routines are not kept: nothing runs). */
    public CodeMap code()
    {
        final CodeMap code = new CodeMap();
        final byte[] names = new byte[tableAt - namesAt];
        buf.duplicate().position(namesAt).get(names);
        for (int i = 0; i < symbols; i++)
        {
            final int o = symbolsAt + 24 * i;
            code.define(new String(names, buf.getInt(o + 16), buf.getInt(o + 20), StandardCharsets.UTF_8), buf.getLong(o),
                buf.getLong(o + 8), null);
        }
        return code;
    }

    /**
     * Copies the loaded bytes of a page of node into dst at off.
     *
     * @return false (dst untouched) when the loader left the page all zero
     * @throws TraceException when the page's bytes no longer match their hash
     */
    public boolean page(final int node, final long pageNumber, final byte[] dst, final int off)
    {
        final long key = (long)node << 32 | pageNumber;
        int lo = 0;
        int hi = pages - 1;
        while (lo <= hi)
        {
            final int mid = (lo + hi) >>> 1;
            final long k = buf.getLong(tableAt + 16 * mid);
            if (k < key)
            {
                lo = mid + 1;
            }
            else if (k > key)
            {
                hi = mid - 1;
            }
            else
            {
                buf.duplicate().position((int)(dataAt + (long)PAGE * mid)).get(dst, off, PAGE);
                if (Hash64.hash(dst, off, PAGE, 0) != buf.getLong(tableAt + 16 * mid + 8))
                {
                    throw new TraceException(file + " is damaged: page " + Long.toHexString(pageNumber) + " of node " + node +
                        " fails its hash (delete the file: the next query rebuilds it from the scenario)");
                }
                return true;
            }
        }
        return false;
    }

    /**
     * Writes the image of a machine just loaded (before it runs) beside the trace: to a temporary
     * file, then moved in place, so a reader never sees half of one.
     *
     * @throws UncheckedIOException when it cannot be written
     */
    public static void write(final Path trace, final long headerDigest, final Machine m)
    {
        final int nodes = m.config().nodes;
        final int memMiB = m.config().memMiB;
        // Non-zero pages, in key order (node, then page number).
        final List<long[]> table = new ArrayList<>();
        final byte[] zero = new byte[PAGE];
        for (int n = 0; n < nodes; n++)
        {
            final byte[] mem = m.memory(n).array();
            for (int p = 0; p < mem.length / PAGE; p++)
            {
                if (Arrays.mismatch(mem, p * PAGE, (p + 1) * PAGE, zero, 0, PAGE) >= 0)
                {
                    table.add(new long[] {(long)n << 32 | p, Hash64.hash(mem, p * PAGE, PAGE, 0)});
                }
            }
        }
        final List<String> names = new ArrayList<>();
        final List<long[]> syms = new ArrayList<>();
        m.code().forEachSymbol((name, start, size) ->
        {
            names.add(name);
            syms.add(new long[] {start, size});
        });
        final byte[][] utf8 = new byte[names.size()][];
        int nameBytes = 0;
        for (int i = 0; i < utf8.length; i++)
        {
            utf8[i] = names.get(i).getBytes(StandardCharsets.UTF_8);
            nameBytes += utf8[i].length;
        }
        final int symbolsAt = HEADER + 8 * nodes;
        final int namesAt = symbolsAt + 24 * syms.size();
        final int tableAt = namesAt + align8(nameBytes);
        final int tableEnd = tableAt + 16 * table.size();
        final long dataAt = (tableEnd + PAGE - 1L) / PAGE * PAGE;
        final ByteBuffer head = ByteBuffer.allocate((int)dataAt).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(MAGIC).putInt(VERSION).putInt(nodes).putLong(headerDigest).putInt(memMiB).putInt(syms.size())
            .putLong(m.nextFiberId()).putInt(table.size()).putInt(nameBytes).putLong(0).putLong(dataAt);
        for (int n = 0; n < nodes; n++)
        {
            head.putLong(m.bootEntry(n));
        }
        int nameAt = 0;
        for (int i = 0; i < syms.size(); i++)
        {
            head.putLong(syms.get(i)[0]).putLong(syms.get(i)[1]).putInt(nameAt).putInt(utf8[i].length);
            nameAt += utf8[i].length;
        }
        for (final byte[] u : utf8)
        {
            head.put(u);
        }
        head.position(tableAt);
        for (final long[] row : table)
        {
            head.putLong(row[0]).putLong(row[1]);
        }
        head.putLong(48, checksum(head, tableEnd));
        final Path tmp = trace.resolve(NAME + ".tmp");
        try
        {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING))
            {
                head.clear();
                while (head.hasRemaining())
                {
                    ch.write(head);
                }
                for (final long[] row : table)
                {
                    final ByteBuffer page = ByteBuffer.wrap(m.memory((int)(row[0] >>> 32)).array(), (int)(row[0] & 0xffffffffL) * PAGE, PAGE);
                    while (page.hasRemaining())
                    {
                        ch.write(page);
                    }
                }
            }
            Files.move(tmp, of(trace), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException e)
        {
            try
            {
                Files.deleteIfExists(tmp);
            }
            catch (final IOException ignored)
            {
                // best effort
            }
            throw new UncheckedIOException(e);
        }
    }
}
