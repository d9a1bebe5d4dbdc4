package palimpsest.kernel.scenarios;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.module.Module;

/**
 * A small module with no state and no atomics (rfkill_input-like); loaded before e1000 it only
 * moves e1000's text one page up the module area.
 */
final class Rfkill extends Module
{
    static final String NAME = "rfkill";

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    protected void define(final Image img)
    {
        img.fn("rfkill_event", 0x100);
    }

    @Override
    protected long init(final Cpu cpu, final Kernel k, final long mod)
    {
        return 0;
    }

    @Override
    protected void exit(final Cpu cpu, final Kernel k, final long mod)
    {
    }
}
