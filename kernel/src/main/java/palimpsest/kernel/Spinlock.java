package palimpsest.kernel;

import palimpsest.emulator.Cpu;

/**
 * Spinlocks on the emulator's atomics. The lock word (4 bytes in emulated memory) holds 0 when
 * free and the owner's cpu id + 1 when held. The {@code xchg} runs at a text site of
 * {@code _spin_lock} whose byte is the LOCK prefix 0xF0; if that byte were patched away (UP
 * alternatives), the exchange would stop being atomic, exactly as on hardware.
 *
 * <p>Unlock is a plain store (x86 {@code spin_unlock} is a {@code mov}). A cpu spinning for too
 * long reports a lockup and stops the machine.
 */
public final class Spinlock
{
    private static final long LOCKUP_SPINS = 20_000_000L;

    private final Kernel k;
    private final Fn lockFn;
    private final Fn unlockFn;
    private final long site;

    Spinlock(final Kernel k)
    {
        this.k = k;
        this.lockFn = k.text.fn("_spin_lock", 0x40);
        this.unlockFn = k.text.fn("_spin_unlock", 0x20);
        this.site = k.text.lockSite(lockFn, 0x8);
    }

    public void lock(final Cpu cpu, final long lock)
    {
        lockFn.enter(cpu);
        final long me = cpu.apicId() + 1;
        long spins = 0;
        while (cpu.xchg(site, lock, 4, me) != 0)
        {
            lockFn.at(cpu, 0x14);
            while (cpu.load32(lock) != 0)
            {
                cpu.compute(4);
                if (++spins > LOCKUP_SPINS)
                {
                    k.oops.bug(cpu, "BUG: spinlock lockup on CPU#" + cpu.apicId() + ", lock " + Long.toHexString(lock) +
                        " held by CPU#" + (cpu.load32(lock) - 1));
                }
            }
        }
        cpu.mark(Mark.LOCK_ACQUIRE, lock, cpu.load64(cpu.fp() + 8));
        lockFn.leave(cpu);
    }

    public void unlock(final Cpu cpu, final long lock)
    {
        unlockFn.enter(cpu);
        cpu.mark(Mark.LOCK_RELEASE, lock, cpu.pc());
        cpu.store32(lock, 0);
        unlockFn.leave(cpu);
    }

    /** spin_lock_irqsave: returns whether interrupts were enabled (the saved flags). */
    public boolean lockIrqSave(final Cpu cpu, final long lock)
    {
        final boolean flags = cpu.interruptsEnabled();
        if (flags)
        {
            cpu.cli();
        }
        lock(cpu, lock);
        return flags;
    }

    public void unlockIrqRestore(final Cpu cpu, final long lock, final boolean flags)
    {
        unlock(cpu, lock);
        if (flags)
        {
            cpu.sti();
        }
    }

    /** The LOCK-prefixed site used by the kernel's other atomics (atomic_inc/dec/add). */
    public long atomicSite()
    {
        return site;
    }
}
