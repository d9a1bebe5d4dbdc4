package palimpsest.kernel;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.kernel.sched.PerCpu;
import palimpsest.kernel.sched.Task;

/**
 * The kernel's last words: an oops report in Linux's format, built from the machine state and the
 * emulated stack (the Call Trace walks the frame-pointer chain in emulated memory), then the
 * machine is stopped with a non-zero code on the power port.
 *
 * <pre>
 * BUG: unable to handle kernel paging request at ffff88000badf00d
 * IP: [&lt;ffffffff80201234&gt;] __d_lookup+0x44/0x100
 * Oops: 0000 [#1] SMP
 * CPU 2
 * Pid: 5, comm: wc
 * RIP: 0010:[&lt;ffffffff80201234&gt;]  [&lt;ffffffff80201234&gt;] __d_lookup+0x44/0x100
 * RSP: 0018:ffff880001234e88  EFLAGS: 00000002
 * ...
 * Call Trace:
 *  [&lt;ffffffff802011a0&gt;] d_lookup+0x30/0x80
 * </pre>
 */
public final class Oops
{
    /** Power-port code of an oops / BUG / panic. */
    public static final int EXIT_OOPS = 1;
    public static final int EXIT_PANIC = 2;

    private final Kernel k;
    private final Fn dieFn;
    /** LegoOS's panic(), registered by {@link #legoPanic} (its SLOB configuration), else null. */
    private Fn panicFn;

    Oops(final Kernel k)
    {
        this.k = k;
        this.dieFn = k.text.fn("oops_begin", 0x40);
    }

    /** A kernel page fault: address, error code, the faulting ip and the interrupted sp/fp (from the trap frame). */
    public void pageFault(final Cpu cpu, final long addr, final long err, final long ip, final long sp, final long flags,
        final long traceFp)
    {
        final String head = addr >= 0 && addr < 4096 ?
            "BUG: unable to handle kernel NULL pointer dereference at " + hex16(addr) :
            "BUG: unable to handle kernel paging request at " + hex16(addr);
        die(cpu, head + "\nIP: [<" + hex16(ip) + ">] " + sym(cpu, ip), String.format("Oops: %04x", err), ip, sp, flags, traceFp, addr);
    }

    public void generalProtection(final Cpu cpu, final long err, final long ip, final long sp, final long flags, final long traceFp)
    {
        die(cpu, "", String.format("general protection fault: %04x", err), ip, sp, flags, traceFp, cpu.cr2());
    }

    /** BUG(): a failed kernel assertion at the current pc; never returns. */
    public void bug(final Cpu cpu, final String what)
    {
        final long ip = cpu.pc();
        die(cpu, "------------[ cut here ]------------\n" + what + "\nkernel BUG at " + sym(cpu, ip) + "!",
            "invalid opcode: 0000", ip, cpu.sp(), 0, cpu.fp(), cpu.cr2());
    }

    /**
     * LegoOS's VM_BUG_ON_PAGE(cond, page): dump_page(), BUG()'s {@code BUG: failure at FILE:LINE/FUNC()!}
     * and the panic with the task and its Call Trace, as LegoOS prints them (the diary's March entry:
     * put_page_testzero in kvictim_flushd); never returns.
     */
    /**
     * LegoOS's panic() as a function of its own, so that a BUG's Call Trace starts in it as the
     * diary's does; registered last, by the configuration that uses it (LegoOS's buddy), so that
     * no other kernel's text moves.
     */
    public void legoPanic()
    {
        if (panicFn == null)
        {
            panicFn = k.text.fn("panic", 0xeb);
        }
    }

