package palimpsest.replayer.state;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.MachineConfig;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.recorder.image.LoadedImage;
import palimpsest.recorder.keyframe.KeyframeFile;
import palimpsest.recorder.keyframe.KeyframeReader;
import palimpsest.recorder.keyframe.KeyframeWriter;
import palimpsest.trace.DecodeAhead;
import palimpsest.trace.Event;
import palimpsest.trace.EventCursor;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceFormat;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceSeeker;
import palimpsest.trace.TraceStatus;

/**
 * The state at any event of a trace: the nearest keyframe at or before it ({@link KeyframeFile}),
 * then the events after it rolled forward with {@link TraceState#apply}. When the keyframes are
 * missing or damaged it rebuilds them in one streaming pass over the trace (and says so in
 * {@link #note()}); if they cannot be written it works from event 0.
 */
public final class StateIndex
{
    /** Why a state cannot be had: an event beyond the readable end of the trace. */
    public static final class BeyondEnd extends RuntimeException
    {
        public BeyondEnd(final String message)
        {
            super(message);
        }
    }

    private final Path trace;
    private final java.util.function.Supplier<ScenarioCatalog> catalogs;
    private ScenarioCatalog catalog;
    private final TraceHeader header;
    private final long every;
    private String note;
    private boolean keyframesUsable = true;
    private int keyframesUsed;

    private StateIndex(final Path trace, final java.util.function.Supplier<ScenarioCatalog> catalogs, final TraceHeader header,
        final long every, final LoadedImage image)
    {
        this.trace = trace;
        this.catalogs = catalogs;
        this.header = header;
        this.every = every;
        this.image = image;
    }

    /** The scenarios, asked for only when a machine must be loaded (no usable loaded image). */
    private ScenarioCatalog catalog()
    {
        if (catalog == null)
        {
            catalog = catalogs.get();
        }
        return catalog;
    }

    /** The trace's loaded image (symbols, boot registers, RAM before event 0), or null: then a machine is loaded. */
    private LoadedImage image;

    /**
     * @throws palimpsest.trace.TraceException for an unreadable trace
     * @throws IllegalArgumentException (one line) for a scenario this pal lacks
     */
    public static StateIndex open(final Path trace, final ScenarioCatalog catalog)
    {
        return open(trace, catalog, KeyframeFile.DEFAULT_EVERY);
    }

    /** As {@link #open(Path, ScenarioCatalog)}; a rebuild puts a keyframe every rebuildEvery events. */
    public static StateIndex open(final Path trace, final ScenarioCatalog catalog, final long rebuildEvery)
    {
        final TraceHeader h = TraceSeeker.header(trace);
        if (catalog.find(h.scenario()) == null)
        {
            throw new IllegalArgumentException("the trace was recorded with scenario '" + h.scenario() +
                "', which this pal does not have (a plugin? pass --plugin JAR)");
        }
        return new StateIndex(trace, () -> catalog, h, rebuildEvery, null);
    }

    /**
     * For queries: with the trace's loaded image ({@link ScenarioCatalog#imageOf}, made and kept
     * beside the trace when missing) no scenario is loaded, and {@link #view} reads only the pages
     * it needs; the catalog is asked only when there is no image to be had.
     *
     * @throws IllegalArgumentException (one line) for a scenario this pal lacks, when there is no image
     */
    public static StateIndex open(final Path trace, final java.util.function.Supplier<ScenarioCatalog> catalogs)
    {
        final TraceHeader h = TraceSeeker.header(trace);
        final LoadedImage img = ScenarioCatalog.imageOf(trace, h, catalogs);
        if (img == null && catalogs.get().find(h.scenario()) == null)
        {
            throw new IllegalArgumentException("the trace was recorded with scenario '" + h.scenario() +
                "', which this pal does not have (a plugin? pass --plugin JAR)");
        }
        return new StateIndex(trace, catalogs, h, KeyframeFile.DEFAULT_EVERY, img);
    }

