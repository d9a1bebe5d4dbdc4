package palimpsest.kernel.akaros;

import palimpsest.emulator.Apic;
import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.arch.Traps;
import palimpsest.kernel.user.Syscalls;

/**
 * Akaros's PMU sampling profiler (patch {@code akaros-perfmon}): a user process starts it
 * ({@link #SYS_PROFILER_START}, like {@code perf record}); the local APIC's performance counter
 * then overflows every {@code pmu-period} retired instructions of that core (virtual time; the
 * emulator adds a recorded skid) and raises {@link #VEC_PERFMON}. The handler chain is Akaros's:
 * {@code handle_irq -> irq_dispatch -> perfmon_interrupt -> profiler_add_kernel_backtrace ->
 * backtrace_list}. For a kernel context it walks the interrupted frame-pointer chain, trusting
 * it: {@code pcs[0] = pc; while (fp) { pcs[n++] = fp[1]; fp = fp[0]; }}, into a stack-local array,
 * then copies the PCs into the core's sample buffer. For a user context it records the pc only.
 *
 * <p>Stack layout of a sample taken in kernel mode (T = the interrupted SP after the cpu's trap
 * frame; the handler's own frames, lowest last):
 * <pre>
 *   T-8 .. T-56      trap frame (SS, SP, FLAGS, CS, PC, err, vector)
 *   T-64, T-72       interrupted pc, interrupted rbp           &lt;- rbp of handle_irq
 *   T-80 .. T-200    pt_regs r0..r15
 *   T-208, T-216     irq_dispatch: return address, saved rbp
 *   T-224, T-232     perfmon_interrupt
 *   T-240, T-248     profiler_add_kernel_backtrace, then its callee-saved pushes
 *   T-256 .. T-288   rbx, r12, r13, r14, r15 (the interrupted context's values)
 *   T-416 .. T-296   uintptr_t pcs[16]
 *   T-424, T-432     backtrace_list
 * </pre>
 * The counter is masked while the handler runs (an overflow then is lost, as with a stopped
 * counter), so a short period cannot starve the interrupted code.
 */
public final class Perfmon
{
    public static final int VEC_PERFMON = 0xE8;
    /** Akaros's kprof start, as a system call: a0 = 1 to start on this core, 0 to stop. */
    public static final int SYS_PROFILER_START = 400;
    public static final int BT_DEPTH = 16;
    private static final int SAMPLE_BUF_ORDER = 2;

    private final Kernel k;
    public final Fn handleIrq;
    private final Fn irqDispatch;
    private final Fn perfmonInterrupt;
    private final Fn addKernelBacktrace;
    private final Fn backtraceList;
    private final Fn pushSample;
    private final Fn profilerStart;

    public Perfmon(final Kernel k)
    {
        this.k = k;
        this.handleIrq = k.text.fn("handle_irq", 0x80, this::handleIrqBody);
        this.irqDispatch = k.text.fn("irq_dispatch", 0x60);
        this.perfmonInterrupt = k.text.fn("perfmon_interrupt", 0x80);
        this.addKernelBacktrace = k.text.fn("profiler_add_kernel_backtrace", 0x80);
        this.backtraceList = k.text.fn("backtrace_list", 0x60);
        this.pushSample = k.text.fn("profiler_push_sample", 0x60);
        this.profilerStart = k.text.fn("profiler_start", 0x60);
    }

    /** The profiler's period in retired instructions (the scenario's pmu-period; 0 = off). */
    private long period()
    {
        return k.config.pmuPeriod;
    }

    /** kprof start/stop on the calling core. Returns 0, or -1 when the kernel has no profiler period set. */
    public long sysProfilerStart(final Cpu cpu, final long on)
    {
        profilerStart.enter(cpu);
        final long pcpu = k.thisCpu(cpu);
        if (on == 0 || period() <= 0)
        {
            cpu.apicWrite(Apic.PERF_PERIOD, 0);
            return profilerStart.leave(cpu, on == 0 ? 0 : -1);
        }
        if (cpu.load64(pcpu + AkarosPerCpu.PROF_BUF) == 0)
        {
            final long page = k.pages.allocPages(cpu, SAMPLE_BUF_ORDER);
            cpu.store64(pcpu + AkarosPerCpu.PROF_BUF, palimpsest.kernel.mm.PageAlloc.pageAddress(page));
            cpu.store64(pcpu + AkarosPerCpu.PROF_POS, 0);
        }
        cpu.apicWrite(Apic.LVT_PERF, VEC_PERFMON);
        cpu.apicWrite(Apic.PERF_PERIOD, period());
        return profilerStart.leave(cpu, 0);
    }

