package palimpsest.golden;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * One golden trace: a packed reference recording ({@code NAME.pack}) and what it must replay to
 * ({@code NAME.golden}, a properties file). The {@code record} line is the {@code pal record} argument
 * list that produced it (without {@code -o}), so the trace can be made again when the kernel
 * changes on purpose; the other lines are facts about the recording the replay must reproduce.
 *
 * <pre>
 *  record   = --scenario word-count --schedule seeded --seed 1
 *  events   = 1234567          total events in the trace
 *  digest   = 0x1f2e...        final chained XXH64 digest of all chunks
 *  outcome  = 0                how the machine stopped (Outcome wire code)
 *  verdict  = good             the scenario's verdict (good / bad / skip)
 *  symptom  = ...              the verdict message (what went wrong, for bad runs)
 * </pre>
 */
public record GoldenTrace(Path dir, String name, List<String> recordArgs, long events, long digest, int outcome,
    String verdict, String symptom)
{
    public static final String SUFFIX = ".golden";

    public Path pack()
    {
        return dir.resolve(name + ".pack");
    }

    public Path file()
    {
        return dir.resolve(name + SUFFIX);
    }

    /** Every golden trace in dir, by name. */
    public static List<GoldenTrace> all(final Path dir) throws IOException
    {
        final List<GoldenTrace> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir))
        {
            for (final Path p : s.sorted().toList())
            {
                if (p.getFileName().toString().endsWith(SUFFIX))
                {
                    out.add(read(p));
                }
            }
        }
        return out;
    }

    public static GoldenTrace read(final Path file) throws IOException
    {
        final Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8))
        {
            p.load(r);
        }
        final String fileName = file.getFileName().toString();
        final String name = fileName.substring(0, fileName.length() - SUFFIX.length());
        final String record = required(p, "record", file);
        return new GoldenTrace(file.getParent(), name, Arrays.asList(record.trim().split("\\s+")),
            Long.parseLong(p.getProperty("events", "-1")), Long.parseUnsignedLong(p.getProperty("digest", "0x0").substring(2), 16),
            Integer.parseInt(p.getProperty("outcome", "-1")), p.getProperty("verdict", "?"), p.getProperty("symptom", ""));
    }

    /** The same golden trace with the facts of a new recording. */
    public GoldenTrace withFacts(final long events, final long digest, final int outcome, final String verdict,
        final String symptom)
    {
        return new GoldenTrace(dir, name, recordArgs, events, digest, outcome, verdict, symptom);
    }

    public void write() throws IOException
    {
        try (Writer w = Files.newBufferedWriter(file(), StandardCharsets.UTF_8))
        {
            w.write("# Golden trace " + name + " (" + name + ".pack). Made by the golden-traces regeneration run;\n");
            w.write("# see golden-traces/README.md before changing anything here by hand.\n");
            w.write("record = " + String.join(" ", recordArgs) + "\n");
            w.write("events = " + events + "\n");
            w.write("digest = 0x" + Long.toHexString(digest) + "\n");
            w.write("outcome = " + outcome + "\n");
            w.write("verdict = " + verdict + "\n");
            w.write("symptom = " + symptom.replace("\n", " ") + "\n");
        }
    }

    private static String required(final Properties p, final String key, final Path file)
    {
        final String v = p.getProperty(key);
        if (v == null || v.isBlank())
        {
            throw new IllegalArgumentException(file + ": missing '" + key + "'");
        }
        return v;
    }
}
