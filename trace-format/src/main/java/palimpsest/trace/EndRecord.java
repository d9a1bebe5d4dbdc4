package palimpsest.trace;

import java.nio.charset.StandardCharsets;

/**
 * Last excerpt of a finished trace.
 * <pre>
 *  0    1    2      4          8             16            24            32         36          36+len
 *  +----+----+------+----------+-------------+-------------+-------------+----------+---------+--------+
 *  |'E' |0   |0     | outcome  | total events| total chunks| final digest| msg len  | message | digest |
 *  | u8 | u8 | u16  | i32      | u64         | u64         | u64         | u32      | UTF-8   | u64    |
 *  +----+----+------+----------+-------------+-------------+-------------+----------+---------+--------+
 *  digest = XXH64(bytes 0 .. 36+len-1, seed = END_DIGEST_SEED)
 * </pre>
 */
public final class EndRecord
{
    private final int outcomeCode;
    private final String outcomeMessage;
    private final long totalEvents;
    private final long totalChunks;
    private final long finalDigest;

    public EndRecord(final int outcomeCode, final String outcomeMessage, final long totalEvents,
        final long totalChunks, final long finalDigest)
    {
        this.outcomeCode = outcomeCode;
        this.outcomeMessage = outcomeMessage == null ? "" : outcomeMessage;
        this.totalEvents = totalEvents;
        this.totalChunks = totalChunks;
        this.finalDigest = finalDigest;
    }

    public int outcomeCode()
    {
        return outcomeCode;
    }

    public String outcomeMessage()
    {
        return outcomeMessage;
    }

    public long totalEvents()
    {
        return totalEvents;
    }

    public long totalChunks()
    {
        return totalChunks;
    }

    public long finalDigest()
    {
        return finalDigest;
    }

    byte[] encode()
    {
        final byte[] msg = outcomeMessage.getBytes(StandardCharsets.UTF_8);
        final byte[] b = new byte[TraceFormat.END_FIXED_LENGTH + msg.length + 8];
        b[TraceFormat.END_TYPE] = TraceFormat.RECORD_END;
        Bits.putInt(b, TraceFormat.END_OUTCOME, outcomeCode);
        Bits.putLong(b, TraceFormat.END_EVENTS, totalEvents);
        Bits.putLong(b, TraceFormat.END_CHUNKS, totalChunks);
        Bits.putLong(b, TraceFormat.END_DIGEST, finalDigest);
        Bits.putInt(b, TraceFormat.END_MESSAGE_LENGTH, msg.length);
        System.arraycopy(msg, 0, b, TraceFormat.END_FIXED_LENGTH, msg.length);
        final int body = b.length - 8;
        Bits.putLong(b, body, Hash64.hash(b, 0, body, TraceFormat.END_DIGEST_SEED));
        return b;
    }

    /** Whether the bytes hold an end record whose digest matches (else it was changed after it was written). */
    static boolean digestMatches(final byte[] b, final int len)
    {
        return len >= TraceFormat.END_FIXED_LENGTH + 8 &&
            Bits.getLong(b, len - 8) == Hash64.hash(b, 0, len - 8, TraceFormat.END_DIGEST_SEED);
    }

    /** @return the record, or null if the bytes are not a well-formed end record. */
    static EndRecord decode(final byte[] b, final int len)
    {
        if (len < TraceFormat.END_FIXED_LENGTH + 8 || b[0] != TraceFormat.RECORD_END)
        {
            return null;
        }
        final int msgLen = Bits.getInt(b, TraceFormat.END_MESSAGE_LENGTH);
        if (msgLen != len - TraceFormat.END_FIXED_LENGTH - 8)
        {
            return null;
        }
        return new EndRecord(
            Bits.getInt(b, TraceFormat.END_OUTCOME),
            new String(b, TraceFormat.END_FIXED_LENGTH, msgLen, StandardCharsets.UTF_8),
            Bits.getLong(b, TraceFormat.END_EVENTS),
            Bits.getLong(b, TraceFormat.END_CHUNKS),
            Bits.getLong(b, TraceFormat.END_DIGEST));
    }

    @Override
    public String toString()
    {
        return "end{outcome=" + outcomeCode + (outcomeMessage.isEmpty() ? "" : " \"" + outcomeMessage + "\"") +
            ", events=" + totalEvents + ", chunks=" + totalChunks + ", digest=" + Long.toHexString(finalDigest) + "}";
    }
}
