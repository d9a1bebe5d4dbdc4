package palimpsest.analyzers.invariants;

import java.util.List;

import palimpsest.emulator.PhysicalMemory;
import palimpsest.kernel.KernelInspector;
import palimpsest.kernel.patches.Patches;
import palimpsest.trace.TraceHeader;

/** Kernel state as invariants see it: node 0's physical memory, an inspector on it, and the kernel build. */
public final class KernelState
{
    public final PhysicalMemory memory;
    public final KernelInspector inspector;
    public final Patches patches;

    public KernelState(final PhysicalMemory memory, final Patches patches)
    {
        this.memory = memory;
        this.inspector = new KernelInspector(memory);
        this.patches = patches;
    }

    /**
     * A reconstruction of node 0's memory (an analyzer's shadow): {@link #memory} is null, so only
     * invariants that read through the {@link #inspector} can check it.
     */
    public KernelState(final KernelInspector.Memory memory, final Patches patches)
    {
        this.memory = null;
        this.inspector = new KernelInspector(memory);
        this.patches = patches;
    }

    /** The build a trace was recorded with. */
    public static Patches patchesOf(final TraceHeader h)
    {
        return Patches.of(h.kernelVersion(), h.kernelPatches() == null ? List.of() : h.kernelPatches());
    }
}
