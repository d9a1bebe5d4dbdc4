package palimpsest.trace;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Development aid: re-encodes a recorded trace chunk by chunk and prints the encoded bytes per
 * event, by kind and size (java -cp ... palimpsest.trace.EncodingStats TRACE...).
 */
public final class EncodingStats
{
    public static void main(final String[] args)
    {
        for (final String a : args)
        {
            final Map<String, long[]> by = new TreeMap<>();
            final ChunkEncoder enc = new ChunkEncoder();
            long events = 0;
            long bytes = 0;
            try (TraceReader r = TraceReader.open(Path.of(a)))
            {
                final Event e = new Event();
                while (r.next(e))
                {
                    final int before = enc.payloadLength();
                    e.writeTo(enc);
                    final int n = enc.payloadLength() - before;
                    final String k = EventKind.name(e.kind()) + (e.isAccess() ? "." + e.size() : "");
                    final long[] c = by.computeIfAbsent(k, x -> new long[2]);
                    c[0]++;
                    c[1] += n;
                    events++;
                    bytes += n;
                    if (enc.isFull())
                    {
                        enc.reset();
                    }
                }
            }
            System.out.printf(Locale.ROOT, "%s: %d events, %.3f bytes/event%n", a, events, bytes / (double)events);
            final long ev = events;
            final long by2 = bytes;
            by.forEach((k, c) -> System.out.printf(Locale.ROOT, "  %-14s %5.1f%% of events %6.2f B/ev  %5.1f%% of bytes%n",
                k, 100.0 * c[0] / ev, c[1] / (double)c[0], 100.0 * c[1] / by2));
        }
    }
}
