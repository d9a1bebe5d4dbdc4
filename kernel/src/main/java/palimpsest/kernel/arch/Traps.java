package palimpsest.kernel.arch;

import palimpsest.emulator.Apic;
import palimpsest.emulator.Cpu;
import palimpsest.emulator.Paging;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Once;
import palimpsest.kernel.sched.PerCpu;
import palimpsest.kernel.user.Syscalls;

/**
 * The IDT and the trap/interrupt entry code.
 *
 * <p>On entry the CPU has pushed its trap frame (see {@link Cpu#TRAP_FRAME_SIZE}); the entry code
 * then pushes the interrupted pc as a return address and rbp (so backtraces run through the
 * interrupted code) and saves the 16 general registers (pt_regs), because a handler may
 * schedule and the next task would clobber them:
 * <pre>
 *   frame+48 SS | +40 old SP | +32 FLAGS | +24 CS (cpl) | +16 PC | +8 error | +0 vector   &lt;- frame
 *   frame-8   interrupted pc (as a return address)
 *   frame-16  interrupted rbp                                                           &lt;- rbp
 *   rbp-8     r0 (rax) ... rbp-128 r15                                                  pt_regs
 * </pre>
 */
public final class Traps
{
    public static final int VEC_GP = Paging.VEC_GP;
    public static final int VEC_PF = Paging.VEC_PF;
    public static final int VEC_SYSCALL = 0x80;
    public static final int VEC_TIMER = 0xEF;
    public static final int VEC_CALL_FUNCTION = 0xFB;
    public static final int VEC_RESCHEDULE = 0xFD;
    public static final int VEC_SPURIOUS = 0xFF;

    public static final int F_ERR = 8;
    public static final int F_PC = 16;
    public static final int F_CS = 24;
    public static final int F_FLAGS = 32;
    public static final int F_SP = 40;
    static final long FLAG_IF = 1L << 9;

    private final Kernel k;
    public final Fn unexpected;
    public final Fn generalProtection;
    public final Fn pageFault;
    public final Fn systemCall;
    public final Fn timerInterrupt;
    public final Fn callFunctionInterrupt;
    public final Fn rescheduleInterrupt;
    public final Fn spurious;
    public final Fn pmInterrupt;
    private final Fn trapInit;

    public Traps(final Kernel k)
    {
        this.k = k;
        this.unexpected = k.text.fn("do_trap", 0x80, this::doTrap);
        this.generalProtection = k.text.fn("general_protection", 0x80, this::doGeneralProtection);
        this.pageFault = k.text.fn("page_fault", 0x100, this::doPageFault);
        this.systemCall = k.text.fn("system_call", 0x100, this::doSystemCall);
        this.timerInterrupt = k.text.fn("apic_timer_interrupt", 0x80, this::doTimer);
        this.callFunctionInterrupt = k.text.fn("call_function_interrupt", 0x80, this::doCallFunction);
        this.rescheduleInterrupt = k.text.fn("reschedule_interrupt", 0x60, this::doReschedule);
        this.spurious = k.text.fn("spurious_interrupt", 0x40, this::doSpurious);
        this.pmInterrupt = k.text.fn("acpi_interrupt", 0x60, this::doPm);
        this.trapInit = k.text.fn("trap_init", 0x80);
    }

    /** trap_init: fills the IDT (kernel data) with handler addresses. */
    public void init(final Cpu cpu)
    {
        trapInit.enter(cpu);
        for (int v = 0; v < 256; v++)
        {
            final Fn h;
            switch (v)
            {
                case VEC_GP: h = generalProtection; break;
                case VEC_PF: h = pageFault; break;
                case VEC_SYSCALL: h = systemCall; break;
                case VEC_TIMER:
                    if (k.jos != null)
                    {
                        cpu.store64(Globals.IDT + v * 8L, k.jos.trap.timerGate(timerInterrupt.addr));
                        continue;
                    }
                    h = timerInterrupt;
                    break;
                case VEC_CALL_FUNCTION: h = callFunctionInterrupt; break;
                case VEC_RESCHEDULE: h = rescheduleInterrupt; break;
                case palimpsest.kernel.power.Pm.VEC_PM: h = pmInterrupt; break;
                default: h = v < 32 ? unexpected : spurious; break;
            }
            cpu.store64(Globals.IDT + v * 8L, h.addr);
        }
        if (k.akaros != null)
        {
            cpu.store64(Globals.IDT + palimpsest.kernel.akaros.Perfmon.VEC_PERFMON * 8L, k.akaros.perfmon.handleIrq.addr);
        }
        trapInit.leave(cpu);
    }

