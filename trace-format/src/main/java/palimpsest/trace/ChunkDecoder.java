package palimpsest.trace;

/**
 * Decodes the events of one chunk (see {@link ChunkEncoder} for the encoding). Allocation-free
 * (except when a network payload is longer than any seen before by the target {@link Event}).
 */
public final class ChunkDecoder
{
    private final CodecState st = new CodecState();
    private byte[] buf = new byte[0];
    private int pos;
    private int end;
    private int remaining;
    private long nextIndex;

    /** Starts decoding count events from buf[offset, offset + length), the first one being event firstIndex. */
    public void wrap(final byte[] buf, final int offset, final int length, final int count, final long firstIndex)
    {
        this.buf = buf;
        this.pos = offset;
        this.end = offset + length;
        this.remaining = count;
        this.nextIndex = firstIndex;
        st.reset();
    }

    /** Events left in the chunk. */
    public int remaining()
    {
        return remaining;
    }

    /** Index of the event the next {@link #next} decodes. */
    public long nextIndex()
    {
        return nextIndex;
    }

    /** Drops the rest of the chunk. */
    public void clear()
    {
        nextIndex += remaining;
        remaining = 0;
    }

    private long uv()
    {
        final byte[] buf = this.buf;
        final int p = pos;
        final byte b = buf[p];
        if (b >= 0)
        {
            pos = p + 1;
            return b;
        }
        if (p + 8 <= buf.length)
        {
            // Up to 8 bytes at once: the first byte with its top bit clear ends the varint; its 7-bit groups
            // are then squeezed together (branch-free, where a byte loop mispredicts on every length change).
            final long w = Bits.getLong(buf, p);
            final long stops = ~w & 0x8080808080808080L;
            if (stops != 0)
            {
                pos = p + (Long.numberOfTrailingZeros(stops) >>> 3) + 1;
                return squeeze(w & (stops ^ (stops - 1)));
            }
            if (p + 10 <= buf.length)
            {
                // 9 or 10 bytes (a zigzagged kernel pointer): 56 bits from the word, then the last one or two bytes.
                final long low = squeeze(w);
                final byte b8 = buf[p + 8];
                if (b8 >= 0)
                {
                    pos = p + 9;
                    return low | (long)b8 << 56;
                }
                final byte b9 = buf[p + 9];
                if (b9 < 0)
                {
                    throw new IllegalStateException("varint longer than 10 bytes");
                }
                pos = p + 10;
                return low | (long)(b8 & 0x7F) << 56 | (long)b9 << 63;
            }
        }
        return uvSlow();
    }

    /** The 7-bit groups of up to 8 varint bytes (top bits ignored), squeezed together: 56 bits at most. */
    private static long squeeze(final long bytes)
    {
        long x = bytes & 0x7F7F7F7F7F7F7F7FL;
        x = (x & 0x007F007F007F007FL) | ((x & 0x7F007F007F007F00L) >>> 1);
        x = (x & 0x00003FFF00003FFFL) | ((x & 0x3FFF00003FFF0000L) >>> 2);
        return (x & 0x000000000FFFFFFFL) | ((x & 0x0FFFFFFF00000000L) >>> 4);
    }

    private long uvSlow()
    {
        final byte[] buf = this.buf;
        int p = pos;
        byte b = buf[p++];
        if (b >= 0)
        {
            pos = p;
            return b;
        }
        long v = b & 0x7F;
        int shift = 7;
        do
        {
            b = buf[p++];
            v |= (long)(b & 0x7F) << shift;
            shift += 7;
        }
        while (b < 0 && shift < 70);
        if (b < 0)
        {
            throw new IllegalStateException("varint longer than 10 bytes");
        }
        pos = p;
        return v;
    }

    /** Reads a varint written by {@link Bits#putTagged}: the selector goes to {@link #selector}. */
    private long tagged(final int bits)
    {
        final int first = buf[pos++];
        selector = first & ((1 << bits) - 1);
        final int low = 7 - bits;
        long v = (first & 0x7F) >>> bits;
        if (first < 0)
        {
            v |= uv() << low;
        }
        return v;
    }

    private int selector;

    private long old(final long value)
    {
        final long v = Bits.unzigzag(tagged(1));
        return selector == 0 ? value + v : v;
    }

    private long zz()
    {
        return Bits.unzigzag(uv());
    }