    public void vmBugOnPage(final Cpu cpu, final String dump, final String cond, final String where)
    {
        final long pcpu = k.thisCpu(cpu);
        if (cpu.load64(pcpu + PerCpu.IN_OOPS) != 0)
        {
            k.printk.emit(cpu, "Fixing recursive fault but reboot is needed!\n");
            cpu.out(Machine.POWER_PORT, EXIT_PANIC);
        }
        cpu.store64(pcpu + PerCpu.IN_OOPS, 1);
        final long ip = cpu.pc();
        final long fp = cpu.fp();
        dieFn.enter(cpu);
        cpu.cli();
        cpu.mark(Mark.OOPS, cpu.cr2(), ip);
        cpu.xadd(k.spin.atomicSite(), Globals.OOPS_COUNT, 8, 1);
        final StringBuilder sb = new StringBuilder();
        sb.append(dump).append('\n');
        sb.append("page dumped because: ").append(cond).append('\n');
        sb.append("------------[ cut here ]------------\n");
        sb.append("BUG: failure at ").append(where).append("!\n");
        sb.append("Kernel Panic - not syncing: BUG!\n");
        final long task = cpu.load64(pcpu + PerCpu.CURRENT);
        sb.append("CPU: ").append(cpu.apicId());
        if (Layout.isDirectMap(task) || Layout.isKernelImage(task))
        {
            sb.append(" PID: ").append(cpu.load64(task + Task.PID)).append(" Comm: ").append(comm(cpu, task));
        }
        sb.append(' ').append(Kernel.RELEASE).append('\n');
        long traceIp = ip;
        long traceFp = fp;
        if (panicFn != null)
        {
            // panic() is called from the BUG site: its frame is the first of the trace.
            panicFn.enter(cpu);
            panicFn.at(cpu, 0xc2);
            traceIp = cpu.pc();
            traceFp = cpu.fp();
            sb.append("Stack:\n");
            final long sp = cpu.sp();
            for (int row = 0; row < 5; row++)
            {
                for (int col = 0; col < 4; col++)
                {
                    sb.append(col == 0 ? "" : " ").append(hex16(cpu.load64(sp + (row * 4L + col) * 8)));
                }
                sb.append('\n');
            }
        }
        sb.append("Call Trace:\n<TSK>\n");
        sb.append(" [<").append(hex16(traceIp)).append(">] ").append(sym(cpu, traceIp)).append('\n');
        backtrace(cpu, task, traceFp, sb);
        sb.append("<EOT>\n");
        k.printk.emit(cpu, sb.toString());
        cpu.out(Machine.POWER_PORT, EXIT_PANIC);
    }

    /**
     * Linux 4's bad_page() as LegoOS prints it: {@code BUG: Bad page state in process C  pfn:N}, the
     * page dump and why, then BUG(); never returns.
     */
    public void badPage(final Cpu cpu, final long pfn, final String dump, final String reason)
    {
        final long task = cpu.load64(k.thisCpu(cpu) + PerCpu.CURRENT);
        final String comm = Layout.isDirectMap(task) || Layout.isKernelImage(task) ? comm(cpu, task) : "?";
        bug(cpu, String.format("BUG: Bad page state in process %s  pfn:%05x%n%s%npage dumped because: %s", comm, pfn, dump, reason));
    }

    /** panic(): no oops header, just the message and a stop. */
    public void panic(final Cpu cpu, final String what)
    {
        k.printk.emit(cpu, "Kernel panic - not syncing: " + what + "\n");
        cpu.out(Machine.POWER_PORT, EXIT_PANIC);
    }

