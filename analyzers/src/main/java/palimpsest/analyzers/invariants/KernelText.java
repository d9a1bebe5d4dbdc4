package palimpsest.analyzers.invariants;

import palimpsest.kernel.Globals;
import palimpsest.kernel.Layout;

/**
 * kernel-text: once the kernel runs, its text changes only at registered alternatives sites (the
 * .smp_locks table: LOCK prefix bytes switched between SMP and UP). Checked per write: a store into
 * the image's text range is a violation unless its address is a registered site.
 */
public final class KernelText implements Invariant
{
    @Override
    public String name()
    {
        return "kernel-text";
    }

    @Override
    public String description()
    {
        return "kernel text is written only at registered alternatives (smp_locks) sites";
    }

    @Override
    public boolean touches(final KernelState s, final long pa, final int size)
    {
        return pa + size > Layout.TEXT_PHYS && pa < Layout.TEXT_PHYS + Layout.TEXT_MAX;
    }

    @Override
    public String check(final KernelState s)
    {
        return null; // a whole-state check would need the pristine image: this one is per write
    }

    @Override
    public String checkWrite(final KernelState s, final long pa, final int size)
    {
        final long count = s.memory.read64(Globals.phys(Globals.SMP_LOCKS_COUNT));
        for (long b = pa; b < pa + size; b++)
        {
            boolean registered = false;
            for (int i = 0; i < count && i < Globals.MAX_SMP_LOCKS; i++)
            {
                final long site = s.memory.read64(Globals.phys(Globals.SMP_LOCKS) + i * 8L);
                if (s.inspector.phys(site) == b)
                {
                    registered = true;
                    break;
                }
            }
            if (!registered)
            {
                return String.format("kernel text written at %x (physical %x), which is not a registered alternatives site",
                    b + Layout.KERNEL_TEXT - Layout.TEXT_PHYS, b);
            }
        }
        return null;
    }
}