    /** The IDT entry: handle_irq, Akaros's common IRQ path. */
    private void handleIrqBody(final Cpu cpu)
    {
        final long frame = k.traps.entry(cpu, handleIrq);
        cpu.apicWrite(Apic.LVT_PERF, VEC_PERFMON | Apic.LVT_MASKED);
        irqDispatch.enter(cpu);
        perfmonInterruptBody(cpu, frame);
        irqDispatch.leave(cpu);
        handleIrq.at(cpu, 0x60);
        cpu.eoi();
        cpu.apicWrite(Apic.LVT_PERF, VEC_PERFMON);
        k.traps.exit(cpu, handleIrq);
    }

    private void perfmonInterruptBody(final Cpu cpu, final long frame)
    {
        perfmonInterrupt.enter(cpu);
        final long pc = cpu.load64(frame + Traps.F_PC);
        if ((cpu.load64(frame + Traps.F_CS) & 3) == 3)
        {
            perfmonInterrupt.at(cpu, 0x30);
            push(cpu, new long[] {pc}, 1);
        }
        else
        {
            perfmonInterrupt.at(cpu, 0x40);
            // The interrupted rbp, pushed by the entry code just below the trap frame.
            addKernelBacktraceBody(cpu, pc, cpu.load64(frame - 16));
        }
        perfmonInterrupt.leave(cpu);
    }

    private void addKernelBacktraceBody(final Cpu cpu, final long pc, final long fp)
    {
        addKernelBacktrace.enter(cpu);
        // The compiler's prologue: callee-saved registers, then the pcs[] array.
        cpu.push(cpu.reg(Syscalls.RBX));
        cpu.push(cpu.reg(R12));
        cpu.push(cpu.reg(R13));
        cpu.push(cpu.reg(R14));
        cpu.push(cpu.reg(R15));
        cpu.setSp(cpu.sp() - BT_DEPTH * 8L);
        final long pcs = cpu.sp();
        addKernelBacktrace.at(cpu, 0x30);
        final int n = backtraceListBody(cpu, pc, fp, pcs, BT_DEPTH);
        addKernelBacktrace.at(cpu, 0x50);
        final long[] got = new long[n];
        for (int i = 0; i < n; i++)
        {
            got[i] = cpu.load64(pcs + i * 8L);
        }
        push(cpu, got, n);
        addKernelBacktrace.at(cpu, 0x70);
        cpu.setSp(cpu.fp() - 40);
        cpu.setReg(R15, cpu.pop());
        cpu.setReg(R14, cpu.pop());
        cpu.setReg(R13, cpu.pop());
        cpu.setReg(R12, cpu.pop());
        cpu.setReg(Syscalls.RBX, cpu.pop());
        addKernelBacktrace.leave(cpu);
    }

    /** backtrace_list(pc, fp, pcs, nr): follows the frame-pointer chain as it is in memory. */
    private int backtraceListBody(final Cpu cpu, final long pc, final long fp, final long pcs, final int nr)
    {
        backtraceList.enter(cpu);
        int n = 0;
        cpu.store64(pcs, pc);
        n++;
        long f = fp;
        while (f != 0 && n < nr)
        {
            backtraceList.at(cpu, 0x20);
            final long ra = cpu.load64(f + 8);
            cpu.store64(pcs + n * 8L, ra);
            n++;
            backtraceList.at(cpu, 0x30);
            f = cpu.load64(f);
        }
        return (int)backtraceList.leave(cpu, n);
    }

    /** profiler_push_sample: n PCs into the core's sample buffer (a ring of 16 KiB). */
    private void push(final Cpu cpu, final long[] pcs, final int n)
    {
        pushSample.enter(cpu);
        final long pcpu = k.thisCpu(cpu);
        final long buf = cpu.load64(pcpu + AkarosPerCpu.PROF_BUF);
        if (buf != 0)
        {
            final long size = Layout.PAGE_SIZE << SAMPLE_BUF_ORDER;
            long pos = cpu.load64(pcpu + AkarosPerCpu.PROF_POS);
            for (int i = 0; i <= n; i++)
            {
                cpu.store64(buf + pos, i == 0 ? n : pcs[i - 1]);
                pos = (pos + 8) % size;
            }
            cpu.store64(pcpu + AkarosPerCpu.PROF_POS, pos);
            if (k.patches.enabled("akaros-profiler-sample-count"))
            {
                cpu.store64(pcpu + AkarosPerCpu.PROF_SAMPLES, cpu.load64(pcpu + AkarosPerCpu.PROF_SAMPLES) + 1);
            }
        }
        pushSample.leave(cpu);
    }

    static final int R12 = 10;
    static final int R13 = 11;
    static final int R14 = 12;
    static final int R15 = 13;
}
