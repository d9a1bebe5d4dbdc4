package palimpsest.recorder.keyframe;

import java.nio.file.Path;

/**
 * Keyframes of a trace: the machine state after every K events, so that the state at any event is
 * the nearest keyframe at or before it plus the events after it. Stored next to the trace as
 * {@code TRACE/keyframes.kryo}; the trace stays readable without it, and a missing or damaged file
 * is rebuilt from the trace in one streaming pass.
 *
 * <p>Each keyframe holds the registers of every cpu and the 4 KiB physical pages written since the
 * previous keyframe (page-granular delta; "keyframe 0" is implicit: the machine the header
 * describes, loaded but not run). Integers are Kryo's fixed-width little-endian writes.
 * <pre>
 *  file header (40 bytes)
 *   +0   long   magic 0x50414C4B45594631 ("PALKEYF1")
 *   +8   int    version (2)
 *   +12  long   every: events between keyframes (K)
 *   +20  int    nodes
 *   +24  int    cpus
 *   +28  int    pages per node
 *   +32  long   the digest of the trace's header ({@code TraceHeader.digest()})
 *  then keyframes, in order of position:
 *   +0   int    length L of the body
 *   +4   body (L bytes):
 *          long   position n: the state after events 0..n-1
 *          long   chunks c: the trace's chunks wholly before event n
 *          long   the chained digest of chunk c-1 (the trace's seed digest when c = 0)
 *          cpus x 9 longs: pc, icount, sp, fp, flags, cr3, cr2, cpl, fiber
 *          int    page count P
 *          P x (int node, int page number, 4096 bytes)
 *   +4+L long   XXH64 of the body (seed = position of the keyframe in the file, 0-based)
 * </pre>
 * A keyframe whose length runs past the end of the file was cut short by a killed recording and is
 * ignored; one whose checksum fails makes the file damaged. The header digest and each keyframe's
 * chunk digest tie the file to its trace: another trace's keyframes (copied in, or left from an
 * earlier recording into the same directory) fail those checks and are rebuilt, never applied.
 */
public final class KeyframeFile
{
    public static final String NAME = "keyframes.kryo";
    public static final long MAGIC = 0x50414C4B45594631L;
    public static final int VERSION = 2;
    public static final int HEADER_LENGTH = 40;
    /** Bytes of a keyframe body before its registers: position, chunks, chunk digest. */
    public static final int BODY_PREFIX = 24;
    public static final int REGS_PER_CPU = 9;
    public static final int PAGE_SIZE = 4096;
    /** Default events between keyframes: a 10 M-event trace gets 10. */
    public static final long DEFAULT_EVERY = 1_000_000;

    private KeyframeFile()
    {
    }

    public static Path of(final Path traceDir)
    {
        return traceDir.resolve(NAME);
    }
}
