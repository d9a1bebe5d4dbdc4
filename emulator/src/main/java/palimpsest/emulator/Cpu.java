package palimpsest.emulator;

import palimpsest.trace.EventKind;
import palimpsest.trace.EventSink;
import palimpsest.trace.Reg;

/**
 * The instruction API: what emulated code calls to act on the machine. Each call that is an
 * instruction retires one instruction ({@code icount++}); interrupts are taken only at these
 * instruction boundaries and only with IF set; every memory access, including the MMU's table
 * reads, is reported to the event sink. Nothing here allocates.
 *
 * <p>A Cpu is the handle of one {@link Fiber}: it executes on whichever {@link CpuCore} the fiber
 * currently runs on, so a task preempted in an interrupt handler and resumed on another CPU keeps
 * working through the same handle. Registers, TLB and icount belong to the core.
 *
 * <p>Faults: a load or store that cannot be translated raises #PF (CR2 = address) or #GP
 * (non-canonical) through the IDT; when the handler returns, the access is retried, as on
 * hardware.
 */
public final class Cpu
{
    static final int READ = 0;
    static final int WRITE = 1;
    static final int FETCH = 2;

    /** Register id used in REG events for invlpg (a = this, b = the address). */
    public static final int REG_INVLPG = Reg.COUNT;
    /**
     * Register id of the REG event that says a core was reset by INIT/SIPI: b = entry pc, c = id of
     * the fiber it now runs; sp, fp, flags, cr3 and cpl are 0 afterwards.
     */
    public static final int REG_RESET = Reg.COUNT + 1;
    /**
     * Register id of the REG event that only says where the running core is (its icount and pc)
     * before timed actions run that may record device events.
     */
    public static final int REG_SYNC = Reg.COUNT + 2;

    private static final int FAULT_RETRY_LIMIT = 16;
    private static final int TRAP_DEPTH_LIMIT = 24;

    private static final int OP_XCHG = 0;
    private static final int OP_CMPXCHG = 1;
    private static final int OP_XADD = 2;

    /** The byte that makes an atomic instruction atomic. */
    public static final int LOCK_PREFIX = 0xF0;

    final Executor exec;
    final Fiber fiber;
    final EventSink sink;
    CpuCore core;
    /** Trap nesting of this fiber, and whether it is inside trap entry or iret (a fault there is a double fault). */
    int trapDepth;
    boolean delivering;

    Cpu(final Executor exec, final Fiber fiber)
    {
        this.exec = exec;
        this.fiber = fiber;
        this.sink = exec.sink;
    }

    /** The handle of the fiber running on the calling thread (valid inside emulated code only). */
    public static Cpu current()
    {
        final Thread t = Thread.currentThread();
        if (t instanceof Fiber.FiberThread)
        {
            return ((Fiber.FiberThread)t).fiber.cpu;
        }
        throw new IllegalStateException("not on an emulated cpu");
    }

    // ------------------------------------------------------------------ identity and registers

    /** Global id of the core this fiber runs on now. */
    public int id()
    {
        return core.id;
    }

    public int node()
    {
        return core.node;
    }

    public int apicId()
    {
        return core.apicId;
    }

    public Fiber fiber()
    {
        return fiber;
    }

    public Machine machine()
    {
        return exec.machine;
    }

    public CpuCore core()
    {
        return core;
    }

    public long icount()
    {
        return core.icount;
    }

    /** Virtual time now, in ticks (one tick per instruction retired by the running cpu). */
    public long rdtsc()
    {
        boundary();
        return exec.now();
    }

    /** General register r (0..15). Java locals are registers; these are for frames and oops dumps. */
    public long reg(final int r)
    {
        return core.gpr[r];
    }

    public void setReg(final int r, final long value)
    {
        core.gpr[r] = value;
    }

    public long sp()
    {
        return core.sp;
    }

    public long fp()
    {
        return core.fp;
    }

    public long pc()
    {
        return core.pc;
    }

    /** Sets the program counter attributed to the following instructions (not an instruction). */
    public void pc(final long pc)
    {
        core.pc = pc;
    }

    public long cr2()
    {
        return core.cr2;
    }

    public long cr3()
    {
        return core.cr3;
    }

