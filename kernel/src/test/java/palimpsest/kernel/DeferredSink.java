package palimpsest.kernel;

import palimpsest.trace.EventSink;

/**
 * A sink that forwards to {@link #to} once it is set: a test that watches a kernel's events by
 * function address builds its watcher after {@code load} has defined the kernel's text, but the
 * machine needs its sink before that.
 */
final class DeferredSink implements EventSink
{
    EventSink to = EventSink.NULL;

    @Override
    public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr, final long paddr,
        final int size, final long value, final long oldValue)
    {
        to.access(kind, cpu, icount, pc, vaddr, paddr, size, value, oldValue);
    }

    @Override
    public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b, final long c)
    {
        to.event(kind, cpu, icount, pc, a, b, c);
    }

    @Override
    public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
        final byte[] payload, final int offset, final int length)
    {
        to.net(kind, device, vtime, peerNode, frameId, payload, offset, length);
    }
}
