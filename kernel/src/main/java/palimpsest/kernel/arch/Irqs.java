package palimpsest.kernel.arch;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;

/**
 * Device interrupts for drivers: {@code request_irq(vector, handler, dev_id)} fills
 * {@code irq_desc[vector]} (kernel data: handler, dev_id); an interrupt at a vector the IDT gives
 * no other handler runs {@code do_IRQ}, which acks the local APIC and calls
 * {@code handler(vector, dev_id)} through the pointer in memory (a stale handler after a module
 * unload without free_irq is a jump into freed text, as on Linux); with no handler it is a
 * spurious interrupt. The NIC raises its RX and TX vectors (ports RX_VECTOR/TX_VECTOR) like any
 * other device; {@link #raise} is a device model's way to interrupt a cpu (a fixed IPI).
 *
 * <pre>
 * irq_desc[256] (16 bytes each, kzalloc'ed at the first request_irq): +0 handler  +8 dev_id
 * </pre>
 */
public final class Irqs
{
    public static final int DESC_SIZE = 16;
    public static final long EBUSY = -16;
    public static final long EINVAL = -22;
    /** Vectors from here up are free for devices (below are exceptions and the kernel's own). */
    public static final int FIRST_DEVICE_VECTOR = 0x40;

    private final Kernel k;
    private final Fn requestFn;
    private final Fn freeFn;
    private final Fn doIrqFn;

    public Irqs(final Kernel k)
    {
        this.k = k;
        this.requestFn = k.text.fn("request_irq", 0x60);
        this.freeFn = k.text.fn("free_irq", 0x40);
        this.doIrqFn = k.text.fn("do_IRQ", 0x60);
    }

    /** request_irq: 0, -EBUSY when the vector has a handler, -EINVAL for a vector below {@link #FIRST_DEVICE_VECTOR}. */
    public long request(final Cpu cpu, final int vector, final long handler, final long devId)
    {
        requestFn.enter(cpu);
        if (vector < FIRST_DEVICE_VECTOR || vector > 0xEF)
        {
            return requestFn.leave(cpu, EINVAL);
        }
        long table = cpu.load64(Globals.IRQ_DESC);
        if (table == 0)
        {
            table = k.slab.kzalloc(cpu, 256 * DESC_SIZE);
            cpu.store64(Globals.IRQ_DESC, table);
        }
        final long d = table + vector * (long)DESC_SIZE;
        if (cpu.load64(d) != 0)
        {
            return requestFn.leave(cpu, EBUSY);
        }
        cpu.store64(d + 8, devId);
        cpu.store64(d, handler);
        return requestFn.leave(cpu, 0);
    }

    /** free_irq: only the owner (same dev_id) frees the vector. */
    public void free(final Cpu cpu, final int vector, final long devId)
    {
        freeFn.enter(cpu);
        final long table = cpu.load64(Globals.IRQ_DESC);
        final long d = table + vector * (long)DESC_SIZE;
        if (table != 0 && vector >= FIRST_DEVICE_VECTOR && vector <= 0xEF && cpu.load64(d + 8) == devId)
        {
            cpu.store64(d, 0);
            cpu.store64(d + 8, 0);
        }
        freeFn.leave(cpu);
    }

    /** do_IRQ, from the vector's IDT entry: true when a driver handled it. */
    boolean handle(final Cpu cpu, final int vector)
    {
        if (vector < FIRST_DEVICE_VECTOR || vector > 0xEF)
        {
            return false;
        }
        final long table = cpu.load64(Globals.IRQ_DESC);
        if (table == 0)
        {
            return false;
        }
        final long d = table + vector * (long)DESC_SIZE;
        doIrqFn.enter(cpu);
        final long handler = cpu.load64(d);
        if (handler == 0)
        {
            doIrqFn.leave(cpu);
            return false;
        }
        cpu.eoi();
        k.callIndirect(cpu, handler, vector, cpu.load64(d + 8), 0);
        doIrqFn.leave(cpu);
        return true;
    }

    /** A device interrupting a cpu at a vector (a fixed IPI from the current cpu). */
    public static void raise(final Cpu cpu, final int apicId, final int vector)
    {
        Traps.sendIpi(cpu, apicId, vector);
    }
}