    public int cpl()
    {
        return core.cpl;
    }

    public boolean interruptsEnabled()
    {
        return core.interruptsEnabled();
    }

    // ------------------------------------------------------------------ the instruction boundary

    /**
     * Retires one instruction: first lets the executor act if this core reached a check point
     * (slice end, due timer, pending interrupt). Returns the core the fiber runs on afterwards
     * (an interrupt handler taken here may have moved it).
     */
    private CpuCore boundary()
    {
        CpuCore c = core;
        if (c.icount >= c.checkAt)
        {
            attention();
            c = core;
        }
        c.icount++;
        return c;
    }

    private void attention()
    {
        final Executor x = exec;
        x.checkStop();
        CpuCore c = core;
        x.runDue();
        if (c.icount >= c.sliceEnd)
        {
            x.endSlice(c);
            c = core;
        }
        if (c.icount >= c.perfDue)
        {
            c.perfDue = c.perfPeriod > 0 ?
                c.icount + c.perfPeriod + x.irqDelay(c, (int)(c.lvtPerf & 0xFF)) : Long.MAX_VALUE;
            if ((c.lvtPerf & Apic.LVT_MASKED) == 0)
            {
                x.raise(c, (int)(c.lvtPerf & 0xFF), InterruptSource.PMU);
            }
        }
        deliverPending();
        x.recomputeCheck(core);
    }

    private void deliverPending()
    {
        CpuCore c = core;
        int vector;
        // The instruction after sti runs before any interrupt (the sti shadow), so that
        // "sti; hlt" cannot lose a wakeup.
        while (c.icount != c.stiShadow && c.interruptsEnabled() && (vector = c.deliverableVector()) >= 0)
        {
            c.irr[vector >>> 6] &= ~(1L << (vector & 63));
            c.isr[vector >>> 6] |= 1L << (vector & 63);
            sink.event(EventKind.INTERRUPT, c.id, c.icount, c.pc, vector, exec.sourceOf(c, vector), 0);
            trap(vector, 0);
            c = core;
        }
    }

    // ------------------------------------------------------------------ loads and stores

    public long load(final long vaddr, final int size)
    {
        CpuCore c = boundary();
        final long pa = translate(vaddr, size, READ);
        c = core;
        final long v = c.mem.read(pa, size);
        sink.access(EventKind.LOAD, c.id, c.icount, c.pc, vaddr, pa, size, v, 0);
        return v;
    }

    public void store(final long vaddr, final int size, final long value)
    {
        CpuCore c = boundary();
        final long pa = translate(vaddr, size, WRITE);
        c = core;
        final long old = c.mem.read(pa, size);
        c.mem.write(pa, size, value);
        sink.access(EventKind.STORE, c.id, c.icount, c.pc, vaddr, pa, size, mask(value, size), old);
    }

    public long load8(final long vaddr)
    {
        return load(vaddr, 1);
    }

    public long load16(final long vaddr)
    {
        return load(vaddr, 2);
    }

    public long load32(final long vaddr)
    {
        return load(vaddr, 4);
    }

    public long load64(final long vaddr)
    {
        return load(vaddr, 8);
    }

    public void store8(final long vaddr, final long value)
    {
        store(vaddr, 1, value);
    }

    public void store16(final long vaddr, final long value)
    {
        store(vaddr, 2, value);
    }

    public void store32(final long vaddr, final long value)
    {
        store(vaddr, 4, value);
    }

    public void store64(final long vaddr, final long value)
    {
        store(vaddr, 8, value);
    }

    static long mask(final long value, final int size)
    {
        return size == 8 ? value : value & ((1L << (size * 8)) - 1);
    }

    // ------------------------------------------------------------------ atomics and the LOCK prefix

    /**
     * {@code [lock] xchg} at text address site: returns the old value. Atomic only if the byte at
     * site (fetched from text, through the MMU) is the LOCK prefix 0xF0; otherwise it is a load
     * and a store with an instruction boundary (a possible interrupt or cpu switch) between them.
     */
    public long xchg(final long site, final long vaddr, final int size, final long value)
    {
        return rmw(OP_XCHG, site, vaddr, size, value, 0);
    }