    /** The loaded image the views read (null: none, they are flat states of a loaded machine). */
    public LoadedImage image()
    {
        return image;
    }

    /**
     * The state after events 0..n-1, read lazily: the registers of the keyframe at or before n, then
     * the gap rolled; a page is filled from that keyframe's copy (else the loaded image) only when
     * the gap writes it or the caller reads it ({@link TraceState#readPhys}), so the cost and memory
     * are the gap's and the pages looked at, whatever the trace's length or RAM. Reads event n into
     * next as {@link #at(long, Event)} does. A reuse state at or before n on the same keyframe is
     * rolled on instead. Without a loaded image this is {@link #at(long, Event, TraceState)}.
     */
    public TraceState view(final long n, final Event next, final TraceState reuse)
    {
        if (n < 0)
        {
            throw new IllegalArgumentException("event number must be >= 0: " + n);
        }
        final KeyframeIndex ki = keyframeIndex();
        if (image == null || (ki == null && keyframesUsable))
        {
            return at(n, next, reuse != null && reuse.isPaged() ? null : reuse);
        }
        final int k = ki == null ? -1 : ki.before(n);
        if (reuse != null && reuse.isPaged() && reuse.baseKeyframe == k && reuse.position() <= n)
        {
            return roll(reuse, n, next);
        }
        final LoadedImage img = image;
        final TraceState st = TraceState.paged(header, img, (node, page, dst) ->
        {
            if (k < 0 || !ki.page(k, node, page, dst))
            {
                img.page(node, page, dst, 0);
            }
        });
        st.baseKeyframe = k;
        keyframesUsed = k + 1;
        if (k >= 0)
        {
            ki.applyRegs(k, st);
        }
        try
        {
            return roll(st, n, next);
        }
        catch (final KeyframeIndex.PageDamaged e)
        {
            // Damaged since the index was built: drop both, rebuild, and read the flat way.
            dropIndex();
            rebuild(e.getMessage());
            return at(n, next);
        }
    }

    public TraceHeader header()
    {
        return header;
    }

    /** What happened to the keyframes ("rebuilt: ..."), or null if they were used as recorded. */
    public String note()
    {
        return note;
    }

    /** Keyframes applied by the last {@link #at}. */
    public int keyframesUsed()
    {
        return keyframesUsed;
    }

    /**
     * The state after events 0..n-1.
     *
     * @throws BeyondEnd if the trace holds fewer than n readable events (one-line message)
     */
    public TraceState at(final long n)
    {
        return at(n, null);
    }

    /**
     * As {@link #at(long)}, and reads event n itself into next (its index is -1 when the trace
     * ends at n): the event a report looks at with the state just before it.
     */
    public TraceState at(final long n, final Event next)
    {
        if (n < 0)
        {
            throw new IllegalArgumentException("event number must be >= 0: " + n);
        }
        TraceState st = TraceState.initial(header, catalog());
        final KeyframeIndex ki = keyframeIndex();
        if (ki != null)
        {
            final int k = ki.before(n);
            keyframesUsed = k + 1;
            if (k >= 0)
            {
                try
                {
                    ki.apply(k, st);
                }
                catch (final KeyframeReader.Unusable e)
                {
                    // Damaged since the index was built: drop both and start again the slow way.
                    dropIndex();
                    rebuild(e.getMessage());
                    st = TraceState.initial(header, catalog());
                    keyframesUsed = 0;
                }
            }
        }
        if (ki == null && keyframesUsable)
        {
            try
            {
                applyKeyframes(st, n);
            }
            catch (final KeyframeReader.Unusable e)
            {
                rebuild(e.getMessage());
                st = TraceState.initial(header, catalog());
                if (keyframesUsable)
                {
                    try
                    {
                        applyKeyframes(st, n);
                    }
                    catch (final KeyframeReader.Unusable again)
                    {
                        keyframesUsable = false;
                        note = "keyframes unusable after rebuild (" + again.getMessage() + "); read from event 0";
                        st = TraceState.initial(header, catalog());
                    }
                }
            }
        }
        return roll(st, n, next);
    }

