package palimpsest.trace;

import java.util.Arrays;

/**
 * Encodes events into one chunk: a preallocated byte array whose first
 * {@link TraceFormat#CHUNK_HEADER_LENGTH} bytes are left for the chunk header. Allocation-free per
 * event (the array only grows for a network payload larger than the whole chunk).
 *
 * <h2>Event encoding (format 3)</h2>
 * Every event starts with a tag byte. {@code zz(x)} is a zigzag LEB128 varint of x, {@code uv(x)} an
 * unsigned LEB128 varint; {@code tvN(sel, x)} a varint carrying an N-bit selector: first byte
 * {@code more<<7 | (x & (2^(7-N)-1)) << N | sel}, then, if more, uv(x >>> (7-N)). All deltas and
 * predictions are against the prediction state of {@link CodecState}.
 * <pre>
 *  tag 0x00..0xBF  compact memory access: the code stands for (kind, log2 size, instruction mode, V, O),
 *                  see {@link AccessTags}; its paddr is always the predicted one
 *   then  icount/pc: mode SAME, TICK nothing; NEXT zz(pc delta); GENERAL zz(icount delta) zz(pc delta)
 *         vaddr:  fetch: zz(vaddr - pc)
 *                 others: d = vaddr - base[i], i = one of 4 per-cpu vaddr bases (the encoder picks the
 *                 nearest, or the least recently used one for a far address); base[i] becomes vaddr
 *                   size 1:       tv2(i, zigzag(d))
 *                   size 2, 4, 8: tv3(i, zigzag(d))                 or, if d is a multiple of size,
 *                                 tv3(4 | i, zigzag(d / size))
 *         value (V=0 only; V=1: the predicted value):
 *                 walk: zz(value - prediction)
 *                 size 1/2: 1/2 raw bytes; size 4: uv(value);
 *                 size 8: tv1(0, zigzag(value)) or tv1(1, zigzag(value - vaddr)), whichever is shorter
 *         old value (store, rmw, dma-write with O=0 only; O=1: the predicted old value):
 *                 size 1/2 raw bytes, else tv1(0, zigzag(old - value)) or tv1(1, zigzag(old)), the shorter
 *
 *  tag 0xC0..0xDF  rsp or rbp written, c = 0: 0xC0 + (rbp ? 16 : 0) + instruction mode * 4 + value mode
 *     instruction modes: 0 same icount and pc; 1 icount + 1; 2 pc += zz; 3 icount += zz, pc += zz
 *     rsp value modes:   0 rsp - 8 (push); 1 rsp + 8 (pop); 2 = rbp (leave); 3 rsp + zz
 *     rbp value modes:   0 = rsp (mov rbp, rsp); 1 = the cpu's last loaded value (pop rbp);
 *                        2 rbp + zz; 3 rsp + zz
 *
 *  tag 0xE0 + (kind - 7)  kinds 7..17       tag 0xFD uv(kind): any other kind
 *   +--------+ +---------------------+
 *   |  tag   | |0|0|P|c|b|a|pc|ic| flags   then for each set flag bit, in order:
 *   +--------+ +---------------------+
 *     ic: zz(icount delta)  pc: zz(pc delta)  a: zz(a') b: zz(b') c: zz(c)
 *     P (payload): uv(length) and the bytes
 *     a' = a - previous event's cpu for cpu-switch, else a
 *     b' = b - last value of that register on this cpu for reg (register ids 0..31), else b
 *
 *  tag 0xFE  access, full form (anything the compact form cannot hold, a mispredicted paddr included):
 *     uv(kind) zz(size) zz(icount delta) zz(pc delta) u8(i) zz(vaddr - base[i], or - pc if i = 4)
 *     zz(paddr - prediction) zz(value) zz(old value)
 *  tag 0xFF  cpu change: zz(cpu); the following events are on that cpu (prefix, not an event)
 *  tags 0xEB..0xFC reserved.
 * </pre>
 * Compact accesses need: kind 0..6, size 1, 2, 4 or 8 (walks: 8), the predicted paddr, values of size 1
 * and 2 (and their old values) fitting that many bytes, and an old value of 0 for kinds that do not
 * write. Any other access takes the full form, so every field of every event round-trips exactly.
 */
public final class ChunkEncoder implements EventSink
{
    static final int TAG_FIRST_REG = 0xC0;
    static final int TAG_LAST_REG = 0xDF;
    static final int REG_SAME = 0;
    static final int REG_TICK = 1;
    static final int REG_JUMP = 2;
    static final int REG_GENERAL = 3;
    static final int TAG_FIRST_EVENT = 0xE0;
    static final int TAG_OTHER_EVENT = 0xFD;
    static final int TAG_ACCESS_FULL = 0xFE;
    static final int TAG_CPU = 0xFF;

