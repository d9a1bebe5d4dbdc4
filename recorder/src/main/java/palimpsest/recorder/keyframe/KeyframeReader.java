package palimpsest.recorder.keyframe;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import com.esotericsoftware.kryo.io.Input;

import palimpsest.trace.Hash64;

/**
 * Reads a {@link KeyframeFile}. {@link #open} checks the header against the trace's machine;
 * {@link #next} fills a reusable {@link Keyframe}, verifying its checksum.
 */
public final class KeyframeReader implements AutoCloseable
{
    /** Why a keyframe file cannot be used (missing, another machine, bad version, damaged). */
    public static final class Unusable extends Exception
    {
        public Unusable(final String message)
        {
            super(message);
        }
    }

    /** One keyframe: position, registers (cpus x 9), and the pages written since the previous one. */
    public static final class Keyframe
    {
        public long position;
        /** The trace's chunks wholly before position, and the chained digest of the last of them. */
        public long chunks;
        public long chunkDigest;
        public long[] regs = new long[0];
        public int pages;
        public int[] pageNode = new int[16];
        public int[] pageNumber = new int[16];
        /** Page i's bytes at [i * 4096, (i + 1) * 4096). */
        public byte[] data = new byte[16 * KeyframeFile.PAGE_SIZE];
        /** Offset in the file of this keyframe's length word (random access: {@link #pageOffset}). */
        public long fileOffset;
    }

    /** Offset in the file of page i's 4096 bytes within the keyframe at fileOffset. */
    public static long pageOffset(final long fileOffset, final int cpus, final int i)
    {
        return fileOffset + 4 + KeyframeFile.BODY_PREFIX + (long)cpus * KeyframeFile.REGS_PER_CPU * 8 + 4 +
            (long)i * (8 + KeyframeFile.PAGE_SIZE) + 8;
    }

    private final InputStream in;
    private final long every;
    private final int cpus;
    private final int nodes;
    private final int pagesPerNode;
    private byte[] body = new byte[1 << 16];
    private int index;
    private long offset = KeyframeFile.HEADER_LENGTH;

    private KeyframeReader(final InputStream in, final long every, final int nodes, final int cpus, final int pagesPerNode)
    {
        this.in = in;
        this.every = every;
        this.nodes = nodes;
        this.cpus = cpus;
        this.pagesPerNode = pagesPerNode;
    }

    public static KeyframeReader open(final Path file, final int nodes, final int cpus, final int pagesPerNode,
        final long traceDigest) throws Unusable
    {
        final InputStream in;
        try
        {
            in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16);
        }
        catch (final NoSuchFileException e)
        {
            throw new Unusable("no keyframes");
        }
        catch (final IOException e)
        {
            throw new Unusable("keyframes unreadable: " + e.getMessage());
        }
        try
        {
            final byte[] h = in.readNBytes(KeyframeFile.HEADER_LENGTH);
            if (h.length < KeyframeFile.HEADER_LENGTH)
            {
                throw new Unusable("keyframes file too short");
            }
            final Input hi = new Input(h);
            if (hi.readLong() != KeyframeFile.MAGIC)
            {
                throw new Unusable("not a keyframes file");
            }
            final int version = hi.readInt();
            if (version != KeyframeFile.VERSION)
            {
                throw new Unusable("keyframes version " + version + ", this pal reads " + KeyframeFile.VERSION);
            }
            final long every = hi.readLong();
            final int n = hi.readInt();
            final int c = hi.readInt();
            final int p = hi.readInt();
            if (n != nodes || c != cpus || p != pagesPerNode || every <= 0)
            {
                throw new Unusable("keyframes of another machine");
            }
            if (hi.readLong() != traceDigest)
            {
                throw new Unusable(KeyframeFile.NAME + " belongs to another trace (its trace header digest differs)");
            }
            return new KeyframeReader(in, every, nodes, cpus, pagesPerNode);
        }
        catch (final IOException e)
        {
            closeQuietly(in);
            throw new Unusable("keyframes unreadable: " + e.getMessage());
        }
        catch (final Unusable e)
        {
            closeQuietly(in);
            throw e;
        }
    }

    private static void closeQuietly(final InputStream in)
    {
        try
        {
            in.close();
        }
        catch (final IOException ignored)
        {
            // nothing to do
        }
    }

    public int cpus()
    {
        return cpus;
    }

    public long every()
    {
        return every;
    }

    /**
     * @return false at the end of the file (a keyframe cut short counts as the end)
     * @throws Unusable if a keyframe is damaged (checksum, impossible counts)
     */
    public boolean next(final Keyframe k) throws Unusable
    {
        try
        {
            final byte[] lb = in.readNBytes(4);
            if (lb.length < 4)
            {
                return false;
            }
            final int len = new Input(lb).readInt();
            final int regBytes = KeyframeFile.BODY_PREFIX + cpus * KeyframeFile.REGS_PER_CPU * 8 + 4;
            if (len < regBytes || len > regBytes + (long)nodes * pagesPerNode * (8 + KeyframeFile.PAGE_SIZE))
            {
                throw new Unusable("keyframe " + index + " damaged (length " + len + ")");
            }
            if (body.length < len)
            {
                body = new byte[len];
            }
            if (in.readNBytes(body, 0, len) < len)
            {
                return false;
            }
            final byte[] cb = in.readNBytes(8);
            if (cb.length < 8)
            {
                return false;
            }
            if (new Input(cb).readLong() != Hash64.hash(body, 0, len, index))
            {
                throw new Unusable("keyframe " + index + " damaged (checksum)");
            }
            final Input b = new Input(body, 0, len);
            k.position = b.readLong();
            k.chunks = b.readLong();
            k.chunkDigest = b.readLong();
            if (k.regs.length != cpus * KeyframeFile.REGS_PER_CPU)
            {
                k.regs = new long[cpus * KeyframeFile.REGS_PER_CPU];
            }
            for (int i = 0; i < k.regs.length; i++)
            {
                k.regs[i] = b.readLong();
            }
            final int pages = b.readInt();
            if (pages < 0 || len != regBytes + pages * (8L + KeyframeFile.PAGE_SIZE))
            {
                throw new Unusable("keyframe " + index + " damaged (page count)");
            }
            if (k.pageNode.length < pages)
            {
                k.pageNode = new int[pages];
                k.pageNumber = new int[pages];
                k.data = new byte[pages * KeyframeFile.PAGE_SIZE];
            }
            k.pages = pages;
            for (int i = 0; i < pages; i++)
            {
                k.pageNode[i] = b.readInt();
                k.pageNumber[i] = b.readInt();
                if (k.pageNode[i] < 0 || k.pageNode[i] >= nodes || k.pageNumber[i] < 0 || k.pageNumber[i] >= pagesPerNode)
                {
                    throw new Unusable("keyframe " + index + " damaged (page address)");
                }
                b.readBytes(k.data, i * KeyframeFile.PAGE_SIZE, KeyframeFile.PAGE_SIZE);
            }
            k.fileOffset = offset;
            offset += 4 + len + 8;
            index++;
            return true;
        }
        catch (final EOFException e)
        {
            return false;
        }
        catch (final IOException e)
        {
            throw new Unusable("keyframes unreadable: " + e.getMessage());
        }
    }

    @Override
    public void close()
    {
        closeQuietly(in);
    }
}
