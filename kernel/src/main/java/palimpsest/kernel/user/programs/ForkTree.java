package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.user.Syscalls;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * JOS's forktree with copy-on-write checks. Every process prints {@code "%04x: I am '%s'"}, writes
 * its own pattern into a .bss page, forks two children (depth permitting) after putting each
 * child's name in a global, then restores the global, waits for its children and checks it still
 * sees its own name and pattern. A child first checks it inherited the parent's pattern and that
 * the global holds the name its parent passed in a register. Exit status 0 = all good.
 */
public final class ForkTree extends UserProgram
{
    private final int depth;
    private long gName;
    private long gPattern;
    private long gScratch;
    private long gStatus;
    private long childFn;
    private long treeFn;

    public ForkTree(final int depth)
    {
        super("forktree", "/bin/forktree", 0x600000);
        this.depth = depth;
    }

    public static int processes(final int depth)
    {
        return (1 << (depth + 1)) - 1;
    }

    @Override
    protected void define(final Image img)
    {
        img.fn("main", 0x100, this::main);
        treeFn = img.fn("forktree", 0x200, cpu -> cpu.setReg(Syscalls.RAX, forktree(cpu)));
        childFn = img.fn("forkchild", 0x100, this::child);
        gName = img.data(new byte[16]);
        gPattern = img.bss(512);
        gScratch = img.bss(256);
        gStatus = img.bss(8);
    }

    private static long pack(final String s)
    {
        long v = 0;
        for (int i = 0; i < s.length(); i++)
        {
            v |= (long)s.charAt(i) << (8 * i);
        }
        return v | 1L << 62;
    }

    private static long seed(final String name)
    {
        return name.hashCode() * 0x9E3779B97F4A7C15L + name.length();
    }

    private void fillPattern(final Cpu cpu, final String name)
    {
        final long s = seed(name);
        for (int i = 0; i < 64; i++)
        {
            cpu.store64(gPattern + i * 8L, s + i);
        }
    }

    private boolean checkPattern(final Cpu cpu, final String name)
    {
        final long s = seed(name);
        for (int i = 0; i < 64; i++)
        {
            if (cpu.load64(gPattern + i * 8L) != s + i)
            {
                return false;
            }
        }
        return true;
    }

    private void setName(final Cpu cpu, final String s)
    {
        for (int i = 0; i < 16; i++)
        {
            cpu.store8(gName + i, i < s.length() ? s.charAt(i) : 0);
        }
    }

    private void main(final Cpu cpu)
    {
        cpu.pc(textBase());
        setName(cpu, "");
        final long bad = forktree(cpu);
        final int n = processes(depth);
        U.print(cpu, gScratch, bad == 0 ? "fork-cow: all " + n + " processes saw their own data\n" :
            "fork-cow: FAILED (" + bad + " processes saw foreign data)\n");
        U.exit(cpu, bad == 0 ? 0 : 1);
    }

    /** The child of a fork resumes here with its parent's registers: rbx holds its packed name. */
    private void child(final Cpu cpu)
    {
        cpu.pc(childFn);
        final long expect = cpu.reg(Syscalls.RBX);
        final String name = U.str(cpu, gName);
        final String parent = name.isEmpty() ? "" : name.substring(0, name.length() - 1);
        boolean ok = pack(name) == expect;
        ok &= checkPattern(cpu, parent);
        if (!ok)
        {
            // Stop at the first wrong data: a child that forks on with a wrong name (its length
            // decides the depth) turns a stale TLB into a fork bomb ending out of memory.
            U.print(cpu, gScratch, String.format("%04x: inherited the wrong data (name '%s')%n", U.getpid(cpu), name));
            U.exit(cpu, 1);
        }
        final long bad = forktree(cpu);
        U.exit(cpu, Math.min(100, bad + (ok ? 0 : 1)));
    }

    /** Returns how many processes in this subtree saw wrong data. */
    private long forktree(final Cpu cpu)
    {
        cpu.pc(treeFn);
        final String cur = U.str(cpu, gName);
        final long pid = U.getpid(cpu);
        U.print(cpu, gScratch, String.format("%04x: I am '%s'%n", pid, cur));
        fillPattern(cpu, cur);
        int kids = 0;
        for (char branch = '0'; branch <= '1'; branch++)
        {
            if (cur.length() >= depth)
            {
                break;
            }
            final String nxt = cur + branch;
            cpu.pc(treeFn + 0x80);
            setName(cpu, nxt);
            cpu.setReg(Syscalls.RBX, pack(nxt));
            final long r = U.fork(cpu, childFn);
            if (r > 0)
            {
                kids++;
            }
        }
        // The parent writes after fork: its children must not see this.
        setName(cpu, cur);
        for (int i = 0; i < 3; i++)
        {
            U.yield(cpu);
        }
        long bad = 0;
        for (int i = 0; i < kids; i++)
        {
            cpu.pc(treeFn + 0x100);
            if (U.wait(cpu, gStatus) > 0)
            {
                bad += (cpu.load32(gStatus) >> 8) & 0xFF;
            }
        }
        if (!checkPattern(cpu, cur) || !U.str(cpu, gName).equals(cur))
        {
            U.print(cpu, gScratch, String.format("%04x: '%s' sees foreign data!%n", pid, cur));
            bad++;
        }
        return bad;
    }
}