    /** Vaddr selector of the full form meaning "relative to pc" (fetches). */
    static final int BASE_PC = CodecState.BASES;

    static final int F_IC = 1;
    static final int F_PC = 2;
    static final int F_A = 4;
    static final int F_B = 8;
    static final int F_C = 16;
    static final int F_PAYLOAD = 32;

    /** Room left after the target size so that any non-network event fits without a check. */
    static final int MARGIN = 256;
    static final int HEADER = TraceFormat.CHUNK_HEADER_LENGTH;

    private final CodecState st = new CodecState();
    private byte[] buf;
    private int pos;
    private int count;
    private int inputs;

    public ChunkEncoder()
    {
        buf = new byte[HEADER + TraceFormat.CHUNK_TARGET_BYTES + MARGIN];
        reset();
    }

    /** Starts a new chunk. */
    public void reset()
    {
        pos = HEADER;
        count = 0;
        inputs = 0;
        st.reset();
    }

    /** The array: header space, then {@link #payloadLength()} bytes of encoded events. */
    public byte[] buffer()
    {
        return buf;
    }

    public int payloadLength()
    {
        return pos - HEADER;
    }

    public int count()
    {
        return count;
    }

    public int inputs()
    {
        return inputs;
    }

    /** @return true once the chunk has reached its target size or event count. */
    public boolean isFull()
    {
        return pos >= HEADER + TraceFormat.CHUNK_TARGET_BYTES || count >= TraceFormat.CHUNK_MAX_EVENTS;
    }

    /** @return true if a network event with this payload length fits without growing the array. */
    public boolean fits(final int payloadLength)
    {
        return pos + payloadLength + MARGIN <= buf.length;
    }

    private void cpu(final int cpu)
    {
        if (cpu != st.cpu)
        {
            buf[pos++] = (byte)TAG_CPU;
            pos = Bits.putVarint(buf, pos, Bits.zigzag(cpu));
            st.switchTo(cpu);
        }
    }

    private static int sizeCode(final int size)
    {
        switch (size)
        {
            case 1: return 0;
            case 2: return 1;
            case 4: return 2;
            case 8: return 3;
            default: return -1;
        }
    }

