package palimpsest.trace;

import java.util.Arrays;

/**
 * One event, as a reusable mutable flyweight: a reader fills the same instance again and again.
 * Fields that a kind does not use are zero (and the payload empty).
 *
 * <ul>
 *   <li>memory accesses ({@link EventKind#isAccess}): cpu, icount, pc, vaddr, paddr, size, value,
 *       oldValue (writes only);</li>
 *   <li>other kinds: cpu, icount, pc, a, b, c as described in {@link EventKind};</li>
 *   <li>{@link EventKind#NET_SEND}/{@link EventKind#NET_DELIVER}: cpu = device id, icount = virtual
 *       time, a = peer node, b = frame id, payload.</li>
 * </ul>
 * An event also remembers which {@link EventSink} method it came through (access, event or net), so
 * that {@link #writeTo} replays it exactly, even for odd kinds.
 */
public final class Event
{
    private long index;
    private int kind;
    private int cpu;
    private long icount;
    private long pc;
    private long vaddr;
    private long paddr;
    private int size;
    private long value;
    private long oldValue;
    private long a;
    private long b;
    private long c;
    /** Empty until a payload needs room: most events have none, and a batch of events packs tighter without one each. */
    private byte[] payload = NO_PAYLOAD;
    private int payloadLength;
    /** Which sink method the event came through: {@link #ACCESS}, {@link #EVENT} or {@link #NET}. */
    private int form;

    private static final byte[] NO_PAYLOAD = new byte[0];

    static final int ACCESS = 0;
    static final int EVENT = 1;
    static final int NET = 2;

    /** Global event number, counted from 0 at the start of the trace. */
    public long index()
    {
        return index;
    }

    public int kind()
    {
        return kind;
    }

    public int cpu()
    {
        return cpu;
    }

    public long icount()
    {
        return icount;
    }

    public long pc()
    {
        return pc;
    }

    public long vaddr()
    {
        return vaddr;
    }

    public long paddr()
    {
        return paddr;
    }

    public int size()
    {
        return size;
    }

    public long value()
    {
        return value;
    }

    public long oldValue()
    {
        return oldValue;
    }

    public long a()
    {
        return a;
    }

    public long b()
    {
        return b;
    }

    public long c()
    {
        return c;
    }

    /** The payload array, valid from 0 to {@link #payloadLength()}; reused: copy what you keep. */
    public byte[] payload()
    {
        return payload;
    }

    public int payloadLength()
    {
        return payloadLength;
    }

    public boolean isInput()
    {
        return kind == EventKind.INPUT;
    }

    public boolean isAccess()
    {
        return EventKind.isAccess(kind);
    }

    public Event index(final long index)
    {
        this.index = index;
        return this;
    }

    /** Sets an access event (clears a, b, c and the payload). */
    public Event setAccess(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
        final long paddr, final int size, final long value, final long oldValue)
    {
        this.kind = kind;
        this.cpu = cpu;
        this.icount = icount;
        this.pc = pc;
        this.vaddr = vaddr;
        this.paddr = paddr;
        this.size = size;
        this.value = value;
        this.oldValue = oldValue;
        this.a = 0;
        this.b = 0;
        this.c = 0;
        this.payloadLength = 0;
        this.form = ACCESS;
        return this;
    }

    /** Sets a non-access event (clears the access fields and the payload). */
    public Event setEvent(final int kind, final int cpu, final long icount, final long pc, final long a, final long b,
        final long c)
    {
        this.kind = kind;
        this.cpu = cpu;
        this.icount = icount;
        this.pc = pc;
        this.vaddr = 0;
        this.paddr = 0;
        this.size = 0;
        this.value = 0;
        this.oldValue = 0;
        this.a = a;
        this.b = b;
        this.c = c;
        this.payloadLength = 0;
        this.form = EVENT;
        return this;
    }

    /** Sets a network event; copies the payload into this event's own (reused) array. */
    public Event setNet(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
        final byte[] src, final int offset, final int length)
    {
        setEvent(kind, device, vtime, 0, peerNode, frameId, 0);
        System.arraycopy(src, offset, ensurePayload(length), 0, length);
        this.payloadLength = length;
        this.form = NET;
        return this;
    }

    /** Makes the payload array at least this long and returns it (contents kept). */
    byte[] ensurePayload(final int length)
    {
        if (payload.length < length)
        {
            payload = Arrays.copyOf(payload, Math.max(Math.max(length, 64), payload.length * 2));
        }
        return payload;
    }

    /** Makes this a network event with the given payload length (decoder). */
    void netPayloadLength(final int length)
    {
        this.payloadLength = length;
        this.form = NET;
    }

    /** Replays this event into a sink, through the method it was recorded with (access, event or net). */
    public void writeTo(final EventSink sink)
    {
        if (form == NET)
        {
            sink.net(kind, cpu, icount, a, b, payload, 0, payloadLength);
        }
        else if (form == ACCESS)
        {
            sink.access(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
        }
        else
        {
            sink.event(kind, cpu, icount, pc, a, b, c);
        }
    }

    public Event copyFrom(final Event e)
    {
        index = e.index;
        kind = e.kind;
        cpu = e.cpu;
        icount = e.icount;
        pc = e.pc;
        vaddr = e.vaddr;
        paddr = e.paddr;
        size = e.size;
        value = e.value;
        oldValue = e.oldValue;
        a = e.a;
        b = e.b;
        c = e.c;
        System.arraycopy(e.payload, 0, ensurePayload(e.payloadLength), 0, e.payloadLength);
        payloadLength = e.payloadLength;
        form = e.form;
        return this;
    }

    /** Same event fields and form (index excluded), payload compared by content. */
    public boolean sameAs(final Event e)
    {
        return form == e.form && kind == e.kind && cpu == e.cpu && icount == e.icount && pc == e.pc && vaddr == e.vaddr &&
            paddr == e.paddr && size == e.size && value == e.value && oldValue == e.oldValue && a == e.a &&
            b == e.b && c == e.c && Arrays.equals(payload, 0, payloadLength, e.payload, 0, e.payloadLength);
    }

    /**
     * Whether this event is what {@link EventSink#access} with these arguments would record: {@link #sameAs}
     * an event set by {@link #setAccess}, without filling one (the replay verifier's per-event check).
     */
    public boolean sameAccess(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
        final long paddr, final int size, final long value, final long oldValue)
    {
        return form == ACCESS && this.kind == kind && this.cpu == cpu && this.icount == icount && this.pc == pc &&
            this.vaddr == vaddr && this.paddr == paddr && this.size == size && this.value == value &&
            this.oldValue == oldValue && a == 0 && b == 0 && c == 0 && payloadLength == 0;
    }

    /** Whether this event is what {@link EventSink#event} with these arguments would record (see {@link #sameAccess}). */
    public boolean sameEvent(final int kind, final int cpu, final long icount, final long pc, final long a, final long b,
        final long c)
    {
        return form == EVENT && this.kind == kind && this.cpu == cpu && this.icount == icount && this.pc == pc &&
            this.a == a && this.b == b && this.c == c && vaddr == 0 && paddr == 0 && size == 0 && value == 0 &&
            oldValue == 0 && payloadLength == 0;
    }

    @Override
    public String toString()
    {
        return EventFormatter.DEFAULT.format(this);
    }
}
