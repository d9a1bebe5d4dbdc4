package palimpsest.kernel.akaros;

import java.util.function.LongSupplier;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.sched.Task;

/**
 * Akaros's {@code proc_yield} for an SCP that is not being nice (patch {@code akaros-proc-yield}),
 * and the {@code smp_idle} it ends in. The process's user context is saved in the core's
 * {@code actual_ctx} (not on the stack: the stack is about to be reused), the core is abandoned
 * (no owning process, the kernel's page table), and the core idles: {@code smp_idle} never
 * returns, it restarts the process from the saved context ({@code proc_restartcore}) with the
 * stack it abandoned.
 *
 * <p>{@code smp_idle}, three ways:
 * <pre>
 *   akaros-reset-stacks absent:   nothing: __smp_idle runs on below the yield's frames
 *   akaros-reset-stacks (bug):    set_stack_pointer(get_stack_top()); then FP = 0   -- IRQs on
 *   + akaros-smp-idle-fp-first:   disable_irq(); FP = 0; then set_stack_pointer(get_stack_top())
 * </pre>
 * With the bug an interrupt between the SP write and the FP write runs its handler on the freshly
 * reset stack while FP still points at smp_idle's frame, deep in the yield's old frames: below the
 * SP the handler is using, in the bytes its own frames are about to overwrite.
 *
 * <p>proc_yield keeps three locals (0x18 bytes: p, vcoreid, state), so its frames end where they end;
 * see {@link Perfmon} for the handler's side of the same stack.
 */
public final class ProcYield
{
    public static final int SYS_PROC_YIELD = 18;
    private static final int YIELD_LOCALS = 0x18;

    private final Kernel k;
    private final Fn sysProcYield;
    private final Fn procYield;
    private final Fn saveContext;
    private final Fn abandonCore;
    private final Fn smpIdleInner;
    private final Fn restartCore;

    public ProcYield(final Kernel k)
    {
        this.k = k;
        this.sysProcYield = k.text.fn("sys_proc_yield", 0x40);
        this.procYield = k.text.fn("proc_yield", 0x100);
        this.saveContext = k.text.fn("__proc_save_context_s", 0x80);
        this.abandonCore = k.text.fn("abandon_core", 0x40);
        this.smpIdleInner = k.text.fn("__smp_idle", 0x60);
        this.restartCore = k.text.fn("proc_restartcore", 0x80);
    }

    /**
     * A system call that may end in smp_idle: runs it, and when the core was restarted from the
     * saved context instead of returning, rebuilds the entry's stack from that context (the
     * caller then leaves through the normal exit path, to user mode). frame = the trap frame.
     */
    public long syscall(final Cpu cpu, final long frame, final LongSupplier call)
    {
        try
        {
            return call.getAsLong();
        }
        catch (final RestartCore restarted)
        {
            restoreFrame(cpu, frame);
            return 0;
        }
    }

    /** SYS_proc_yield(being_nice). */
    public long sysProcYield(final Cpu cpu, final long frame, final long beingNice)
    {
        sysProcYield.enter(cpu);
        if (!k.patches.enabled("akaros-proc-yield") || beingNice != 0)
        {
            k.sched.schedule(cpu);
            return sysProcYield.leave(cpu, 0);
        }
        procYieldBody(cpu, frame);
        return sysProcYield.leave(cpu, 0);
    }

    private void procYieldBody(final Cpu cpu, final long frame)
    {
        procYield.enter(cpu);
        cpu.setSp(cpu.sp() - YIELD_LOCALS);
        final long fp = cpu.fp();
        final long t = k.current(cpu);
        cpu.store64(fp - 8, t);                       // struct proc *p = current
        cpu.store64(fp - 16, 0);                      // vcoreid
        cpu.store64(fp - 24, cpu.load64(t + Task.STATE));
        procYield.at(cpu, 0x40);
        saveContextBody(cpu, frame);
        procYield.at(cpu, 0x60);
        abandonCoreBody(cpu);
        procYield.at(cpu, 0x80);
        smpIdle(cpu);
    }