    /** {@code [lock] cmpxchg}: stores update if memory equals expected; returns the old value. */
    public long cmpxchg(final long site, final long vaddr, final int size, final long expected, final long update)
    {
        return rmw(OP_CMPXCHG, site, vaddr, size, expected, update);
    }

    /** {@code [lock] xadd}: adds delta; returns the old value. */
    public long xadd(final long site, final long vaddr, final int size, final long delta)
    {
        return rmw(OP_XADD, site, vaddr, size, delta, 0);
    }

    private long rmw(final int op, final long site, final long vaddr, final int size, final long a, final long b)
    {
        CpuCore c = boundary();
        c.pc = site;
        final long spa = translate(site, 1, FETCH);
        c = core;
        final long prefix = c.mem.read(spa, 1);
        sink.access(EventKind.FETCH, c.id, c.icount, site, site, spa, 1, prefix, 0);
        long pa = translate(vaddr, size, WRITE);
        c = core;
        final long old = c.mem.read(pa, size);
        final long next = mask(apply(op, old, a, b, size), size);
        final boolean doStore = op != OP_CMPXCHG || old == mask(a, size);
        if (prefix == LOCK_PREFIX)
        {
            if (doStore)
            {
                c.mem.write(pa, size, next);
            }
            sink.access(EventKind.RMW, c.id, c.icount, site, vaddr, pa, size, doStore ? next : old, old);
            return old;
        }
        // Unlocked: the read and the write are separate bus cycles, and other CPUs (or an
        // interrupt handler) may run between them.
        sink.access(EventKind.LOAD, c.id, c.icount, site, vaddr, pa, size, old, 0);
        if (doStore)
        {
            c = boundary();
            c.pc = site;
            pa = translate(vaddr, size, WRITE);
            c = core;
            final long cur = c.mem.read(pa, size);
            c.mem.write(pa, size, next);
            sink.access(EventKind.STORE, c.id, c.icount, site, vaddr, pa, size, next, cur);
        }
        return old;
    }

    private static long apply(final int op, final long old, final long a, final long b, final int size)
    {
        switch (op)
        {
            case OP_XCHG: return a;
            case OP_CMPXCHG: return old == mask(a, size) ? b : old;
            default: return old + a;
        }
    }

    // ------------------------------------------------------------------ stack, calls, registers

    /**
     * push: SP -= 8, then an 8-byte store at SP. Every change of SP is a REG event (here one that
     * delta-encodes to a byte or two), so that a trace alone knows SP at every event.
     */
    public void push(final long value)
    {
        final CpuCore c = core;
        c.sp -= 8;
        sink.event(EventKind.REG, c.id, c.icount, c.pc, Reg.SP, c.sp, 0);
        store(c.sp, 8, value);
    }

    /** pop: an 8-byte load at SP, then SP += 8 (a REG event, see {@link #push}). */
    public long pop()
    {
        final long v = load(core.sp, 8);
        final CpuCore c = core;
        c.sp += 8;
        sink.event(EventKind.REG, c.id, c.icount, c.pc, Reg.SP, c.sp, 0);
        return v;
    }

    /**
     * call: pushes the return address (this pc + 5, as a near call) and jumps to target. The Java
     * caller then runs the callee's body; {@link #ret()} pops the return address back into PC.
     */
    public void call(final long target)
    {
        push(core.pc + 5);
        core.pc = target;
    }

    /**
     * ret: pops the return address into PC and returns it. A non-canonical return address (a
     * smashed stack slot) is a #GP at the ret, as on x86-64: the fault's pc is the ret's and its
     * address the popped value; the handler decides what happens (an oops, for kernel code).
     */
    public long ret()
    {
        final long ra = pop();
        if (!Paging.canonical(ra))
        {
            final CpuCore c = core;
            sink.event(EventKind.EXCEPTION, c.id, c.icount, c.pc, Paging.VEC_GP, 0, ra);
            trap(Paging.VEC_GP, 0);
            return ra;
        }
        core.pc = ra;
        return ra;
    }

    public void setSp(final long value)
    {
        final CpuCore c = boundary();
        c.sp = value;
        sink.event(EventKind.REG, c.id, c.icount, c.pc, Reg.SP, value, 0);
    }

