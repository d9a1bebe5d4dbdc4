package palimpsest.cli.timeline;

/**
 * Where a {@link Timeline} goes: a Chrome trace-event JSON stream or an SVG picture. Tracks are
 * (node, tid): tid is the global cpu id for a cpu, {@link palimpsest.trace.EventKind#deviceId} for a
 * node's NIC. Timestamps are event numbers. Slices on one track nest strictly (every {@link #end}
 * closes the innermost open {@link #begin}); every flow id has one start and one finish, and each
 * sits on a track inside an open slice (or a {@link #complete} one at the same timestamp).
 * Args are key/value pairs, values already strings.
 */
public interface TimelineSink
{
    /** Names a track of a node (the first call for a node names the node too). */
    void track(int node, int tid, String name);

    void begin(int node, int tid, long ts, String name, String category, String... args);

    void end(int node, int tid, long ts);

    /** A slice of known duration that holds nothing (a NIC's send or delivery). */
    void complete(int node, int tid, long ts, long duration, String name, String category, String... args);

    /** A marker on one track; global when tid is negative. */
    void instant(int node, int tid, long ts, String name, String category, String... args);

    /** One end of an arrow: start is the sender's side. */
    void flow(boolean start, long id, int node, int tid, long ts, String name, String category);

    /** The last call: what the timeline covers and the trace's status line. */
    void finish(long firstTs, long lastTs, String traceStatus);
}
