package palimpsest.kernel.module;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Lists;
import palimpsest.kernel.user.Syscalls;

/**
 * The bits of the driver core a driver module uses: {@code dma_alloc_coherent} (buddy pages; with
 * patch {@code x86-dma-ops} through the dma_ops function pointer) and {@code device_pm_add} (the
 * device joins dpm_list; before patch {@code device-pm-add-warn} a child of a sleeping system
 * is refused, after it only warned about).
 */
public final class DriverCore
{
    public static final long EBUSY = -16;

    private final Kernel k;
    private final Fn dmaAllocFn;
    private final Fn nommuAllocFn;
    private final Fn pmAddFn;
    private final Fn pmRemoveFn;

    public DriverCore(final Kernel k)
    {
        this.k = k;
        this.dmaAllocFn = k.text.fn("dma_alloc_coherent", 0x60);
        this.nommuAllocFn = k.text.fn("nommu_alloc_coherent", 0x40, this::nommuAllocBody);
        this.pmAddFn = k.text.fn("device_pm_add", 0x60);
        this.pmRemoveFn = k.text.fn("device_pm_remove", 0x40);
    }

    public void init(final Cpu cpu)
    {
        Lists.init(cpu, Globals.DPM_LIST);
    }

    /** dma_alloc_coherent: one zeroed page's direct-map address (0 on failure). */
    public long dmaAllocCoherent(final Cpu cpu)
    {
        dmaAllocFn.enter(cpu);
        final long r;
        if (k.patches.enabled("x86-dma-ops"))
        {
            r = k.callIndirect(cpu, nommuAllocFn.addr, 0, 0, 0);
        }
        else
        {
            r = k.pages.getZeroedPage(cpu);
        }
        return dmaAllocFn.leave(cpu, r);
    }

    private void nommuAllocBody(final Cpu cpu)
    {
        nommuAllocFn.prologue(cpu);
        cpu.setReg(Syscalls.RAX, k.pages.getZeroedPage(cpu));
        nommuAllocFn.leave(cpu);
    }

    public void dmaFreeCoherent(final Cpu cpu, final long va)
    {
        k.pages.freePage(cpu, k.pages.physToPage(va - palimpsest.kernel.Layout.PAGE_OFFSET));
    }

    /** device_pm_add: links the device's power.entry (16 bytes at entry) on dpm_list. */
    public long devicePmAdd(final Cpu cpu, final long entry, final String name)
    {
        pmAddFn.enter(cpu);
        if (cpu.load64(Globals.PM_SLEEPING) != 0)
        {
            if (!k.patches.enabled("device-pm-add-warn"))
            {
                k.printk.printk(cpu, "PM: Adding info for " + name + " while the system is sleeping: refused");
                return pmAddFn.leave(cpu, EBUSY);
            }
            k.printk.printk(cpu, "WARNING: device_pm_add: " + name + " added while the system is sleeping");
        }
        Lists.addTail(cpu, entry, Globals.DPM_LIST);
        return pmAddFn.leave(cpu, 0);
    }

    public void devicePmRemove(final Cpu cpu, final long entry)
    {
        pmRemoveFn.enter(cpu);
        Lists.del(cpu, entry);
        pmRemoveFn.leave(cpu);
    }

}
