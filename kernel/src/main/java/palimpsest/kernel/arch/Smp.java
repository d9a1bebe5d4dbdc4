package palimpsest.kernel.arch;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.user.Syscalls;

/**
 * Cross-cpu calls and TLB shootdown. {@code smp_call_function} publishes a function pointer and
 * three words of info in kernel data (call_function_data), sends CALL_FUNCTION_VECTOR to every
 * other online cpu and waits until each has acknowledged by decrementing the pending count in
 * memory. The function pointer is called indirectly, through memory.
 *
 * <p>Rule (as in Linux): call it with interrupts enabled and no irq-safe lock held, or two cpus
 * waiting for each other's acknowledgement deadlock.
 */
public final class Smp
{
    private final Kernel k;
    private final Fn callFn;
    private final Fn flushPageFn;
    private final Fn flushRangeFn;
    private final Fn flushAllFn;
    public final Fn flushTlbFunc;
    public final Fn flushTlbAllFunc;

    public Smp(final Kernel k)
    {
        this.k = k;
        this.callFn = k.text.fn("smp_call_function", 0x100);
        this.flushPageFn = k.text.fn("flush_tlb_page", 0x60);
        this.flushRangeFn = k.text.fn("flush_tlb_range", 0x80);
        this.flushAllFn = k.text.fn("flush_tlb_all", 0x60);
        this.flushTlbFunc = k.text.fn("flush_tlb_func", 0x80, this::flushTlbFuncBody);
        this.flushTlbAllFunc = k.text.fn("do_flush_tlb_all", 0x40, this::flushTlbAllBody);
    }

    public long onlineMask(final Cpu cpu)
    {
        return cpu.load64(Globals.CPU_ONLINE_MASK);
    }

    /** Runs func(info) on every other online cpu and waits for all of them. */
    public void callFunction(final Cpu cpu, final long func, final long i0, final long i1, final long i2)
    {
        callFn.enter(cpu);
        k.spin.lock(cpu, Globals.CFD_LOCK);
        // The mask is read under the lock: a cpu leaves the online mask only while holding it
        // (Hotplug.__cpu_disable), so every cpu asked here is still there to acknowledge.
        // JOS has no cross calls: its kernel runs with interrupts off, so a cpu waiting for an
        // acknowledgement from another one in the kernel would wait forever; it flushes locally only.
        final long others = k.irqsOffInKernel ? 0 : onlineMask(cpu) & ~(1L << cpu.apicId());
        if (others == 0)
        {
            k.spin.unlock(cpu, Globals.CFD_LOCK);
            callFn.leave(cpu);
            return;
        }
        cpu.store64(Globals.CFD_FUNC, func);
        cpu.store64(Globals.CFD_INFO, i0);
        cpu.store64(Globals.CFD_INFO + 8, i1);
        cpu.store64(Globals.CFD_INFO + 16, i2);
        cpu.store64(Globals.CFD_PENDING, Long.bitCount(others));
        callFn.at(cpu, 0x40);
        for (int c = 0; c < 64; c++)
        {
            if ((others & (1L << c)) != 0)
            {
                Traps.sendIpi(cpu, c, Traps.VEC_CALL_FUNCTION);
            }
        }
        callFn.at(cpu, 0x80);
        long spins = 0;
        while (cpu.load64(Globals.CFD_PENDING) != 0)
        {
            cpu.compute(16);
            if (++spins > 5_000_000)
            {
                k.oops.bug(cpu, "BUG: smp_call_function timed out waiting for " + cpu.load64(Globals.CFD_PENDING) + " cpus");
            }
        }
        k.spin.unlock(cpu, Globals.CFD_LOCK);
        callFn.leave(cpu);
    }

    /** The CALL_FUNCTION_VECTOR handler's work: run the published function, then acknowledge. */
    void callFunctionInterrupt(final Cpu cpu)
    {
        final long func = cpu.load64(Globals.CFD_FUNC);
        k.callIndirect(cpu, func, Globals.CFD_INFO, 0, 0);
        cpu.xadd(k.spin.atomicSite(), Globals.CFD_PENDING, 8, -1);
    }

    /** flush_tlb_func(info): info = { pgd phys, start, end }; flushes if this cpu runs that address space. */
    private void flushTlbFuncBody(final Cpu cpu)
    {
        flushTlbFunc.prologue(cpu);
        final long info = cpu.reg(Syscalls.RDI);
        final long pgd = cpu.load64(info);
        final long start = cpu.load64(info + 8);
        final long end = cpu.load64(info + 16);
        if (pgd == 0 || cpu.cr3() == pgd)
        {
            localFlush(cpu, start, end);
        }
        flushTlbFunc.leave(cpu);
    }

    private void flushTlbAllBody(final Cpu cpu)
    {
        flushTlbAllFunc.prologue(cpu);
        cpu.reloadCr3();
        flushTlbAllFunc.leave(cpu);
    }

    private static void localFlush(final Cpu cpu, final long start, final long end)
    {
        if (end - start > 32 * Layout.PAGE_SIZE)
        {
            cpu.reloadCr3();
            return;
        }
        for (long a = start; a < end; a += Layout.PAGE_SIZE)
        {
            cpu.invlpg(a);
        }
    }

    /** flush_tlb_page(mm, va). pgdPhys = 0 means a kernel mapping (every address space). */
    public void flushTlbPage(final Cpu cpu, final long pgdPhys, final long va)
    {
        flushPageFn.enter(cpu);
        cpu.invlpg(va);
        if (k.patches.enabled("smp-tlb-shootdown"))
        {
            callFunction(cpu, flushTlbFunc.addr, pgdPhys, va, va + Layout.PAGE_SIZE);
        }
        flushPageFn.leave(cpu);
    }

    public void flushTlbRange(final Cpu cpu, final long pgdPhys, final long start, final long end)
    {
        flushRangeFn.enter(cpu);
        if (pgdPhys == 0 || cpu.cr3() == pgdPhys)
        {
            localFlush(cpu, start, end);
        }
        if (k.patches.enabled("smp-tlb-shootdown"))
        {
            callFunction(cpu, flushTlbFunc.addr, pgdPhys, start, end);
        }
        flushRangeFn.leave(cpu);
    }

    public void flushTlbAll(final Cpu cpu)
    {
        flushAllFn.enter(cpu);
        cpu.reloadCr3();
        callFunction(cpu, flushTlbAllFunc.addr, 0, 0, 0);
        flushAllFn.leave(cpu);
    }
}