    /** __proc_save_context_s: the user context (pt_regs, rbp, pc, trap frame) into pcpui->actual_ctx. */
    private void saveContextBody(final Cpu cpu, final long frame)
    {
        saveContext.enter(cpu);
        final long ctx = k.thisCpu(cpu) + AkarosPerCpu.ACTUAL_CTX;
        final long from = frame - 144;
        for (int i = 0; i < AkarosPerCpu.CTX_WORDS; i++)
        {
            cpu.store64(ctx + i * 8L, cpu.load64(from + i * 8L));
        }
        cpu.store64(k.thisCpu(cpu) + AkarosPerCpu.OWNING_CR3, cpu.cr3());
        saveContext.leave(cpu);
    }

    /** abandon_core: no process owns the core any more; back to the kernel's page table. */
    private void abandonCoreBody(final Cpu cpu)
    {
        abandonCore.enter(cpu);
        cpu.store64(k.thisCpu(cpu) + AkarosPerCpu.PROCLESS, 1);
        cpu.writeCr3(k.pt.swapperPgd(cpu));
        abandonCore.leave(cpu);
    }

    /** smp_idle: noreturn. */
    private void smpIdle(final Cpu cpu)
    {
        final Fn f = k.boot.idleFn();
        f.enter(cpu);
        final long top = cpu.load64(k.current(cpu) + Task.STACK) + Layout.THREAD_SIZE;
        if (k.patches.enabled("akaros-reset-stacks"))
        {
            if (k.patches.enabled("akaros-smp-idle-fp-first"))
            {
                f.at(cpu, 0x8);
                cpu.cli();                            // disable_irq()
                f.at(cpu, 0xc);
                cpu.setFp(0);
                f.at(cpu, 0x10);
                cpu.setSp(top);                       // set_stack_pointer(get_stack_top())
            }
            else
            {
                f.at(cpu, 0x8);
                cpu.setSp(top);                       // set_stack_pointer(get_stack_top())
                f.at(cpu, 0xc);
                cpu.setFp(0);                         // mov %rax,%rbp
            }
        }
        f.at(cpu, 0x18);
        smpIdleInnerBody(cpu);
    }

    /** __smp_idle: the yielded process is runnable again (nothing else to run): restart it. */
    private void smpIdleInnerBody(final Cpu cpu)
    {
        smpIdleInner.enter(cpu);
        if (k.patches.enabled("akaros-kmsg-batch"))
        {
            smpIdleInner.at(cpu, 0x10);
            cpu.load64(k.thisCpu(cpu) + palimpsest.kernel.sched.PerCpu.NEED_RESCHED);
        }
        smpIdleInner.at(cpu, 0x20);
        cpu.load64(k.current(cpu) + Task.STATE);     // try_run_proc: is it runnable?
        restartCoreBody(cpu);
    }

    /** proc_restartcore: the process owns the core again; the saved context is popped at the entry's exit. */
    private void restartCoreBody(final Cpu cpu)
    {
        restartCore.enter(cpu);
        // Interrupts off from here to the iret: the context is rebuilt below SP, where an
        // interrupt's frame would land.
        cpu.cli();
        final long pcpu = k.thisCpu(cpu);
        cpu.writeCr3(cpu.load64(pcpu + AkarosPerCpu.OWNING_CR3));
        cpu.store64(pcpu + AkarosPerCpu.PROCLESS, 0);
        throw RestartCore.INSTANCE;
    }

    /** The entry's stack from actual_ctx: pt_regs, rbp, pc and trap frame back at the stack top; SP and FP on them. */
    private void restoreFrame(final Cpu cpu, final long frame)
    {
        restartCore.at(cpu, 0x40);
        final long ctx = k.thisCpu(cpu) + AkarosPerCpu.ACTUAL_CTX;
        final long to = frame - 144;
        for (int i = 0; i < AkarosPerCpu.CTX_WORDS; i++)
        {
            cpu.store64(to + i * 8L, cpu.load64(ctx + i * 8L));
        }
        cpu.setSp(to);
        cpu.setFp(frame - 16);
    }

    /** Whether no process owns this core (a kernel fault now is Akaros's "Proc-less Page Fault"). */
    public boolean procless(final Cpu cpu)
    {
        return cpu.load64(k.thisCpu(cpu) + AkarosPerCpu.PROCLESS) != 0;
    }
}
