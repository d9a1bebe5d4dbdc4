package palimpsest.trace;

/**
 * Where the emulator sends what happens. The hot path: implementations must not allocate per
 * call. Every argument is primitive; payloads are passed as a slice of an existing array
 * (emulated memory itself), never copied by the caller.
 *
 * <p>Exactly one emulated task runs at a time, so a sink is called by one thread at a time, though
 * not always the same thread (the executor hands a baton between threads, with a happens-before
 * edge at each handoff).
 */
public interface EventSink
{
    /** A memory access of kind {@link EventKind#LOAD}..{@link EventKind#DMA_WRITE}. */
    void access(int kind, int cpu, long icount, long pc, long vaddr, long paddr, int size, long value, long oldValue);

    /**
     * Any non-access event with up to three operands (interrupt, exception, ipi, task-switch,
     * cpu-switch, input, io, reg, mark): see {@link EventKind} for what a, b and c mean per kind.
     */
    void event(int kind, int cpu, long icount, long pc, long a, long b, long c);

    /** A network event ({@link EventKind#NET_SEND} or {@link EventKind#NET_DELIVER}) with its payload. */
    void net(int kind, int device, long vtime, long peerNode, long frameId, byte[] payload, int offset, int length);

    /** A sink that drops everything: the emulator running without recording. */
    EventSink NULL = new EventSink()
    {
        @Override
        public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
            final long paddr, final int size, final long value, final long oldValue)
        {
        }

        @Override
        public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b,
            final long c)
        {
        }

        @Override
        public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
            final byte[] payload, final int offset, final int length)
        {
        }
    };
}