    private void die(final Cpu cpu, final String head, final String kind, final long ip, final long sp, final long flags,
        final long traceFp, final long cr2)
    {
        final long pcpu = k.thisCpu(cpu);
        if (cpu.load64(pcpu + PerCpu.IN_OOPS) != 0)
        {
            k.printk.emit(cpu, "Fixing recursive fault but reboot is needed!\n");
            cpu.out(Machine.POWER_PORT, EXIT_PANIC);
        }
        cpu.store64(pcpu + PerCpu.IN_OOPS, 1);
        dieFn.enter(cpu);
        cpu.cli();
        cpu.mark(Mark.OOPS, cr2, ip);
        final long n = cpu.xadd(k.spin.atomicSite(), Globals.OOPS_COUNT, 8, 1) + 1;
        final StringBuilder sb = new StringBuilder();
        if (!head.isEmpty())
        {
            sb.append(head).append('\n');
        }
        sb.append(kind).append(" [#").append(n).append("] SMP");
        if (k.lego != null)
        {
            // LegoOS names the component that died, as its oopses do ("SMP PROCESSOR" / "SMP MEMORY").
            sb.append(k.lego.isProcessor(cpu) ? " PROCESSOR" : " MEMORY");
        }
        sb.append('\n');
        sb.append("CPU ").append(cpu.apicId()).append('\n');
        sb.append("Modules linked in: ").append(k.modules.linkedIn(cpu)).append('\n');
        final long task = cpu.load64(pcpu + PerCpu.CURRENT);
        if (Layout.isDirectMap(task) || Layout.isKernelImage(task))
        {
            sb.append("Pid: ").append(cpu.load64(task + Task.PID)).append(", comm: ").append(comm(cpu, task))
                .append(" Not tainted ").append(Kernel.RELEASE).append(" #1\n");
        }
        sb.append("RIP: 0010:[<").append(hex16(ip)).append(">]  [<").append(hex16(ip)).append(">] ").append(sym(cpu, ip)).append('\n');
        sb.append(String.format("RSP: 0018:%016x  EFLAGS: %08x%n", sp, flags));
        final String[] names = {"RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "R08", "R09", "R10", "R11", "R12", "R13", "R14", "R15"};
        for (int i = 0; i < names.length; i++)
        {
            sb.append(names[i]).append(": ").append(hex16(cpu.reg(i))).append(i % 3 == 2 || i == names.length - 1 ? "\n" : " ");
        }
        sb.append("RBP: ").append(hex16(traceFp)).append(" CR2: ").append(hex16(cr2)).append(" CR3: ").append(hex16(cpu.cr3())).append('\n');
        sb.append("Call Trace:\n");
        backtrace(cpu, task, traceFp, sb);
        sb.append("Code: Bad RIP value.\n");
        sb.append("---[ end trace ").append(String.format("%016x", n)).append(" ]---\n");
        k.printk.emit(cpu, sb.toString());
        cpu.out(Machine.POWER_PORT, EXIT_OOPS);
    }

    /** Walks the frame-pointer chain: [fp] = caller's fp, [fp + 8] = return address. */
    public void backtrace(final Cpu cpu, final long task, final long startFp, final StringBuilder sb)
    {
        long lo = 0;
        long hi = 0;
        if (Layout.isDirectMap(task) || Layout.isKernelImage(task))
        {
            lo = cpu.load64(task + Task.STACK);
            hi = lo + Layout.THREAD_SIZE;
        }
        long fp = startFp;
        for (int depth = 0; depth < 32; depth++)
        {
            if (fp == 0 || (fp & 7) != 0 || Long.compareUnsigned(fp, lo) < 0 || Long.compareUnsigned(fp + 16, hi) > 0)
            {
                break;
            }
            final long ra = cpu.load64(fp + 8);
            if (ra == 0)
            {
                break;
            }
            sb.append(" [<").append(hex16(ra)).append(">] ").append(sym(cpu, ra)).append('\n');
            fp = cpu.load64(fp);
        }
    }

    private String comm(final Cpu cpu, final long task)
    {
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++)
        {
            final long c = cpu.load8(task + Task.COMM + i);
            if (c == 0)
            {
                break;
            }
            sb.append((char)c);
        }
        return sb.toString();
    }

    private String sym(final Cpu cpu, final long ip)
    {
        final String s = cpu.machine().code().symbolize(ip);
        return s == null ? "0x" + Long.toHexString(ip) : s;
    }

    static String hex16(final long v)
    {
        return String.format("%016x", v);
    }
}
