package palimpsest.trace;

/** What a {@link TraceReader} found, so far, about the trace as a whole. */
public enum TraceStatus
{
    /** Not at the end yet. */
    READING,
    /** End record seen, every chunk digest chained and the end record's totals and digest match. */
    COMPLETE,
    /** No end record: the recording did not finish (killed). Every whole chunk was read. */
    TRUNCATED,
    /** A chunk or record failed to decode or to match its digest: reading stopped before it. */
    DAMAGED
}