    @Override
    public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
        final long paddr, final int size, final long value, final long oldValue)
    {
        cpu(cpu);
        final CodecState st = this.st;
        final int s = st.slot;
        final byte[] buf = this.buf;
        int p = pos;
        final int sizeCode = sizeCode(size);
        final boolean write = EventKind.isWrite(kind);
        final boolean walk = kind == EventKind.WALK;
        final long icd = icount - st.icount[s];
        final long pcd = pc - st.pc[s];
        final boolean fetch = kind == EventKind.FETCH;
        final int base = fetch ? BASE_PC : st.chooseBase(s, vaddr);
        final long vz = Bits.zigzag(vaddr - (fetch ? pc : st.base(s, base)));
        final long predicted = st.predictPaddr(s, kind, vaddr, base);
        boolean compact = kind >= 0 && kind <= EventKind.DMA_WRITE && sizeCode >= 0 && (write || oldValue == 0) &&
            paddr == predicted && (!walk || sizeCode == 3);
        if (compact && !walk && sizeCode < 2)
        {
            final long mask = sizeCode == 0 ? ~0xFFL : ~0xFFFFL;
            compact = (value & mask) == 0 && (!write || (oldValue & mask) == 0);
        }
        if (compact)
        {
            final int tagPos = p++;
            int mode = icd == 0 && pcd == 0 ? AccessTags.SAME : icd != 1 ? AccessTags.GENERAL :
                pcd == 0 ? AccessTags.TICK : AccessTags.NEXT;
            if (AccessTags.encode(kind, sizeCode, mode, 0, 0) < 0)
            {
                mode = AccessTags.GENERAL;
            }
            if (mode == AccessTags.NEXT)
            {
                p = Bits.putVarint(buf, p, Bits.zigzag(pcd));
            }
            else if (mode == AccessTags.GENERAL)
            {
                p = Bits.putVarint(buf, p, Bits.zigzag(icd));
                p = Bits.putVarint(buf, p, Bits.zigzag(pcd));
            }
            if (fetch)
            {
                p = Bits.putVarint(buf, p, vz);
            }
            else if (sizeCode == 0)
            {
                p = Bits.putTagged(buf, p, vz, base, 2);
            }
            else
            {
                final long d = vaddr - st.base(s, base);
                if ((d & ((1L << sizeCode) - 1)) == 0)
                {
                    p = Bits.putTagged(buf, p, Bits.zigzag(d >> sizeCode), base | 4, 3);
                }
                else
                {
                    p = Bits.putTagged(buf, p, vz, base, 3);
                }
            }
            final long predictedValue = st.predictValue(s, kind, pc, vaddr, paddr, size, base);
            final int v = value == predictedValue ? 1 : 0;
            final int o = write && oldValue == st.predictOld(paddr, size, value) ? 1 : 0;
            if (v == 0)
            {
                if (walk)
                {
                    p = Bits.putVarint(buf, p, Bits.zigzag(value - predictedValue));
                }
                else
                {
                    p = putValue(buf, p, sizeCode, value, vaddr);
                }
            }
            if (write && o == 0)
            {
                p = putOldValue(buf, p, sizeCode, value, oldValue);
            }
            buf[tagPos] = (byte)AccessTags.encode(kind, sizeCode, mode, v, o);
        }
        else
        {
            buf[p++] = (byte)TAG_ACCESS_FULL;
            p = Bits.putVarint(buf, p, kind & 0xFFFFFFFFL);
            p = Bits.putVarint(buf, p, Bits.zigzag(size));
            p = Bits.putVarint(buf, p, Bits.zigzag(icd));
            p = Bits.putVarint(buf, p, Bits.zigzag(pcd));
            buf[p++] = (byte)base;
            p = Bits.putVarint(buf, p, vz);
            p = Bits.putVarint(buf, p, Bits.zigzag(paddr - predicted));
            p = Bits.putVarint(buf, p, Bits.zigzag(value));
            p = Bits.putVarint(buf, p, Bits.zigzag(oldValue));
        }
        pos = p;
        if (!fetch)
        {
            st.useBase(s, base, vaddr);
        }
        st.commitAccess(s, kind, icount, pc, vaddr, paddr, size, value, base);
        count++;
    }

    /** A value that was not predicted: size 1/2 raw bytes, 4 uv, 8 plain or relative to vaddr (the shorter). */
    private static int putValue(final byte[] buf, int p, final int sizeCode, final long value, final long vaddr)
    {
        switch (sizeCode)
        {
            case 0:
                buf[p++] = (byte)value;
                return p;
            case 1:
                Bits.putShort(buf, p, (int)value);
                return p + 2;
            case 2:
                return Bits.putVarint(buf, p, value);
            default:
                final long plain = Bits.zigzag(value);
                final long relative = Bits.zigzag(value - vaddr);
                return Long.compareUnsigned(relative, plain) < 0 ?
                    Bits.putTagged(buf, p, relative, 1, 1) : Bits.putTagged(buf, p, plain, 0, 1);
        }
    }

    /** An old value that was not predicted: size 1/2 raw bytes, else {@link #putOld}. */
    private static int putOldValue(final byte[] buf, final int p, final int sizeCode, final long value,
        final long oldValue)
    {
        switch (sizeCode)
        {
            case 0:
                buf[p] = (byte)oldValue;
                return p + 1;
            case 1:
                Bits.putShort(buf, p, (int)oldValue);
                return p + 2;
            default:
                return putOld(buf, p, value, oldValue);
        }
    }

    /** Old value of a 4 or 8 byte write: relative to the new value or on its own, whichever is shorter. */
    private static int putOld(final byte[] buf, final int p, final long value, final long oldValue)
    {
        final long relative = Bits.zigzag(oldValue - value);
        final long plain = Bits.zigzag(oldValue);
        return Long.compareUnsigned(plain, relative) < 0 ?
            Bits.putTagged(buf, p, plain, 1, 1) : Bits.putTagged(buf, p, relative, 0, 1);
    }

    @Override
    public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b,
        final long c)
    {
        encodeEvent(kind, cpu, icount, pc, a, b, c, null, 0, -1);
    }

    /** Encodes a network event; the caller must have made room ({@link #fits}, {@link #grow}). */
    @Override
    public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
        final byte[] payload, final int offset, final int length)
    {
        if (length < 0 || offset < 0 || offset + length > payload.length)
        {
            throw new IllegalArgumentException("bad payload slice: offset " + offset + ", length " + length);
        }
        if (!fits(length))
        {
            grow(length);
        }
        encodeEvent(kind, device, vtime, 0, peerNode, frameId, 0, payload, offset, length);
    }

    /** Grows the array so that a payload of this length fits (allocates: giant payloads only). */
    public void grow(final int payloadLength)
    {
        if (!fits(payloadLength))
        {
            buf = Arrays.copyOf(buf, pos + payloadLength + MARGIN);
        }
    }

    /** A write of rsp or rbp in one tag byte plus what the prediction missed (see the class comment). */
    private int compactReg(final byte[] buf, int p, final int s, final int r, final long icount, final long pc,
        final long b)
    {
        final CodecState st = this.st;
        final int tagPos = p++;
        final long icd = icount - st.icount[s];
        final long pcd = pc - st.pc[s];
        final int mode;
        if (icd == 0)
        {
            mode = pcd == 0 ? REG_SAME : REG_JUMP;
        }
        else
        {
            mode = icd == 1 && pcd == 0 ? REG_TICK : REG_GENERAL;
        }
        if (mode == REG_JUMP)
        {
            p = Bits.putVarint(buf, p, Bits.zigzag(pcd));
        }
        else if (mode == REG_GENERAL)
        {
            p = Bits.putVarint(buf, p, Bits.zigzag(icd));
            p = Bits.putVarint(buf, p, Bits.zigzag(pcd));
        }
        final long sp = st.reg[s * CodecState.REGS + Reg.SP];
        final long fp = st.reg[s * CodecState.REGS + Reg.FP];
        final int value;
        if (r == Reg.SP)
        {
            final long d = b - sp;
            if (d == -8 || d == 8)
            {
                value = d == -8 ? 0 : 1;
            }
            else if (b == fp)
            {
                value = 2;
            }
            else
            {
                value = 3;
                p = Bits.putVarint(buf, p, Bits.zigzag(d));
            }
        }
        else if (b == sp)
        {
            value = 0;
        }
        else if (b == st.lastLoad[s])
        {
            value = 1;
        }
        else
        {
            final long fromFp = Bits.zigzag(b - fp);
            final long fromSp = Bits.zigzag(b - sp);
            value = Long.compareUnsigned(fromFp, fromSp) <= 0 ? 2 : 3;
            p = Bits.putVarint(buf, p, value == 2 ? fromFp : fromSp);
        }
        buf[tagPos] = (byte)(TAG_FIRST_REG + (r == Reg.SP ? 0 : 16) + mode * 4 + value);
        st.commitInstruction(s, icount, pc);
        st.reg[s * CodecState.REGS + r] = b;
        return p;
    }

    private void encodeEvent(final int kind, final int cpu, final long icount, final long pc, final long a,
        final long b, final long c, final byte[] payload, final int offset, final int length)
    {
        final int prevCpu = st.cpu;
        cpu(cpu);
        final CodecState st = this.st;
        final int s = st.slot;
        final byte[] buf = this.buf;
        int p = pos;
        if (kind == EventKind.REG && (a == Reg.SP || a == Reg.FP) && c == 0 && length < 0)
        {
            pos = compactReg(buf, p, s, (int)a, icount, pc, b);
            count++;
            return;
        }
        if (kind >= EventKind.INTERRUPT && kind <= EventKind.MARK)
        {
            buf[p++] = (byte)(TAG_FIRST_EVENT + kind - EventKind.INTERRUPT);
        }
        else
        {
            buf[p++] = (byte)TAG_OTHER_EVENT;
            p = Bits.putVarint(buf, p, kind & 0xFFFFFFFFL);
        }
        final long icd = icount - st.icount[s];
        final long pcd = pc - st.pc[s];
        final long aa = kind == EventKind.CPU_SWITCH ? a - prevCpu : a;
        final boolean reg = kind == EventKind.REG && a >= 0 && a < CodecState.REGS;
        final long bb = reg ? b - st.reg[s * CodecState.REGS + (int)a] : b;
        final int flagsPos = p++;
        int flags = 0;
        if (icd != 0)
        {
            flags |= F_IC;
            p = Bits.putVarint(buf, p, Bits.zigzag(icd));
        }
        if (pcd != 0)
        {
            flags |= F_PC;
            p = Bits.putVarint(buf, p, Bits.zigzag(pcd));
        }
        if (aa != 0)
        {
            flags |= F_A;
            p = Bits.putVarint(buf, p, Bits.zigzag(aa));
        }
        if (bb != 0)
        {
            flags |= F_B;
            p = Bits.putVarint(buf, p, Bits.zigzag(bb));
        }
        if (c != 0)
        {
            flags |= F_C;
            p = Bits.putVarint(buf, p, Bits.zigzag(c));
        }
        if (length >= 0)
        {
            flags |= F_PAYLOAD;
            p = Bits.putVarint(buf, p, length);
            System.arraycopy(payload, offset, buf, p, length);
            p += length;
        }
        buf[flagsPos] = (byte)flags;
        pos = p;
        st.commitInstruction(s, icount, pc);
        if (reg)
        {
            st.reg[s * CodecState.REGS + (int)a] = b;
        }
        if (kind == EventKind.INPUT)
        {
            inputs++;
        }
        count++;
    }
}
