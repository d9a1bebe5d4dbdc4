package palimpsest.replayer.bisect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import palimpsest.replayer.Divergence;
import palimpsest.trace.Event;
import palimpsest.trace.TraceReader;

/**
 * The first event at which two recorded runs part, found without decoding the stretch they agree on.
 *
 * <p>Chunk digests are chained ({@code digest[k] = XXH64(payload[k], digest[k-1])}) and a chunk ends
 * where its content says (32 KiB of payload or 16 384 events), never on a clock, so two runs that
 * agree up to some event have identical chunks up to the chunk holding it. "Chunk k agrees" (same
 * first index, count and digest) is therefore true for a prefix of chunks and false after: a binary
 * search over chunk index finds the first chunk that differs, reading only chunk headers. From that
 * chunk on the two traces are compared event by event (the same applies when the chunk boundaries
 * never aligned, e.g. traces written with other chunk sizes: then the search finds chunk 0 and the
 * comparison is linear from the start).
 *
 * <p>The result is reported as a {@link Divergence} with the good trace as "recorded" and the bad
 * trace as "replayed", so the printer of {@code pal replay} reads it as is.
 */
public final class DivergenceBisect
{
    /** Recorded events of context kept before the divergence (as replay's verifier keeps). */
    public static final int CONTEXT = 8;

    /** What the search found. */
    public static final class Result
    {
        /** The first differing event, or null when the two traces hold the same events. */
        public final Divergence divergence;
        /** Events of both traces that agree (the index of the divergence, when there is one). */
        public final long agreeing;
        /** Chunks whose events were never decoded because their digests agreed. */
        public final int chunksSkipped;
        /** Header probes of the binary search. */
        public final int probes;
        /** Events decoded and compared one by one. */
        public final long eventsCompared;

        Result(final Divergence divergence, final long agreeing, final int chunksSkipped, final int probes,
            final long eventsCompared)
        {
            this.divergence = divergence;
            this.agreeing = agreeing;
            this.chunksSkipped = chunksSkipped;
            this.probes = probes;
            this.eventsCompared = eventsCompared;
        }
    }

    private DivergenceBisect()
    {
    }

    /**
     * Compares the good trace with the bad one.
     *
     * @throws palimpsest.trace.TraceException if either path is not a readable trace
     */
    public static Result run(final Path good, final Path bad)
    {
        try (TraceReader a = TraceReader.open(good); TraceReader b = TraceReader.open(bad))
        {
            return run(a, b);
        }
    }

    /** Compares two open readers (positioned anywhere; they are re-positioned). */
    public static Result run(final TraceReader a, final TraceReader b)
    {
        final int common = Math.min(a.chunkCount(), b.chunkCount());
        // First chunk that does not agree, by binary search over the monotone predicate.
        int lo = 0;
        int hi = common;
        int probes = 0;
        while (lo < hi)
        {
            final int mid = (lo + hi) >>> 1;
            probes++;
            if (chunkAgrees(a, b, mid))
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        final int firstDiffering = lo;
        final long start = firstDiffering == 0 ? 0 : a.chunkFirstIndex(firstDiffering - 1) + a.chunkEvents(firstDiffering - 1);
        // Start a few events earlier so the context before the divergence is at hand.
        final long from = Math.max(0, start - CONTEXT);
        // A reader that cannot reach 'from' holds no event there (an empty trace): it reads as ended.
        final boolean readA = a.seek(from);
        final boolean readB = b.seek(from);
        final Event ea = new Event();
        final Event eb = new Event();
        final Event[] ring = new Event[CONTEXT];
        for (int i = 0; i < CONTEXT; i++)
        {
            ring[i] = new Event();
        }
        long agreeing = from;
        long compared = 0;
        while (true)
        {
            final boolean hasA = readA && a.next(ea);
            final boolean hasB = readB && b.next(eb);
            if (!hasA && !hasB)
            {
                return new Result(null, agreeing, firstDiffering, probes, compared);
            }
            compared++;
            if (!hasA || !hasB || !ea.sameAs(eb))
            {
                final List<Event> before = new ArrayList<>();
                for (long i = Math.max(from, agreeing - CONTEXT); i < agreeing; i++)
                {
                    before.add(new Event().copyFrom(ring[(int)(i % CONTEXT)]));
                }
                final String reason = !hasA ? "the good trace ends here (" + a.statusMessage() + ") but the bad one goes on" :
                    !hasB ? "the bad trace ends here (" + b.statusMessage() + ") but the good one goes on" :
                    "the two runs record different events";
                final Divergence d = new Divergence(agreeing, hasA ? new Event().copyFrom(ea) : null,
                    hasB ? new Event().copyFrom(eb) : null, before, reason);
                return new Result(d, agreeing, firstDiffering, probes, compared);
            }
            ring[(int)(agreeing % CONTEXT)].copyFrom(ea);
            agreeing++;
        }
    }

    private static boolean chunkAgrees(final TraceReader a, final TraceReader b, final int k)
    {
        return a.chunkDigest(k) == b.chunkDigest(k) && a.chunkFirstIndex(k) == b.chunkFirstIndex(k) &&
            a.chunkEvents(k) == b.chunkEvents(k);
    }
}
