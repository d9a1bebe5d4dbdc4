package palimpsest.recorder.keyframe;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.esotericsoftware.kryo.io.Output;

import palimpsest.trace.Hash64;

/** Appends keyframes to a file in the {@link KeyframeFile} layout. */
public final class KeyframeWriter implements AutoCloseable
{
    private final OutputStream out;
    private final Output body = new Output(1 << 16, -1);
    private final Output frame = new Output(64);
    private final int cpus;
    private final long[] regs;
    private int pages;
    private int pageCountAt;
    private int index;

    public KeyframeWriter(final Path file, final long every, final int nodes, final int cpus, final int pagesPerNode,
        final long traceDigest)
    {
        try
        {
            this.out = Files.newOutputStream(file);
            final Output h = new Output(KeyframeFile.HEADER_LENGTH);
            h.writeLong(KeyframeFile.MAGIC);
            h.writeInt(KeyframeFile.VERSION);
            h.writeLong(every);
            h.writeInt(nodes);
            h.writeInt(cpus);
            h.writeInt(pagesPerNode);
            h.writeLong(traceDigest);
            out.write(h.getBuffer(), 0, h.position());
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
        this.cpus = cpus;
        this.regs = new long[cpus * KeyframeFile.REGS_PER_CPU];
    }

    /** Bytes of a keyframe's body before its pages: position, chunks, digest, registers, page count. */
    private int fixedBytes()
    {
        return 3 * Long.BYTES + regs.length * Long.BYTES + Integer.BYTES;
    }

    /**
     * Makes room for a keyframe of this many pages before {@link #begin}, in one allocation: growing
     * the buffer page by page (Kryo doubles it, copying each time, and the big arrays are G1
     * humongous allocations) was a third to a half of the page copy's time on the recording thread.
     */
    public void reserve(final int pageCount)
    {
        final long need = fixedBytes() + (long)pageCount * (2 * Integer.BYTES + KeyframeFile.PAGE_SIZE);
        if (need > body.getBuffer().length && need < Integer.MAX_VALUE - 8)
        {
            body.setBuffer(new byte[(int)Math.min(Integer.MAX_VALUE - 8, need + (need >> 3))], -1);
        }
    }

    /**
     * Starts a keyframe: the state after events 0..position-1, when the trace's first chunks whole
     * chunks (those wholly before position) had chained digest chunkDigest.
     */
    public void begin(final long position, final long chunks, final long chunkDigest)
    {
        body.reset();
        body.writeLong(position);
        body.writeLong(chunks);
        body.writeLong(chunkDigest);
        java.util.Arrays.fill(regs, 0);
        pages = 0;
    }

    public void regs(final int cpu, final long pc, final long icount, final long sp, final long fp, final long flags,
        final long cr3, final long cr2, final long cpl, final long fiber)
    {
        final int o = cpu * KeyframeFile.REGS_PER_CPU;
        regs[o] = pc;
        regs[o + 1] = icount;
        regs[o + 2] = sp;
        regs[o + 3] = fp;
        regs[o + 4] = flags;
        regs[o + 5] = cr3;
        regs[o + 6] = cr2;
        regs[o + 7] = cpl;
        regs[o + 8] = fiber;
    }

    /** Registers are written before the pages: call after every {@link #regs}, before {@link #page}. */
    public void endRegs()
    {
        for (final long r : regs)
        {
            body.writeLong(r);
        }
        pageCountAt = body.position();
        body.writeInt(0);
    }

    public void page(final int node, final int page, final byte[] memory)
    {
        body.writeInt(node);
        body.writeInt(page);
        body.writeBytes(memory, page * KeyframeFile.PAGE_SIZE, KeyframeFile.PAGE_SIZE);
        pages++;
    }

    public void end()
    {
        final int len = body.position();
        body.setPosition(pageCountAt);
        body.writeInt(pages);
        body.setPosition(len);
        final byte[] b = body.getBuffer();
        frame.reset();
        frame.writeInt(len);
        try
        {
            out.write(frame.getBuffer(), 0, frame.position());
            out.write(b, 0, len);
            frame.reset();
            frame.writeLong(Hash64.hash(b, 0, len, index));
            out.write(frame.getBuffer(), 0, frame.position());
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
        index++;
    }

    public int keyframes()
    {
        return index;
    }

    public int cpus()
    {
        return cpus;
    }

    @Override
    public void close()
    {
        try
        {
            out.close();
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
    }
}
