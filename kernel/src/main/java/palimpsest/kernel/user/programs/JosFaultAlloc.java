package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.jos.Jos;
import palimpsest.kernel.jos.JosEnv;
import palimpsest.kernel.user.Syscalls;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * JOS's user/faultalloc over a small fork tree: every environment sets a page-fault handler
 * (exception stack at UXSTACKTOP - PGSIZE by sys_page_alloc, then sys_env_set_pgfault_upcall)
 * and touches addresses nothing maps; the handler allocates the page and writes
 * {@code "this string was faulted in at ADDR"} there. The environments read their strings back
 * at the end. The first environment (1000) forks {@code children} others (1001, 1002, ...), each
 * faulting {@code faults} times at addresses near the end of a page (where a UTrapframe sits on an
 * exception stack page), yielding in between. Exit status: how many strings were wrong.
 */
public final class JosFaultAlloc extends UserProgram
{
    private static final long PERM = JosEnv.PTE_P | JosEnv.PTE_U | JosEnv.PTE_W;
    private static final int STR_OFF = 0xfd8;

    private final int children;
    private final int faults;
    private long handlerFn;
    private long childFn;
    private long buf;
    private long status;

    public JosFaultAlloc(final int children, final int faults)
    {
        super("faultalloc", "/bin/faultalloc", 0x900000);
        this.children = children;
        this.faults = faults;
    }

    @Override
    protected void define(final Image img)
    {
        img.fn("umain", 0x100, this::umain);
        handlerFn = img.fn("handler", 0x100, this::handler);
        childFn = img.fn("child", 0x100, this::child);
        buf = img.bss(128);
        status = img.bss(8);
    }

    private static String text(final long va)
    {
        return "faulted in at " + Long.toHexString(va);
    }

    /** The faulting addresses of an environment: its own region, near the end of each page. */
    private static long faultVa(final long envid, final int i)
    {
        return 0xcafe0000L + (envid - 0x1000) * 0x100000L + i * 0x1000L + STR_OFF;
    }

    private void setPgfaultHandler(final Cpu cpu)
    {
        U.syscall(cpu, JosEnv.SYS_PAGE_ALLOC, 0, JosEnv.UXSTACK, PERM);
        U.syscall(cpu, JosEnv.SYS_ENV_SET_PGFAULT_UPCALL, 0, handlerFn, 0);
    }

    /** The handler: utf in rdi. */
    private void handler(final Cpu cpu)
    {
        cpu.pc(handlerFn);
        final long utf = cpu.reg(Syscalls.RDI);
        final long va = cpu.load64(utf + JosEnv.UTF_FAULT_VA);
        final long envid = Jos.envId(U.getpid(cpu));
        U.print(cpu, buf, String.format("[%08x] fault %x%n", envid, va));
        U.syscall(cpu, JosEnv.SYS_PAGE_ALLOC, 0, va & ~0xfffL, PERM);
        final String s = text(va);
        for (int i = 0; i < s.length(); i++)
        {
            cpu.store8(va + i, s.charAt(i));
        }
        cpu.store8(va + s.length(), 0);
    }

    private int faultAndCheck(final Cpu cpu, final long envid)
    {
        for (int i = 0; i < faults; i++)
        {
            cpu.pc(childFn + 0x40);
            cpu.load8(faultVa(envid, i));             // faults: the handler maps it
            U.yield(cpu);
        }
        int bad = 0;
        for (int i = 0; i < faults; i++)
        {
            cpu.pc(childFn + 0x80);
            final String got = U.str(cpu, faultVa(envid, i));
            if (!got.equals(text(faultVa(envid, i))))
            {
                U.print(cpu, buf, String.format("[%08x] string at %x was overwritten%n", envid, faultVa(envid, i)));
                bad++;
            }
        }
        return bad;
    }

    private void child(final Cpu cpu)
    {
        cpu.pc(childFn);
        final long envid = Jos.envId(U.getpid(cpu));
        setPgfaultHandler(cpu);
        U.exit(cpu, faultAndCheck(cpu, envid));
    }

    private void umain(final Cpu cpu)
    {
        cpu.pc(textBase());
        final long envid = Jos.envId(U.getpid(cpu));
        setPgfaultHandler(cpu);
        cpu.load8(0xdeadbeefL);                      // faultalloc: cprintf("%s\n", (char*)0xDeadBeef)
        U.print(cpu, buf, String.format("[%08x] %s%n", envid, U.str(cpu, 0xdeadbeefL)));
        for (int c = 0; c < children; c++)
        {
            U.fork(cpu, childFn);
        }
        long bad = faultAndCheck(cpu, envid);
        for (int c = 0; c < children; c++)
        {
            if (U.wait(cpu, status) > 0)
            {
                final long st = cpu.load32(status);
                bad += (st & 0x7f) != 0 ? 1 : (st >> 8) & 0xff;
            }
        }
        U.print(cpu, buf, bad == 0 ? "faultalloc: every environment read its own strings\n" :
            "faultalloc: " + bad + " environment(s) lost their strings\n");
        U.exit(cpu, bad == 0 ? 0 : 1);
    }
}
