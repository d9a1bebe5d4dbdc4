package palimpsest.trace;

/**
 * The compact access tag codes 0x00..0xD7: each code stands for one (kind, log2 size, instruction mode,
 * P) combination. Codes are handed out in this order, kinds 0..6, then sizes, then modes, then P:
 * <pre>
 *   kind        sizes        instruction modes      codes
 *   load        1 2 4 8      0..7                   64   0x00..0x3F
 *   store       1 2 4 8      0..7                   64   0x40..0x7F
 *   rmw         1 2 4 8      0..3                   32   0x80..0x9F
 *   fetch       1 2 4 8      0..3                   32   0xA0..0xBF
 *   walk        8            0..3                    8   0xC0..0xC7
 *   dma-read    1 2 4 8      2                       8   0xC8..0xCF
 *   dma-write   1 2 4 8      2                       8   0xD0..0xD7
 *   (0xD8..0xDF unused)
 * </pre>
 * code = first code of the (kind, size) group + mode index * 2 + P.
 *
 * <p>Instruction modes (icount and pc against the cpu's last ones):
 * <pre>
 *   0 SAME     icount += 0, pc += 0               no bytes
 *   1 NEXT     icount += 1, pc += zz              1 varint
 *   2 GENERAL  icount += zz, pc += zz             2 varints
 *   3 STEP     icount += 1, pc += last pc step    no bytes
 *   4..7       icount += 1, pc += 2, 3, 4, 5      no bytes
 * </pre>
 */
final class AccessTags
{
    static final int SAME = 0;
    static final int NEXT = 1;
    static final int GENERAL = 2;
    static final int STEP = 3;
    static final int INLINE = 4;
    static final int INLINE_FIRST_DELTA = 2;
    static final int INLINE_COUNT = 4;
    static final int MODES = 8;

    /** [((kind * 4 + sizeCode) * 8 + mode) * 2 + P] -> tag, or -1. */
    private static final short[] ENCODE = new short[7 * 4 * MODES * 2];
    /** [tag] -> kind | sizeCode << 3 | mode << 5 | P << 8 | VALID. */
    private static final int[] DECODE = new int[256];
    static final int VALID = 1 << 9;
    static final int LIMIT;

    static
    {
        java.util.Arrays.fill(ENCODE, (short)-1);
        int code = 0;
        for (int kind = 0; kind <= EventKind.DMA_WRITE; kind++)
        {
            for (int sizeCode = 0; sizeCode < 4; sizeCode++)
            {
                if (kind == EventKind.WALK && sizeCode != 3)
                {
                    continue;
                }
                for (int mode = 0; mode < MODES; mode++)
                {
                    if (!allowed(kind, mode))
                    {
                        continue;
                    }
                    for (int p = 0; p < 2; p++)
                    {
                        ENCODE[((kind * 4 + sizeCode) * MODES + mode) * 2 + p] = (short)code;
                        DECODE[code] = kind | sizeCode << 3 | mode << 5 | p << 8 | VALID;
                        code++;
                    }
                }
            }
        }
        LIMIT = code;
        if (LIMIT > ChunkEncoder.TAG_FIRST_EVENT)
        {
            throw new IllegalStateException("access tags overflow: " + LIMIT);
        }
    }

    private AccessTags()
    {
    }

    private static boolean allowed(final int kind, final int mode)
    {
        switch (kind)
        {
            case EventKind.LOAD:
            case EventKind.STORE:
                return true;
            case EventKind.DMA_READ:
            case EventKind.DMA_WRITE:
                return mode == GENERAL;
            default:
                return mode < INLINE;
        }
    }

    /** @return the tag, or -1 if (kind, sizeCode, mode) has none. */
    static int encode(final int kind, final int sizeCode, final int mode, final int p)
    {
        return ENCODE[((kind * 4 + sizeCode) * MODES + mode) * 2 + p];
    }

    /** @return the packed fields of a tag (see {@link #VALID}), 0 if not an access tag. */
    static int decode(final int tag)
    {
        return DECODE[tag];
    }
}