    // ------------------------------------------------------------------ entry / exit

    /** Entry: pushes the pseudo return address, rbp, and pt_regs. Returns the trap frame address. */
    public long entry(final Cpu cpu, final Fn f)
    {
        final long frame = cpu.sp();
        cpu.push(cpu.load64(frame + F_PC));
        cpu.push(cpu.fp());
        cpu.setFp(cpu.sp());
        for (int i = 0; i < 16; i++)
        {
            cpu.push(cpu.reg(i));
        }
        cpu.pc(f.addr + 8);
        return frame;
    }

    public void exit(final Cpu cpu, final Fn f)
    {
        cpu.pc(f.addr + f.size - 4);
        cpu.setSp(cpu.fp() - 128);
        for (int i = 15; i >= 0; i--)
        {
            cpu.setReg(i, cpu.pop());
        }
        cpu.setFp(cpu.pop());
        cpu.pop();
    }

    /** Address of saved register r in the pt_regs of the frame whose rbp is fp. */
    public static long regAddr(final long fp, final int r)
    {
        return fp - 8L * (r + 1);
    }

    private static boolean fromUser(final Cpu cpu, final long frame)
    {
        return (cpu.load64(frame + F_CS) & 3) == 3;
    }

    /** On the way back to user mode: reschedule if asked to, and freeze if the freezer is on. */
    private void exitToUser(final Cpu cpu, final long frame)
    {
        if (fromUser(cpu, frame))
        {
            if (cpu.load64(k.thisCpu(cpu) + PerCpu.NEED_RESCHED) != 0)
            {
                k.sched.schedule(cpu);
            }
            k.freezer.tryToFreeze(cpu);
        }
    }

    // ------------------------------------------------------------------ handlers

    private void doTrap(final Cpu cpu)
    {
        final long frame = entry(cpu, unexpected);
        final long vector = cpu.load64(frame);
        if (fromUser(cpu, frame))
        {
            k.printk.printk(cpu, "traps: " + k.sched.comm(cpu, k.current(cpu)) + "[" + k.sched.pid(cpu, k.current(cpu)) +
                "] trap " + vector + " ip:" + Long.toHexString(cpu.load64(frame + F_PC)));
            k.sched.doExit(cpu, 128 + 4);
        }
        k.oops.bug(cpu, "unexpected trap " + vector + " at " + k.symbolize(cpu.load64(frame + F_PC)));
    }

    private void doGeneralProtection(final Cpu cpu)
    {
        final long frame = entry(cpu, generalProtection);
        if (fromUser(cpu, frame))
        {
            userFault(cpu, frame, "general protection", cpu.cr2());
        }
        k.oops.generalProtection(cpu, cpu.load64(frame + F_ERR), cpu.load64(frame + F_PC), cpu.load64(frame + F_SP),
            cpu.load64(frame + F_FLAGS), cpu.fp());
    }

    private void doPageFault(final Cpu cpu)
    {
        final long frame = entry(cpu, pageFault);
        final long addr = cpu.cr2();
        final long err = cpu.load64(frame + F_ERR);
        final boolean user = fromUser(cpu, frame);
        if (k.akaros != null && !user && k.akaros.yield.procless(cpu))
        {
            k.akaros.trap.proclessFault(cpu, frame, cpu.fp(), addr);
        }
        if ((cpu.load64(frame + F_FLAGS) & FLAG_IF) != 0 && !k.irqsOffInKernel)
        {
            cpu.sti();
        }
        pageFault.at(cpu, 0x30);
        if (Layout.isUser(addr) && k.vm.handleFault(cpu, addr, err, cpu.load64(frame + F_PC)))
        {
            cpu.cli();
            exitToUser(cpu, frame);
            exit(cpu, pageFault);
            return;
        }
        if (user && k.jos != null && Layout.isUser(addr) && k.jos.env.userFault(cpu, frame, addr, err))
        {
            exitToUser(cpu, frame);
            exit(cpu, pageFault);
            return;
        }
        if (user)
        {
            userFault(cpu, frame, "segfault", addr);
        }
        pageFault.at(cpu, 0x60);
        k.oops.pageFault(cpu, addr, err, cpu.load64(frame + F_PC), cpu.load64(frame + F_SP), cpu.load64(frame + F_FLAGS),
            cpu.fp());
    }

