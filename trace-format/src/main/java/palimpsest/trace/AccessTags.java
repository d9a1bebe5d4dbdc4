package palimpsest.trace;

/**
 * The compact access tag codes 0x00..0xBF (format 3): each code stands for one (kind, log2 size,
 * instruction mode, V, O) combination. Codes are handed out in this order: kinds 0..6, then sizes,
 * then modes, then V, then O (writes only):
 * <pre>
 *   kind        sizes        instruction modes   bits   codes
 *   load        1 2 4 8      0..3                V      32   0x00..0x1F
 *   store       1 2 4 8      0..3                V O    64   0x20..0x5F
 *   rmw         1 2 4 8      0, 3                V O    32   0x60..0x7F
 *   fetch       1 2 4 8      0..3                V      32   0x80..0x9F
 *   walk        8            0..3                V       8   0xA0..0xA7
 *   dma-read    1 2 4 8      3                   V       8   0xA8..0xAF
 *   dma-write   1 2 4 8      3                   V O    16   0xB0..0xBF
 * </pre>
 * V = 1: the value is the predicted one and takes no bytes; O = 1: likewise the old value (see
 * {@link CodecState#predictValue} and {@link CodecState#predictOld}). The physical address of a
 * compact access is always the predicted one (a miss, under 0.3% of kernel accesses, takes the full form).
 *
 * <p>Instruction modes (icount and pc against the cpu's last ones):
 * <pre>
 *   0 SAME     icount += 0, pc += 0               no bytes
 *   1 TICK     icount += 1, pc += 0               no bytes  (the emulator's pc names a code site, which
 *                                                            most instructions share with the one before)
 *   2 NEXT     icount += 1, pc += zz              1 varint
 *   3 GENERAL  icount += zz, pc += zz             2 varints
 * </pre>
 */
final class AccessTags
{
    static final int SAME = 0;
    static final int TICK = 1;
    static final int NEXT = 2;
    static final int GENERAL = 3;
    static final int MODES = 4;

    /** [(((kind * 4 + sizeCode) * 4 + mode) * 2 + V) * 2 + O] -> tag, or -1. */
    private static final short[] ENCODE = new short[7 * 4 * MODES * 4];
    /** [tag] -> kind | sizeCode << 3 | mode << 5 | V << 7 | O << 8 | VALID. */
    private static final int[] DECODE = new int[256];
    static final int V = 1 << 7;
    static final int O = 1 << 8;
    static final int VALID = 1 << 9;
    static final int LIMIT;

    static
    {
        java.util.Arrays.fill(ENCODE, (short)-1);
        int code = 0;
        for (int kind = 0; kind <= EventKind.DMA_WRITE; kind++)
        {
            final int olds = EventKind.isWrite(kind) ? 2 : 1;
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
                    for (int v = 0; v < 2; v++)
                    {
                        for (int o = 0; o < olds; o++)
                        {
                            ENCODE[index(kind, sizeCode, mode, v, o)] = (short)code;
                            DECODE[code] = kind | sizeCode << 3 | mode << 5 | v << 7 | o << 8 | VALID;
                            code++;
                        }
                    }
                }
            }
        }
        LIMIT = code;
        if (LIMIT > ChunkEncoder.TAG_FIRST_REG)
        {
            throw new IllegalStateException("access tags overflow: " + LIMIT);
        }
    }

    private AccessTags()
    {
    }

    private static int index(final int kind, final int sizeCode, final int mode, final int v, final int o)
    {
        return (((kind * 4 + sizeCode) * MODES + mode) * 2 + v) * 2 + o;
    }

    private static boolean allowed(final int kind, final int mode)
    {
        switch (kind)
        {
            case EventKind.RMW:
                return mode == SAME || mode == GENERAL;
            case EventKind.DMA_READ:
            case EventKind.DMA_WRITE:
                return mode == GENERAL;
            default:
                return true;
        }
    }

    /** @return the tag, or -1 if (kind, sizeCode, mode) has none. */
    static int encode(final int kind, final int sizeCode, final int mode, final int v, final int o)
    {
        return ENCODE[index(kind, sizeCode, mode, v, o)];
    }

    /** @return the packed fields of a tag (see {@link #VALID}), 0 if not an access tag. */
    static int decode(final int tag)
    {
        return DECODE[tag];
    }
}