    /**
     * As {@link #at(long, Event)}, going forward from a state an earlier call returned (reuse, at or
     * before n; null for none): the keyframe at or before n is applied over it when it is later than
     * reuse's position (every page changed since the loaded machine has its last copy at or before
     * that keyframe), then the gap is rolled. One machine's memory serves a whole series of events.
     */
    public TraceState at(final long n, final Event next, final TraceState reuse)
    {
        final KeyframeIndex ki = keyframeIndex();
        if (reuse == null || reuse.position() > n || ki == null)
        {
            return at(n, next);
        }
        final int k = ki.before(n);
        if (k >= 0 && ki.position(k) > reuse.position())
        {
            try
            {
                ki.apply(k, reuse);
                keyframesUsed = k + 1;
            }
            catch (final KeyframeReader.Unusable e)
            {
                return at(n, next);
            }
        }
        return roll(reuse, n, next);
    }

    /** Applies the events from st's position up to n, then reads event n into next. */
    private TraceState roll(final TraceState st, final long n, final Event next)
    {
        // Straight from the queue file through the chunk table: no Chronicle start, no walk of every chunk header.
        try (EventCursor reader = TraceSeeker.cursor(trace))
        {
            if (st.position() > 0 && !reader.seek(st.position()))
            {
                if (st.position() < n)
                {
                    throw beyond(n);
                }
                if (next != null)
                {
                    next.index(-1); // at the very end: no event n
                }
                return st;
            }
            st.advanceTo(reader, new Event(), n);
            if (st.position() < n)
            {
                throw beyond(n);
            }
            if (next != null && !reader.next(next))
            {
                next.index(-1);
            }
        }
        return st;
    }

    private KeyframeIndex index;

    /** The random-access index of the keyframes, built when missing or stale; null when unusable. */
    private KeyframeIndex keyframeIndex()
    {
        if (!keyframesUsable)
        {
            return null;
        }
        if (index != null)
        {
            return index;
        }
        // From the header, not a loaded machine: that would cost the machine's RAM once more.
        final int nodes = header.nodes();
        final int cpus = header.cpuCount();
        index = KeyframeIndex.open(trace, cpus, header.digest());
        for (int attempt = 0; index == null && attempt < 2 && keyframesUsable; attempt++)
        {
            try
            {
                KeyframeIndex.build(trace, nodes, cpus, pagesPerNode(), header.digest(), this::checkBelongs);
                index = KeyframeIndex.open(trace, cpus, header.digest());
                if (index == null)
                {
                    return null; // written but not readable back (a full disk): the sequential path still works
                }
            }
            catch (final KeyframeReader.Unusable e)
            {
                if (attempt == 0 && !e.getMessage().startsWith("cannot write"))
                {
                    rebuild(e.getMessage());
                }
                else
                {
                    return null;
                }
            }
        }
        return index;
    }

    private void dropIndex()
    {
        index = null;
        try
        {
            Files.deleteIfExists(KeyframeIndex.of(trace));
        }
        catch (final IOException ignored)
        {
            // stale anyway: its fingerprint no longer matches once the keyframes are rebuilt
        }
    }

    /**
     * What the trace held when the keyframe index was built (the trace is unchanged since), or null
     * when there is no usable index (then verify the trace).
     */
    public TraceExtent extent()
    {
        final KeyframeIndex ki = keyframeIndex();
        return ki == null ? null : ki.extent();
    }