    public void setFp(final long value)
    {
        final CpuCore c = boundary();
        c.fp = value;
        sink.event(EventKind.REG, c.id, c.icount, c.pc, Reg.FP, value, 0);
    }

    /** cli / sti. */
    public void setInterrupts(final boolean enabled)
    {
        final CpuCore c = boundary();
        c.flags = enabled ? c.flags | CpuCore.FLAG_IF : c.flags & ~CpuCore.FLAG_IF;
        sink.event(EventKind.REG, c.id, c.icount, c.pc, Reg.FLAGS, c.flags, 0);
        if (enabled)
        {
            if ((c.flags & CpuCore.FLAG_IF) != 0)
            {
                c.stiShadow = c.icount;
            }
            exec.recomputeCheck(c);
        }
    }

    public void cli()
    {
        setInterrupts(false);
    }

    public void sti()
    {
        setInterrupts(true);
    }

    /** mov to CR3: switches address space and flushes the TLB. */
    public void writeCr3(final long value)
    {
        final CpuCore c = boundary();
        c.cr3 = value;
        c.flushTlb();
        sink.event(EventKind.REG, c.id, c.icount, c.pc, Reg.CR3, value, 0);
    }

    /** Reloads CR3 with its current value: flushes the whole TLB. */
    public void reloadCr3()
    {
        writeCr3(core.cr3);
    }

    /** invlpg: drops this core's TLB entry for vaddr's page. Other cores keep theirs. */
    public void invlpg(final long vaddr)
    {
        final CpuCore c = boundary();
        c.flushTlbPage(vaddr);
        sink.event(EventKind.REG, c.id, c.icount, c.pc, REG_INVLPG, vaddr, 0);
    }

    /** lidt: base of the 256-entry table of 8-byte handler addresses. */
    public void lidt(final long base)
    {
        final CpuCore c = boundary();
        c.idtr = base;
    }

    /** Sets the stack used when a trap arrives from user mode (TSS.RSP0). */
    public void setKernelStack(final long rsp0)
    {
        final CpuCore c = boundary();
        c.rsp0 = rsp0;
    }

    /** Drops to user mode (cpl 3) or back to kernel (0); a sysret/iret in miniature. */
    public void setPrivilege(final int cpl)
    {
        final CpuCore c = boundary();
        c.cpl = cpl;
        sink.event(EventKind.REG, c.id, c.icount, c.pc, Reg.CPL, cpl, 0);
    }

    /** Pure ALU work: n instructions that touch no memory. */
    public void compute(final int n)
    {
        final CpuCore c = boundary();
        if (n > 1)
        {
            c.icount += n - 1;
        }
    }

    /**
     * pause: the spin-wait hint. Ends this core's slice at the next boundary so that the CPU being
     * waited for gets to run (virtual time only advances with the running core, so a spin loop
     * without pause would burn its whole slice). Who runs next is still the input source's choice.
     */
    public void pause()
    {
        final CpuCore c = boundary();
        c.sliceEnd = c.icount;
        c.checkAt = c.icount;
    }

    /** rdrand: a random number from the input source (recorded). */
    public long rdrand()
    {
        final CpuCore c = boundary();
        return exec.random(c);
    }

    /**
     * An annotation by the running software (allocation, free, lock, named point), recorded as a
     * MARK event; not an instruction, so it does not perturb icount.
     */
    public void mark(final int type, final long a, final long b)
    {
        final CpuCore c = core;
        sink.event(EventKind.MARK, c.id, c.icount, c.pc, type, a, b);
    }

    /**
     * {@code int n}: a software interrupt through the IDT (how user code makes system calls:
     * number and arguments in general registers, result in register 0). Taken regardless of IF.
     */
    public void intn(final int vector)
    {
        final CpuCore c = boundary();
        sink.event(EventKind.INTERRUPT, c.id, c.icount, c.pc, vector, InterruptSource.SOFTWARE, 0);
        trap(vector, 0);
    }

    // ------------------------------------------------------------------ hlt, APIC, I/O

