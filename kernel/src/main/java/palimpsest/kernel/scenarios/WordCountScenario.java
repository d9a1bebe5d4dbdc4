package palimpsest.kernel.scenarios;

import palimpsest.emulator.ScenarioArg;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import palimpsest.emulator.Machine;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.input.SplitMix64;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.programs.WordCount;

/**
 * word-count: the Phoenix word_count-pthread workload of the LegoOS diary. Threads share an
 * address space, grow buffers with mremap and compare strings; the verdict compares the program's
 * output with counts computed here, independently, from the same generated text.
 * Arguments: threads (default 4), words (default 3000), text-seed (default 42).
 */
public final class WordCountScenario extends KernelScenario
{
    private static final String[] SYLLABLES = {
        "ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "do", "zu", "fe", "go", "ha", "ji", "wu"
    };

    @Override
    public String name()
    {
        return "word-count";
    }

    @Override
    public String description()
    {
        return "Phoenix word_count-pthread: clone threads, mremap-grown buffers, strcmp, merged top counts (args threads, words, vocab, text-seed, passes)";
    }

    /** The input text: words from a fixed vocabulary with a skewed distribution, lines of ~12 words. */
    public static String text(final long seed, final int words)
    {
        return text(seed, words, 300);
    }

    /** The input text over a vocabulary of the given size (more distinct words: arrays grow by mremap more often). */
    public static String text(final long seed, final int words, final int vocabulary)
    {
        return new String(textBytes(seed, words, vocabulary), StandardCharsets.US_ASCII);
    }

    /**
     * The input text as the ASCII bytes of the file: written straight into one array, since every
     * load of the machine (record, replay, and pal state or who-wrote, which only read its image)
     * makes it, and a long run's text is tens of MB.
     */
    public static byte[] textBytes(final long seed, final int words, final int vocabulary)
    {
        synchronized (WordCountScenario.class)
        {
            final Object[] last = lastText == null ? null : lastText.get();
            if (last != null && (long)last[0] == seed && (int)last[1] == words && (int)last[2] == vocabulary)
            {
                return ((byte[])last[3]).clone();
            }
        }
        final byte[] text = makeText(seed, words, vocabulary);
        synchronized (WordCountScenario.class)
        {
            lastText = new java.lang.ref.SoftReference<>(new Object[] {seed, words, vocabulary, text.clone()});
        }
        return text;
    }

    /**
     * The last text made (seed, words, vocabulary, bytes), kept softly: a process that loads the
     * same machine again (pal gdb going to another event, the bench) skips the 7.5 M draws of a
     * 2.5 M-word text. The caller gets its own copy.
     */
    private static java.lang.ref.SoftReference<Object[]> lastText;

    private static byte[] makeText(final long seed, final int words, final int vocabulary)
    {
        final SplitMix64 rng = new SplitMix64(seed);
        final byte[][] vocab = new byte[vocabulary][];
        int longest = 0;
        for (int i = 0; i < vocabulary; i++)
        {
            final int syl = 1 + (int)rng.below(4);
            final StringBuilder w = new StringBuilder();
            for (int s = 0; s < syl; s++)
            {
                w.append(SYLLABLES[(int)rng.below(SYLLABLES.length)]);
            }
            vocab[i] = w.toString().getBytes(StandardCharsets.US_ASCII);
            longest = Math.max(longest, vocab[i].length);
        }
        byte[] out = new byte[Math.max(16, (int)Math.min(Integer.MAX_VALUE - 16, (long)words * 8))];
        int n = 0;
        for (int i = 0; i < words; i++)
        {
            if (n + longest + 2 > out.length)
            {
                out = java.util.Arrays.copyOf(out, (int)Math.min(Integer.MAX_VALUE - 16, out.length * 2L));
            }
            // Skewed: the minimum of two uniform picks favours low indices.
            final int a = (int)rng.below(vocabulary);
            final int b = (int)rng.below(vocabulary);
            final byte[] w = vocab[Math.min(a, b)];
            System.arraycopy(w, 0, out, n, w.length);
            n += w.length;
            if (i % 12 == 11)
            {
                out[n++] = '.';
                out[n++] = '\n';
            }
            else if (rng.below(9) == 0)
            {
                out[n++] = ',';
                out[n++] = ' ';
            }
            else
            {
                out[n++] = ' ';
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** The expected console lines, computed without the emulator. */
    public static List<String> expectedLines(final String text)
    {
        return expectedLines(text, 1);
    }

    /** As {@link #expectedLines(String)} for a word_count that counts the text {@code passes} times. */
    public static List<String> expectedLines(final String text, final long passes)
    {
        final Map<String, Long> counts = new TreeMap<>();
        long total = 0;
        int i = 0;
        while (i < text.length())
        {
            while (i < text.length() && !(text.charAt(i) >= 'a' && text.charAt(i) <= 'z'))
            {
                i++;
            }
            final int s = i;
            while (i < text.length() && text.charAt(i) >= 'a' && text.charAt(i) <= 'z')
            {
                i++;
            }
            if (i > s)
            {
                final String w = text.substring(s, Math.min(i, s + WordCount.MAX_WORD));
                counts.merge(w, passes, Long::sum);
                total += passes;
            }
        }
        final List<String> out = new ArrayList<>();
        out.add("word_count: " + total + " words, " + counts.size() + " distinct");
        final List<Map.Entry<String, Long>> es = new ArrayList<>(counts.entrySet());
        es.sort((x, y) -> x.getValue().equals(y.getValue()) ? x.getKey().compareTo(y.getKey()) : Long.compare(y.getValue(), x.getValue()));
        for (int r = 0; r < WordCount.TOP && r < es.size(); r++)
        {
            out.add(es.get(r).getKey() + ": " + es.get(r).getValue());
        }
        return out;
    }

    private static String text(final ScenarioContext context)
    {
        return new String(textBytes(context), StandardCharsets.US_ASCII);
    }

    private static byte[] textBytes(final ScenarioContext context)
    {
        return textBytes(context.longArg("text-seed", 42), (int)context.longArg("words", 3000), (int)context.longArg("vocab", 300));
    }

    @Override
    protected List<ScenarioArg> scenarioArgs()
    {
        return List.of(
            ScenarioArg.number("threads", "4", "worker threads cloned by word_count", 1, WordCount.MAX_THREADS),
            ScenarioArg.number("words", "3000", "words in the generated input text"),
            ScenarioArg.number("vocab", "300", "distinct words in the generated text"),
            ScenarioArg.number("text-seed", "42", "seed of the generated input text"),
            ScenarioArg.number("passes", "1", "times each thread counts its part of the text (a soak: longer, same memory)", 1,
                1_000_000));
    }

    @Override
    protected void configure(final KernelConfig config, final ScenarioContext context, final Machine machine)
    {
        config.file("/data/words.txt", textBytes(context));
        config.program(new WordCount((int)context.longArg("threads", 4), (int)context.longArg("passes", 1)));
        config.init("/bin/word_count");
    }

    @Override
    protected String[] expected(final ScenarioContext context, final Machine machine)
    {
        final String text = text(context);
        final List<String> lines = expectedLines(text, Math.max(1, context.longArg("passes", 1)));
        final List<String> want = new ArrayList<>();
        for (int c = 0; c < machine.config().cpusPerNode; c++)
        {
            want.add("CPU " + c + " is up");
        }
        for (final String l : lines)
        {
            want.add("\n" + l + "\n");
        }
        want.add("reboot: Power down");
        return want.toArray(new String[0]);
    }
}
