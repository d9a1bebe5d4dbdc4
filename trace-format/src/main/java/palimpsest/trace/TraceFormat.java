package palimpsest.trace;

/**
 * Constants of the on-disk trace format. See the module README for the full byte layout.
 *
 * <p>A trace is one Chronicle Queue directory whose excerpts are, in order:
 * <pre>
 *   excerpt 0      HEADER   starts with {@link #MAGIC} "PALIMPST", then {@link #VERSION}  (see {@link TraceHeader})
 *   excerpt 1..n   CHUNK    starts with {@link #RECORD_CHUNK} 'C': chunk header + encoded events
 *   excerpt n+1    END      starts with {@link #RECORD_END} 'E' (absent if the recording died)
 * </pre>
 * All multi-byte fixed-width integers are little-endian.
 *
 * <p>Versioning rule: {@link #VERSION} is bumped whenever a reader of the previous version could
 * misread a trace written by this one (new tag, changed field, changed record). Readers accept every
 * version up to their own and refuse newer ones with a one-line message.
 */
public final class TraceFormat
{
    /** First 8 bytes of the header excerpt: ASCII "PALIMPST". Stored as these bytes, in this order. */
    public static final long MAGIC = 0x5453504d494c4150L; // "PALIMPST" read as a little-endian long

    /** Format version written by this code. */
    public static final int VERSION = 3;

    /** First byte of a chunk excerpt. */
    public static final byte RECORD_CHUNK = 'C';
    /** First byte of the end excerpt. */
    public static final byte RECORD_END = 'E';

    /** Chunk header length in bytes (the encoded events follow). */
    public static final int CHUNK_HEADER_LENGTH = 40;
    /** A chunk is appended once its encoded events reach this many bytes... */
    public static final int CHUNK_TARGET_BYTES = 32 * 1024;
    /** ...or this many events, whichever comes first. */
    public static final int CHUNK_MAX_EVENTS = 16 * 1024;

    /** Seed of the running digest before the first chunk. */
    public static final long DIGEST_SEED = 0x9E3779B97F4A7C15L;

    /** Length of the end excerpt without its outcome message bytes and its digest. */
    public static final int END_FIXED_LENGTH = 36;
    /** Every header and end record ends with this u64: XXH64 of the bytes before it, seeded so. */
    static final long HEADER_DIGEST_SEED = 0x50414C48454144L; // "PALHEAD"
    static final long END_DIGEST_SEED = 0x50414C454E44L; // "PALEND"
    /** The first version whose header, chunk headers and end record are all covered by digests. */
    public static final int FIRST_DIGESTED_VERSION = 2;
    /**
     * For each older format, the last pal (its git commit) that reads it: [1] and [2]. A reader reads
     * exactly its own version, since each bump changed what the bytes of a chunk mean.
     */
    private static final String[] LAST_READER = {"", "0bda3ef", "35de8b3"};

    /** The one-line refusal of a trace of an older format version (the trace's path is added by the reader). */
    static String olderFormat(final int version)
    {
        final String pal = version >= 1 && version < LAST_READER.length ? "pal " + LAST_READER[version] +
            " (git commit, the last that reads it)" : "an older pal";
        return "trace recorded by format " + version + ": re-record it or use " + pal;
    }

    // Chunk header field offsets.
    static final int CH_TYPE = 0;
    static final int CH_FLAGS = 1;
    static final int CH_RESERVED = 2;
    static final int CH_COUNT = 4;
    static final int CH_SEQUENCE = 8;
    static final int CH_FIRST_INDEX = 16;
    static final int CH_INPUTS = 24;
    static final int CH_PAYLOAD_LENGTH = 28;
    static final int CH_DIGEST = 32;

    // End record field offsets.
    static final int END_TYPE = 0;
    static final int END_OUTCOME = 4;
    static final int END_EVENTS = 8;
    static final int END_CHUNKS = 16;
    static final int END_DIGEST = 24;
    static final int END_MESSAGE_LENGTH = 32;

    /**
     * The chained digest of one chunk: its header's fields (bytes 0..31, everything before the digest
     * itself) then its payload, seeded with the previous chunk's digest. Events alone decide all of it,
     * so a recording and a replay of the same events still have the same digests.
     */
    static long chunkDigest(final byte[] chunk, final int payloadLength, final long previous)
    {
        final long h = Hash64.hash(chunk, 0, CH_DIGEST, previous);
        return Hash64.hash(chunk, CHUNK_HEADER_LENGTH, payloadLength, h);
    }

    private TraceFormat()
    {
    }
}