    private void userFault(final Cpu cpu, final long frame, final String what, final long addr)
    {
        final long t = k.current(cpu);
        if (k.lego != null && what.equals("general protection"))
        {
            // LegoOS's own report is the whole message (the diary's shape): no second line.
            legoGeneralProtection(cpu, frame, t);
            k.sched.doExit(cpu, 128 + 11);
        }
        k.printk.printk(cpu, k.sched.comm(cpu, t) + "[" + k.sched.pid(cpu, t) + "]: " + what + " at " + Long.toHexString(addr) +
            " ip " + k.symbolize(cpu.load64(frame + F_PC)) + " sp " + Long.toHexString(cpu.load64(frame + F_SP)) +
            " error " + cpu.load64(frame + F_ERR));
        k.sched.doExit(cpu, 128 + 11);
    }

    /** LegoOS prints a user #GP as its diary shows: the ip, the task and the user registers. */
    private void legoGeneralProtection(final Cpu cpu, final long frame, final long t)
    {
        final long fp = cpu.fp();
        final long ip = cpu.load64(frame + F_PC);
        final long sp = cpu.load64(frame + F_SP);
        final String comm = k.sched.comm(cpu, t);
        k.printk.printk(cpu, String.format("%s[%d] general protection ip:%x sp:%x error:%x", comm, k.sched.pid(cpu, t), ip, sp,
            cpu.load64(frame + F_ERR)));
        k.printk.printk(cpu, String.format("CPU: %d PID: %d Comm: %s", cpu.apicId(), k.sched.pid(cpu, t), comm));
        k.printk.printk(cpu, String.format("RIP: 0033:[<%016x>]  [<%016x>] %s", ip, ip, k.symbolize(ip)));
        k.printk.printk(cpu, String.format("RSP: 002b:%016x  EFLAGS: %08x", sp, cpu.load64(frame + F_FLAGS)));
        k.printk.printk(cpu, String.format("RAX: %016x RBX: %016x RCX: %016x", cpu.load64(regAddr(fp, Syscalls.RAX)),
            cpu.load64(regAddr(fp, Syscalls.RBX)), cpu.load64(regAddr(fp, Syscalls.RCX))));
        k.printk.printk(cpu, String.format("RDX: %016x RSI: %016x RDI: %016x", cpu.load64(regAddr(fp, Syscalls.RDX)),
            cpu.load64(regAddr(fp, Syscalls.RSI)), cpu.load64(regAddr(fp, Syscalls.RDI))));
        // The user's rbp is the one entry saved below pt_regs; r8..r15 are pt_regs 6..13.
        k.printk.printk(cpu, String.format("RBP: %016x R08: %016x R09: %016x", cpu.load64(fp), cpu.load64(regAddr(fp, 6)),
            cpu.load64(regAddr(fp, 7))));
        k.printk.printk(cpu, String.format("R10: %016x R11: %016x R12: %016x", cpu.load64(regAddr(fp, 8)), cpu.load64(regAddr(fp, 9)),
            cpu.load64(regAddr(fp, 10))));
        k.printk.printk(cpu, String.format("R13: %016x R14: %016x R15: %016x", cpu.load64(regAddr(fp, 11)),
            cpu.load64(regAddr(fp, 12)), cpu.load64(regAddr(fp, 13))));
        k.printk.printk(cpu, String.format("CR2: %016x CR3: %016x", cpu.cr2(), cpu.cr3()));
    }

    private void doSystemCall(final Cpu cpu)
    {
        final long frame = entry(cpu, systemCall);
        final long fp = cpu.fp();
        if (!k.irqsOffInKernel)
        {
            cpu.sti();
        }
        final long nr = cpu.load64(regAddr(fp, Syscalls.RAX));
        final long ret;
        if (k.akaros != null)
        {
            // Akaros: a system call may abandon this stack for smp_idle and come back restarted.
            ret = k.akaros.yield.syscall(cpu, frame, () -> dispatch(cpu, frame, fp, nr));
        }
        else
        {
            ret = dispatch(cpu, frame, fp, nr);
        }
        systemCall.at(cpu, 0x80);
        cpu.store64(regAddr(fp, Syscalls.RAX), ret);
        cpu.cli();
        exitToUser(cpu, frame);
        exit(cpu, systemCall);
    }