    /** hlt: waits for an interrupt (takes it on wake if IF is set). */
    public void hlt()
    {
        CpuCore c = boundary();
        exec.checkStop();
        exec.runDue();
        if (c.interruptsEnabled() && c.deliverableVector() >= 0)
        {
            deliverPending();
            exec.recomputeCheck(core);
            return;
        }
        c.halted = true;
        exec.endSlice(c);
        c = core;
        c.halted = false;
        deliverPending();
        exec.recomputeCheck(core);
    }

    public void apicWrite(final int reg, final long value)
    {
        final CpuCore c = boundary();
        exec.apicWrite(c, reg, value);
    }

    public long apicRead(final int reg)
    {
        final CpuCore c = boundary();
        return exec.apicRead(c, reg);
    }

    /** Signals end of interrupt: clears the highest in-service vector. */
    public void eoi()
    {
        apicWrite(Apic.EOI, 0);
    }

    public void out(final int port, final long value)
    {
        final CpuCore c = boundary();
        sink.event(EventKind.IO, c.id, c.icount, c.pc, port, value, 1);
        exec.machine.portOut(this, c.node, port, value);
    }

    public long in(final int port)
    {
        final CpuCore c = boundary();
        final long v = exec.machine.portIn(this, c.node, port);
        sink.event(EventKind.IO, c.id, c.icount, c.pc, port, v, 0);
        return v;
    }

    // ------------------------------------------------------------------ fibers

    /**
     * The stack swap at the heart of switch_to: hands this core to {@code next} (which resumes
     * where it last switched out, or starts at its entry) and parks the caller until some core
     * switches back to it. Saving and loading SP/FP is the kernel's job, in emulated memory.
     */
    public void switchTo(final Fiber next)
    {
        final CpuCore c = boundary();
        exec.switchFiber(c, fiber, next);
    }

    /**
     * Like {@link #switchTo} but the calling fiber is finished: it never runs again and its Java
     * stack unwinds (used for task exit).
     */
    public void exitTo(final Fiber next)
    {
        final CpuCore c = boundary();
        exec.exitFiber(c, fiber, next);
    }

    // ------------------------------------------------------------------ MMU

    private long translate(final long vaddr, final int size, final int access)
    {
        int tries = 0;
        while (true)
        {
            final CpuCore c = core;
            final long pa = tryTranslate(c, vaddr, size, access);
            if (pa >= 0)
            {
                return pa;
            }
            if (++tries > FAULT_RETRY_LIMIT)
            {
                exec.stop(new Outcome(Outcome.Kind.TRIPLE_FAULT, 0,
                    "cpu" + c.id + ": fault loop at " + Long.toHexString(vaddr) + " pc " + exec.machine.symbolizeOrHex(c.pc), null));
            }
            raiseFault(c, pa, vaddr);
        }
    }

    /** Returns the physical address, or a negative encoded fault: -(1 + vector | err << 8). */
    private long tryTranslate(final CpuCore c, final long vaddr, final int size, final int access)
    {
        if (c.cr3 == 0)
        {
            return vaddr;
        }
        if (!Paging.canonical(vaddr))
        {
            return -(1 + Paging.VEC_GP);
        }
        final long vpn = vaddr >>> Paging.PAGE_SHIFT;
        final int i = (int)vpn & CpuCore.TLB_MASK;
        long val;
        if (c.tlbTag[i] == vpn + 1)
        {
            val = c.tlbVal[i];
        }
        else
        {
            val = walk(c, vaddr, access);
            if (val < 0)
            {
                return val;
            }
            c.tlbTag[i] = vpn + 1;
            c.tlbVal[i] = val;
        }
        if ((access == WRITE && (val & CpuCore.TLB_W) == 0) ||
            (c.cpl == 3 && (val & CpuCore.TLB_U) == 0) ||
            (access == FETCH && (val & CpuCore.TLB_NX) != 0))
        {
            return -(1 + Paging.VEC_PF | errorCode(c, access, true) << 8);
        }
        final long off = vaddr & Paging.PAGE_MASK;
        if (off + size > Paging.PAGE_SIZE)
        {
            // An access that crosses into the next page must be able to translate it too.
            final long next = tryTranslate(c, (vaddr | Paging.PAGE_MASK) + 1, 1, access);
            if (next < 0)
            {
                return next;
            }
        }
        return (val & ~Paging.PAGE_MASK) | off;
    }

