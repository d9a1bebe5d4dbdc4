package palimpsest.hunt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.Verdict;

/**
 * DIR/manifest.tsv: one line per finished run, appended (and written through to the file) the
 * moment the run's trace, if kept, is in place, so a campaign stopped at any point (Ctrl-C, a
 * kill) keeps every run it finished and {@code --resume} skips exactly those. A line cut short by
 * a kill has no newline: it is not a run, and is dropped when the campaign resumes.
 *
 * <pre>
 *  seed  kind  digest            events  trace            signature                 verdict
 *  17    BAD   3f0c...(16 hex)   868633  traces/seed-17   __d_lookup | bad: oops..  bad: oops in __d_lookup: ...
 *  18    GOOD  91aa...           1653452 -                -                         good: clean power-off ...
 * </pre>
 */
public final class Manifest implements AutoCloseable
{
    public static final String FILE = "manifest.tsv";
    private static final String HEADER = "# seed\tkind\tdigest\tevents\ttrace\tsignature\tverdict\n";

    /** One finished run as the manifest holds it. */
    public record Entry(long seed, Verdict.Kind kind, long digest, long events, String trace, String signature, String verdict)
    {
        public boolean failed()
        {
            return kind != Verdict.Kind.GOOD;
        }

        String line()
        {
            return seed + "\t" + kind + "\t" + String.format("%016x", digest) + "\t" + events + "\t" +
                (trace == null ? "-" : trace) + "\t" + field(signature) + "\t" + field(verdict) + "\n";
        }

        private static String field(final String s)
        {
            return s == null || s.isEmpty() ? "-" : s.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
        }

        static Entry parse(final String line)
        {
            final String[] f = line.split("\t", -1);
            if (f.length != 7)
            {
                throw new IllegalArgumentException("want 7 tab-separated fields, got " + f.length);
            }
            return new Entry(Long.parseLong(f[0]), Verdict.Kind.valueOf(f[1]), Long.parseUnsignedLong(f[2], 16),
                Long.parseLong(f[3]), "-".equals(f[4]) ? null : f[4], "-".equals(f[5]) ? "" : f[5], f[6]);
        }
    }

    private final FileChannel channel;

    private Manifest(final FileChannel channel)
    {
        this.channel = channel;
    }

    /**
     * Opens DIR/manifest.tsv for appending (created with its header if absent). A torn last line is
     * cut off first.
     */
    public static Manifest open(final Path dir)
    {
        final Path f = dir.resolve(FILE);
        try
        {
            final boolean fresh = !Files.exists(f);
            final FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
            final long whole = wholeLength(f);
            ch.truncate(whole);
            ch.position(whole);
            final Manifest m = new Manifest(ch);
            if (fresh || whole == 0)
            {
                m.write(HEADER);
            }
            return m;
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot open " + f + ": " + e.getMessage(), e);
        }
    }

    /** Appends one entry; on return it is in the file (the OS has it, a killed JVM cannot lose it). */
    public synchronized void append(final Entry e)
    {
        write(e.line());
    }

    private void write(final String s)
    {
        try
        {
            final ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining())
            {
                channel.write(b);
            }
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot append to the manifest: " + e.getMessage(), e);
        }
    }

    /**
     * The entries of DIR/manifest.tsv (empty if it does not exist), in file order; a torn last
     * line is ignored.
     *
     * @throws IllegalArgumentException for a whole line that does not parse.
     */
    public static List<Entry> read(final Path dir)
    {
        final Path f = dir.resolve(FILE);
        final List<Entry> entries = new ArrayList<>();
        if (!Files.exists(f))
        {
            return entries;
        }
        final String text;
        try
        {
            text = new String(Files.readAllBytes(f), StandardCharsets.UTF_8);
        }
        catch (final IOException e)
        {
            throw new IllegalArgumentException("cannot read " + f + ": " + e.getMessage());
        }
        final int end = text.lastIndexOf('\n') + 1;
        int lineNo = 0;
        for (final String line : text.substring(0, end).split("\n"))
        {
            lineNo++;
            if (line.isEmpty() || line.startsWith("#"))
            {
                continue;
            }
            try
            {
                entries.add(Entry.parse(line));
            }
            catch (final RuntimeException e)
            {
                throw new IllegalArgumentException(f + " line " + lineNo + " is not a manifest entry: " + e.getMessage());
            }
        }
        return entries;
    }

    private static long wholeLength(final Path f) throws IOException
    {
        final byte[] b = Files.readAllBytes(f);
        int end = b.length;
        while (end > 0 && b[end - 1] != '\n')
        {
            end--;
        }
        return end;
    }

    @Override
    public void close()
    {
        try
        {
            channel.close();
        }
        catch (final IOException ignored)
        {
            // nothing left to write
        }
    }
}