    /** A compact rsp/rbp write: code = (rbp ? 16 : 0) + instruction mode * 4 + value mode. */
    private void compactReg(final Event e, final int code, final int s, final int cpu)
    {
        final CodecState st = this.st;
        final int mode = (code >>> 2) & 3;
        final int valueMode = code & 3;
        final int r = code < 16 ? Reg.SP : Reg.FP;
        long icount = st.icount[s];
        long pc = st.pc[s];
        switch (mode)
        {
            case ChunkEncoder.REG_SAME:
                break;
            case ChunkEncoder.REG_TICK:
                icount += 1;
                break;
            case ChunkEncoder.REG_JUMP:
                pc += zz();
                break;
            default:
                icount += zz();
                pc += zz();
                break;
        }
        final long sp = st.reg[s * CodecState.REGS + Reg.SP];
        final long fp = st.reg[s * CodecState.REGS + Reg.FP];
        final long b;
        if (r == Reg.SP)
        {
            switch (valueMode)
            {
                case 0: b = sp - 8; break;
                case 1: b = sp + 8; break;
                case 2: b = fp; break;
                default: b = sp + zz(); break;
            }
        }
        else
        {
            switch (valueMode)
            {
                case 0: b = sp; break;
                case 1: b = st.lastLoad[s]; break;
                case 2: b = fp + zz(); break;
                default: b = sp + zz(); break;
            }
        }
        st.commitInstruction(s, icount, pc);
        st.reg[s * CodecState.REGS + r] = b;
        e.setEvent(EventKind.REG, cpu, icount, pc, r, b, 0);
    }