    private static long errorCode(final CpuCore c, final int access, final boolean present)
    {
        return (present ? Paging.PF_PRESENT : 0) | (access == WRITE ? Paging.PF_WRITE : 0) |
            (c.cpl == 3 ? Paging.PF_USER : 0) | (access == FETCH ? Paging.PF_FETCH : 0);
    }

    /** The 4-level walk, every table read recorded. Returns TLB value or an encoded fault. */
    private long walk(final CpuCore c, final long vaddr, final int access)
    {
        long table = c.cr3 & Paging.ADDR_MASK;
        boolean w = true;
        boolean u = true;
        boolean nx = false;
        for (int level = 4; level >= 1; level--)
        {
            final long ea = table + Paging.index(vaddr, level) * 8L;
            final long e = c.mem.read(ea, 8);
            sink.access(EventKind.WALK, c.id, c.icount, c.pc, vaddr, ea, 8, e, 0);
            if ((e & Paging.P) == 0)
            {
                return -(1 + Paging.VEC_PF | errorCode(c, access, false) << 8);
            }
            if ((e & Paging.RSVD_MASK) != 0)
            {
                return -(1 + Paging.VEC_PF | (errorCode(c, access, true) | Paging.PF_RSVD) << 8);
            }
            w &= (e & Paging.W) != 0;
            u &= (e & Paging.U) != 0;
            nx |= (e & Paging.NX) != 0;
            table = e & Paging.ADDR_MASK;
        }
        return table | (w ? CpuCore.TLB_W : 0) | (u ? CpuCore.TLB_U : 0) | (nx ? CpuCore.TLB_NX : 0);
    }

    private void raiseFault(final CpuCore c, final long encoded, final long vaddr)
    {
        final long e = -encoded - 1;
        final int vector = (int)(e & 0xFF);
        final long err = e >>> 8;
        if (vector == Paging.VEC_PF)
        {
            // As on x86, a page fault drops the TLB entry for the faulting address, so the
            // handler's fix is seen on retry.
            c.cr2 = vaddr;
            c.flushTlbPage(vaddr);
        }
        sink.event(EventKind.EXCEPTION, c.id, c.icount, c.pc, vector, err, vaddr);
        trap(vector, err);
    }

    // ------------------------------------------------------------------ trap entry and iret

    /**
     * Trap frame, pushed at SP (or at RSP0 when coming from user mode), highest address first:
     * <pre>
     *   +48  SS (0)
     *   +40  old SP
     *   +32  FLAGS
     *   +24  CS (old cpl)
     *   +16  return PC
     *    +8  error code
     *    +0  vector            &lt;- SP on handler entry
     * </pre>
     * The handler runs with IF clear; when it returns, iret pops the frame from memory, so a
     * handler that clobbers it resumes somewhere else, as on hardware.
     */
    public static final int TRAP_FRAME_SIZE = 56;

    /**
     * Bit 0 of an IDT entry: a trap gate. Delivery through a trap gate leaves IF as it was (an
     * interrupt gate, the default, clears it), as on x86.
     */
    public static final long IDT_TRAP_GATE = 1;