    private long dispatch(final Cpu cpu, final long frame, final long fp, final long nr)
    {
        return k.sys.dispatch(cpu, frame, fp, nr, cpu.load64(regAddr(fp, Syscalls.RDI)), cpu.load64(regAddr(fp, Syscalls.RSI)),
            cpu.load64(regAddr(fp, Syscalls.RDX)), cpu.load64(regAddr(fp, Syscalls.R10)), cpu.load64(regAddr(fp, Syscalls.R8)));
    }

    private void doTimer(final Cpu cpu)
    {
        final long frame = entry(cpu, timerInterrupt);
        final boolean eoiFirst = k.jos != null && k.patches.enabled("jos-lapic-eoi-first");
        if (eoiFirst)
        {
            cpu.eoi();
        }
        if (k.jos != null && k.patches.enabled("jos-timer-irq"))
        {
            k.jos.trap.checkTimer(cpu, frame);
        }
        if (!eoiFirst)
        {
            cpu.eoi();
        }
        final long pcpu = k.thisCpu(cpu);
        cpu.store64(pcpu + PerCpu.TICKS, cpu.load64(pcpu + PerCpu.TICKS) + 1);
        if (cpu.apicId() == 0)
        {
            cpu.store64(Globals.JIFFIES, cpu.load64(Globals.JIFFIES) + 1);
            k.timers.run(cpu);
        }
        cpu.store64(pcpu + PerCpu.NEED_RESCHED, 1);
        preemptIfIdleOrUser(cpu, frame, pcpu);
        exit(cpu, timerInterrupt);
    }

    private void preemptIfIdleOrUser(final Cpu cpu, final long frame, final long pcpu)
    {
        final long cur = cpu.load64(pcpu + PerCpu.CURRENT);
        if (fromUser(cpu, frame))
        {
            k.sched.schedule(cpu);
            k.freezer.tryToFreeze(cpu);
        }
        else if (cur == cpu.load64(pcpu + PerCpu.IDLE) && Once.read64(cpu, pcpu + PerCpu.RQ_NR) != 0)
        {
            // The idle loop was interrupted at its hlt: run the woken task now rather than halting
            // until the next tick.
            k.sched.schedule(cpu);
        }
    }

    private void doReschedule(final Cpu cpu)
    {
        final long frame = entry(cpu, rescheduleInterrupt);
        cpu.eoi();
        final long pcpu = k.thisCpu(cpu);
        cpu.store64(pcpu + PerCpu.NEED_RESCHED, 1);
        preemptIfIdleOrUser(cpu, frame, pcpu);
        exit(cpu, rescheduleInterrupt);
    }

    private void doCallFunction(final Cpu cpu)
    {
        entry(cpu, callFunctionInterrupt);
        cpu.eoi();
        k.smp.callFunctionInterrupt(cpu);
        exit(cpu, callFunctionInterrupt);
    }

    /** The power button / ACPI SCI: a suspend request for kpowerd. */
    private void doPm(final Cpu cpu)
    {
        final long frame = entry(cpu, pmInterrupt);
        cpu.eoi();
        k.pm.interrupt(cpu);
        preemptIfIdleOrUser(cpu, frame, k.thisCpu(cpu));
        exit(cpu, pmInterrupt);
    }

    private void doSpurious(final Cpu cpu)
    {
        final long frame = entry(cpu, spurious);
        // A device vector a driver asked for (request_irq) is do_IRQ's; the rest is spurious.
        if (!k.irqs.handle(cpu, (int)cpu.load64(frame)))
        {
            cpu.eoi();
        }
        exit(cpu, spurious);
    }

    /**
     * Sends a fixed-mode IPI to one cpu (by APIC id). The destination (ICR_HI) and the send
     * (ICR_LO) are two writes: an interrupt between them whose handler sends its own IPI would
     * leave its destination in ICR_HI, and this IPI would go there. So, as Linux's
     * default_send_IPI_mask_sequence_phys, with interrupts off (local_irq_save).
     */
    public static void sendIpi(final Cpu cpu, final int apicId, final int vector)
    {
        final boolean flags = cpu.interruptsEnabled();
        if (flags)
        {
            cpu.cli();
        }
        cpu.apicWrite(Apic.ICR_HI, (long)apicId << 24);
        cpu.apicWrite(Apic.ICR_LO, Apic.icr(vector, Apic.MODE_FIXED, Apic.DEST_NONE));
        if (flags)
        {
            cpu.sti();
        }
    }
}