    /**
     * The event positions of the keyframes, ascending (each keyframe is the state after that many
     * events); rebuilds damaged or missing keyframes first, as {@link #at} does. Empty when they
     * are unusable (then every state is read from event 0).
     */
    public List<Long> keyframePositions()
    {
        for (int attempt = 0; attempt < 2 && keyframesUsable; attempt++)
        {
            final List<Long> out = new ArrayList<>();
            final MachineConfig c = ScenarioCatalog.configOf(header);
            try (KeyframeReader kr = KeyframeReader.open(KeyframeFile.of(trace), c.nodes, c.totalCpus(), pagesPerNode(), header.digest()))
            {
                final KeyframeReader.Keyframe k = new KeyframeReader.Keyframe();
                while (kr.next(k))
                {
                    checkBelongs(k, out.size());
                    out.add(k.position);
                }
                return out;
            }
            catch (final KeyframeReader.Unusable e)
            {
                if (attempt == 0)
                {
                    rebuild(e.getMessage());
                }
                else
                {
                    keyframesUsable = false;
                    note = "keyframes unusable after rebuild (" + e.getMessage() + "); read from event 0";
                }
            }
        }
        return new ArrayList<>();
    }

    private BeyondEnd beyond(final long n)
    {
        long readable = 0;
        try (TraceReader reader = TraceReader.open(trace))
        {
            final Event e = new Event();
            while (reader.next(e))
            {
                readable++;
            }
            return beyond(n, reader, readable);
        }
    }

    private static BeyondEnd beyond(final long n, final TraceReader reader, final long readable)
    {
        final TraceStatus s = reader.status();
        final String how = s == TraceStatus.COMPLETE ? "it has " + readable + " events" :
            s == TraceStatus.TRUNCATED ? "it is truncated: " + readable + " events in whole chunks (a killed recording)" :
            "it is damaged after event " + readable + (reader.statusMessage() != null ? " (" + reader.statusMessage() + ")" : "");
        return new BeyondEnd("event " + n + " is beyond the end of the trace: " + how +
            "; --at takes 0.." + readable);
    }

    private int pagesPerNode()
    {
        return (int)(((long)header.memMiB() << 20) / KeyframeFile.PAGE_SIZE);
    }

    private void applyKeyframes(final TraceState st, final long n) throws KeyframeReader.Unusable
    {
        final MachineConfig c = st.config();
        keyframesUsed = 0;
        try (KeyframeReader kr = KeyframeReader.open(KeyframeFile.of(trace), c.nodes, c.totalCpus(), pagesPerNode(), header.digest()))
        {
            final KeyframeReader.Keyframe k = new KeyframeReader.Keyframe();
            while (kr.next(k))
            {
                if (k.position > n)
                {
                    return;
                }
                if (k.position <= st.position())
                {
                    throw new KeyframeReader.Unusable("keyframe " + keyframesUsed + " out of order");
                }
                checkBelongs(k, keyframesUsed);
                for (int i = 0; i < k.pages; i++)
                {
                    st.memory(k.pageNode[i]).copyIn((long)k.pageNumber[i] * KeyframeFile.PAGE_SIZE, k.data,
                        i * KeyframeFile.PAGE_SIZE, KeyframeFile.PAGE_SIZE);
                }
                for (int cpu = 0; cpu < st.cpuCount(); cpu++)
                {
                    final int o = cpu * KeyframeFile.REGS_PER_CPU;
                    final long[] r = k.regs;
                    st.regs(cpu).set(r[o], r[o + 1], r[o + 2], r[o + 3], r[o + 4], r[o + 5], r[o + 6], (int)r[o + 7], r[o + 8]);
                }
                st.position(k.position);
                keyframesUsed++;
            }
        }
    }