    private void trap(final int vector, final long err)
    {
        CpuCore c = core;
        if (delivering)
        {
            exec.stop(new Outcome(Outcome.Kind.TRIPLE_FAULT, 0, "cpu" + c.id + ": double fault (vector " + vector +
                " while delivering another, sp " + Long.toHexString(c.sp) + ")", null));
        }
        if (c.idtr == 0)
        {
            exec.stop(new Outcome(Outcome.Kind.TRIPLE_FAULT, 0,
                "cpu" + c.id + ": vector " + vector + " with no IDT at pc " + exec.machine.symbolizeOrHex(c.pc), null));
        }
        if (trapDepth >= TRAP_DEPTH_LIMIT)
        {
            exec.stop(new Outcome(Outcome.Kind.TRIPLE_FAULT, 0,
                "cpu" + c.id + ": traps nested too deep (vector " + vector + ")", null));
        }
        trapDepth++;
        delivering = true;
        final Routine r;
        final long handler;
        try
        {
            c.icount++;
            final long oldSp = c.sp;
            final long oldFlags = c.flags;
            final long oldCpl = c.cpl;
            final long oldPc = c.pc;
            // Leave user mode first: the IDT read and the frame pushes are supervisor accesses
            // (the IDT and the kernel stack are not user pages).
            if (c.cpl == 3)
            {
                c.sp = c.rsp0;
                sink.event(EventKind.REG, c.id, c.icount, c.pc, Reg.SP, c.sp, 0);
                c.cpl = 0;
                sink.event(EventKind.REG, c.id, c.icount, c.pc, Reg.CPL, 0, 0);
            }
            final long gate = rawLoad(c.idtr + vector * 8L);
            final boolean trapGate = (gate & IDT_TRAP_GATE) != 0;
            handler = gate & ~IDT_TRAP_GATE;
            r = exec.machine.code().routineAt(handler);
            if (r == null)
            {
                exec.stop(new Outcome(Outcome.Kind.TRIPLE_FAULT, 0, "cpu" + c.id + ": vector " + vector +
                    " handler " + Long.toHexString(handler) + " is not code", null));
            }
            final long top = c.sp;
            rawStore(top - 8, 0);
            rawStore(top - 16, oldSp);
            rawStore(top - 24, oldFlags);
            rawStore(top - 32, oldCpl);
            rawStore(top - 40, oldPc);
            rawStore(top - 48, err);
            rawStore(top - 56, vector);
            c = core;
            // The whole frame is written below SP first, then SP moves once: one REG event.
            c.sp -= TRAP_FRAME_SIZE;
            sink.event(EventKind.REG, c.id, c.icount, c.pc, Reg.SP, c.sp, 0);
            if ((c.flags & CpuCore.FLAG_IF) != 0 && !trapGate)
            {
                c.flags &= ~CpuCore.FLAG_IF;
                sink.event(EventKind.REG, c.id, c.icount, c.pc, Reg.FLAGS, c.flags, 0);
            }
            c.pc = handler;
        }
        finally
        {
            delivering = false;
        }
        try
        {
            r.run(this);
            iret();
        }
        finally
        {
            trapDepth--;
        }
    }

    private void iret()
    {
        final CpuCore c = core;
        c.icount++;
        delivering = true;
        try
        {
            // The frame is read in place; the registers then change one REG event each (pc is
            // carried by every event), so a trace knows them at every event.
            final long base = c.sp;
            rawLoad(base);
            rawLoad(base + 8);
            final long pc = rawLoad(base + 16);
            final long cpl = rawLoad(base + 24);
            final long flags = rawLoad(base + 32);
            final long sp = rawLoad(base + 40);
            rawLoad(base + 48);
            final CpuCore k = core;
            k.pc = pc;
            k.sp = sp;
            sink.event(EventKind.REG, k.id, k.icount, k.pc, Reg.SP, sp, 0);
            if (k.flags != flags)
            {
                k.flags = flags;
                sink.event(EventKind.REG, k.id, k.icount, k.pc, Reg.FLAGS, flags, 0);
            }
            if (k.cpl != ((int)cpl & 3))
            {
                k.cpl = (int)cpl & 3;
                sink.event(EventKind.REG, k.id, k.icount, k.pc, Reg.CPL, k.cpl, 0);
            }
        }
        finally
        {
            delivering = false;
        }
        exec.recomputeCheck(c);
    }

    /** An 8-byte load by the CPU itself (trap entry, iret): recorded, but not an instruction. */
    private long rawLoad(final long vaddr)
    {
        final long pa = translate(vaddr, 8, READ);
        final CpuCore c = core;
        final long v = c.mem.read(pa, 8);
        sink.access(EventKind.LOAD, c.id, c.icount, c.pc, vaddr, pa, 8, v, 0);
        return v;
    }

    /** An 8-byte store by the CPU itself (the trap frame, written below SP before SP moves). */
    private void rawStore(final long va, final long value)
    {
        final CpuCore c = core;
        final long pa = translate(va, 8, WRITE);
        final long old = c.mem.read(pa, 8);
        c.mem.write(pa, 8, value);
        sink.access(EventKind.STORE, c.id, c.icount, c.pc, va, pa, 8, value, old);
    }

    @Override
    public String toString()
    {
        return "cpu" + (core == null ? "?" : core.id) + "/" + fiber.name;
    }
}
