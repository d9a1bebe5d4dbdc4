package palimpsest.kernel.arch;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Mark;

/**
 * SMP alternatives: placeholder, implemented on branch issue4 (which patches every LOCK-prefix
 * site to UP or SMP form through text_poke). Here it only records the switch as a
 * {@link Mark#ALT_SMP_SWITCH} MARK (a = 1 for SMP, 0 for UP; b = cpus online), as the real one does,
 * so the hotplug hooks can be tested.
 */
public final class Alternatives
{
    private final Kernel k;

    public Alternatives(final Kernel k)
    {
        this.k = k;
    }

    /** alternatives_smp_switch(smp): placeholder, implemented on branch issue4. */
    public void smpSwitch(final Cpu cpu, final boolean smp)
    {
        cpu.mark(Mark.ALT_SMP_SWITCH, smp ? 1 : 0, Long.bitCount(cpu.load64(Globals.CPU_ONLINE_MASK)));
    }
}