    /** One streaming pass: writes keyframes every {@link #every} events to a new file, then moves it in place. */
    private void rebuild(final String why)
    {
        final Path tmp = trace.resolve(KeyframeFile.NAME + ".tmp");
        int written;
        try
        {
            final TraceState st = TraceState.initial(header, catalog());
            final MachineConfig c = st.config();
            final DirtyPages dirty = new DirtyPages(c.nodes, (long)c.memMiB << 20);
            st.trackDirty(dirty);
            // One streaming pass: decoded on the decode-ahead thread, applied (and keyframes written) on this one.
            try (DecodeAhead reader = DecodeAhead.open(trace);
                KeyframeWriter w = new KeyframeWriter(tmp, every, c.nodes, c.totalCpus(), pagesPerNode(), header.digest()))
            {
                Event e;
                while ((e = reader.next()) != null)
                {
                    st.apply(e);
                    if (st.position() % every == 0)
                    {
                        write(w, st, dirty);
                    }
                }
                written = w.keyframes();
            }
            Files.move(tmp, KeyframeFile.of(trace), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            note = "keyframes rebuilt (" + why + "): " + written + " in one pass";
        }
        catch (final IOException | UncheckedIOException e)
        {
            keyframesUsable = false;
            note = "keyframes unusable (" + why + ") and cannot be rebuilt here (" + e.getMessage() + "); read from event 0";
            try
            {
                Files.deleteIfExists(tmp);
            }
            catch (final IOException ignored)
            {
                // best effort
            }
        }
    }

    /** The trace's chunk table: where each chunk ends and its chained digest (loaded on first use). */
    private long[] chunkEnds;
    private long[] chunkDigests;

    private void loadChunks()
    {
        if (chunkEnds != null)
        {
            return;
        }
        try (TraceReader r = TraceReader.open(trace))
        {
            final int n = r.chunkCount();
            chunkEnds = new long[n];
            chunkDigests = new long[n];
            for (int k = 0; k < n; k++)
            {
                chunkEnds[k] = r.chunkFirstIndex(k) + r.chunkEvents(k);
                chunkDigests[k] = r.chunkDigest(k);
            }
        }
    }

    /** Chunks wholly before event position: the number of chunks whose last event is before it. */
    private int chunksBefore(final long position)
    {
        loadChunks();
        int k = 0;
        while (k < chunkEnds.length && chunkEnds[k] <= position)
        {
            k++;
        }
        return k;
    }

    /**
     * A keyframe applies to this trace only if the trace's chunks before it are the ones it was taken
     * after: the same chained digest at the chunk it names.
     */
    private void checkBelongs(final KeyframeReader.Keyframe k, final int i) throws KeyframeReader.Unusable
    {
        loadChunks();
        final boolean ok = k.chunks == 0 ? k.chunkDigest == TraceFormat.DIGEST_SEED :
            k.chunks > 0 && k.chunks <= chunkEnds.length && chunkEnds[(int)k.chunks - 1] <= k.position &&
            chunkDigests[(int)k.chunks - 1] == k.chunkDigest;
        if (!ok)
        {
            throw new KeyframeReader.Unusable("keyframe " + i + " of " + KeyframeFile.NAME +
                " belongs to another trace (its chunk digest differs from this trace's)");
        }
    }

    private void write(final KeyframeWriter w, final TraceState st, final DirtyPages dirty)
    {
        final int chunks = chunksBefore(st.position());
        w.begin(st.position(), chunks, chunks == 0 ? TraceFormat.DIGEST_SEED : chunkDigests[chunks - 1]);
        for (int cpu = 0; cpu < st.cpuCount(); cpu++)
        {
            final CpuRegs r = st.regs(cpu);
            w.regs(cpu, r.pc, r.icount, r.sp, r.fp, r.flags, r.cr3, r.cr2, r.cpl, r.fiber);
        }
        w.endRegs();
        for (int node = 0; node < dirty.nodes(); node++)
        {
            final byte[] mem = st.memory(node).array();
            for (int p = dirty.nextDirty(node, 0); p >= 0; p = dirty.nextDirty(node, p + 1))
            {
                w.page(node, p, mem);
            }
        }
        w.end();
        dirty.clear();
    }
}