    /**
     * Decodes the next event into e.
     *
     * @throws IllegalStateException (or an IndexOutOfBoundsException) if the bytes do not decode.
     */
    public void next(final Event e)
    {
        if (remaining <= 0)
        {
            throw new IllegalStateException("no events left in chunk");
        }
        final CodecState st = this.st;
        final int prevCpu = st.cpu;
        int tag = buf[pos++] & 0xFF;
        while (tag == ChunkEncoder.TAG_CPU)
        {
            final long cpu = zz();
            if (cpu != (int)cpu)
            {
                throw new IllegalStateException("bad cpu " + cpu);
            }
            st.switchTo((int)cpu);
            tag = buf[pos++] & 0xFF;
        }
        final int s = st.slot;
        final int cpu = st.cpu;
        final int fields = AccessTags.decode(tag);
        if (fields != 0)
        {
            final int kind = fields & 7;
            final int sizeCode = (fields >>> 3) & 3;
            final int mode = (fields >>> 5) & 3;
            final int size = 1 << sizeCode;
            long icount = st.icount[s];
            long pc = st.pc[s];
            switch (mode)
            {
                case AccessTags.SAME:
                    break;
                case AccessTags.TICK:
                    icount += 1;
                    break;
                case AccessTags.NEXT:
                    icount += 1;
                    pc += zz();
                    break;
                default:
                    icount += zz();
                    pc += zz();
                    break;
            }
            final long vaddr;
            final int base;
            if (kind == EventKind.FETCH)
            {
                base = ChunkEncoder.BASE_PC;
                vaddr = pc + zz();
            }
            else
            {
                if (sizeCode == 0)
                {
                    final long v = tagged(2);
                    base = selector;
                    vaddr = st.base(s, base) + Bits.unzigzag(v);
                }
                else
                {
                    final long v = Bits.unzigzag(tagged(3));
                    base = selector & 3;
                    vaddr = st.base(s, base) + ((selector & 4) != 0 ? v << sizeCode : v);
                }
                st.useBase(s, base, vaddr);
            }
            final long paddr = st.predictPaddr(s, kind, vaddr, base);
            final boolean write = EventKind.isWrite(kind);
            // The prediction has no side effects: only worked out when the value (or a walk's delta) needs it.
            long value;
            if ((fields & AccessTags.V) != 0)
            {
                value = st.predictValue(s, kind, pc, vaddr, paddr, size, base);
            }
            else
            {
                if (kind == EventKind.WALK)
                {
                    value = st.predictValue(s, kind, pc, vaddr, paddr, size, base) + zz();
                }
                else
                {
                    switch (sizeCode)
                    {
                        case 0:
                            value = buf[pos++] & 0xFFL;
                            break;
                        case 1:
                            value = Bits.getUShort(buf, pos);
                            pos += 2;
                            break;
                        case 2:
                            value = uv();
                            break;
                        default:
                            final long v = Bits.unzigzag(tagged(1));
                            value = selector == 0 ? v : v + vaddr;
                            break;
                    }
                }
            }
            long old = 0;
            if (write)
            {
                if ((fields & AccessTags.O) != 0)
                {
                    old = st.predictOld(paddr, size, value);
                }
                else
                {
                    switch (sizeCode)
                    {
                        case 0:
                            old = buf[pos++] & 0xFFL;
                            break;
                        case 1:
                            old = Bits.getUShort(buf, pos);
                            pos += 2;
                            break;
                        default:
                            old = old(value);
                            break;
                    }
                }
            }
            st.commitAccess(s, kind, icount, pc, vaddr, paddr, size, value, base);
            e.setAccess(kind, cpu, icount, pc, vaddr, paddr, size, value, old);
        }
        else if (tag == ChunkEncoder.TAG_ACCESS_FULL)
        {
            final int kind = (int)uv();
            final long size = zz();
            final long icount = st.icount[s] + zz();
            final long pc = st.pc[s] + zz();
            final int base = buf[pos++];
            final long vaddr;
            if (base == ChunkEncoder.BASE_PC)
            {
                vaddr = pc + zz();
            }
            else if (base >= 0 && base < CodecState.BASES)
            {
                vaddr = st.base(s, base) + zz();
                st.useBase(s, base, vaddr);
            }
            else
            {
                throw new IllegalStateException("bad vaddr base " + base);
            }
            final long paddr = st.predictPaddr(s, kind, vaddr, base) + zz();
            final long value = zz();
            final long old = zz();
            st.commitAccess(s, kind, icount, pc, vaddr, paddr, (int)size, value, base);
            e.setAccess(kind, cpu, icount, pc, vaddr, paddr, (int)size, value, old);
        }
        else if (tag >= ChunkEncoder.TAG_FIRST_REG && tag <= ChunkEncoder.TAG_LAST_REG)
        {
            compactReg(e, tag - ChunkEncoder.TAG_FIRST_REG, s, cpu);
        }
        else if (tag <= ChunkEncoder.TAG_FIRST_EVENT + EventKind.MARK - EventKind.INTERRUPT ||
            tag == ChunkEncoder.TAG_OTHER_EVENT)
        {
            final int kind = tag == ChunkEncoder.TAG_OTHER_EVENT ? (int)uv() :
                tag - ChunkEncoder.TAG_FIRST_EVENT + EventKind.INTERRUPT;
            final int flags = buf[pos++] & 0xFF;
            if ((flags & ~0x3F) != 0)
            {
                throw new IllegalStateException("bad event flags 0x" + Integer.toHexString(flags));
            }
            final long icount = st.icount[s] + ((flags & ChunkEncoder.F_IC) != 0 ? zz() : 0);
            final long pc = st.pc[s] + ((flags & ChunkEncoder.F_PC) != 0 ? zz() : 0);
            long a = (flags & ChunkEncoder.F_A) != 0 ? zz() : 0;
            long b = (flags & ChunkEncoder.F_B) != 0 ? zz() : 0;
            final long c = (flags & ChunkEncoder.F_C) != 0 ? zz() : 0;
            if (kind == EventKind.CPU_SWITCH)
            {
                a += prevCpu;
            }
            final boolean reg = kind == EventKind.REG && a >= 0 && a < CodecState.REGS;
            if (reg)
            {
                b += st.reg[s * CodecState.REGS + (int)a];
                st.reg[s * CodecState.REGS + (int)a] = b;
            }
            st.commitInstruction(s, icount, pc);
            e.setEvent(kind, cpu, icount, pc, a, b, c);
            if ((flags & ChunkEncoder.F_PAYLOAD) != 0)
            {
                final long length = uv();
                if (length < 0 || length > end - pos)
                {
                    throw new IllegalStateException("payload length " + length + " runs past the chunk");
                }
                final int n = (int)length;
                System.arraycopy(buf, pos, e.ensurePayload(n), 0, n);
                e.netPayloadLength(n);
                pos += n;
            }
        }
        else
        {
            throw new IllegalStateException("unknown tag 0x" + Integer.toHexString(tag));
        }
        if (pos > end)
        {
            throw new IllegalStateException("event runs past the end of the chunk");
        }
        e.index(nextIndex++);
        if (--remaining == 0 && pos != end)
        {
            throw new IllegalStateException((end - pos) + " bytes left after the last event of the chunk");
        }
    }
}
