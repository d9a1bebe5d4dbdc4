package palimpsest.kernel;

import palimpsest.emulator.Cpu;

/**
 * A kernel function: a named range of kernel text. Entering it is a call (return address pushed on
 * the emulated stack) followed by the standard prologue {@code push rbp; mov rbp, rsp}; leaving it
 * is {@code leave; ret}. So the frame-pointer chain lives in emulated memory and the backtracer
 * (and a stray write) see exactly what hardware would.
 *
 * <p>Never wrap a body in try/finally: when the machine stops or a task exits, the Java stack
 * unwinds and must not execute instructions on the way out.
 */
public final class Fn
{
    public final String name;
    public final long addr;
    public final long size;

    /** A function at a known address (kernel text via {@link Text#fn}, or a loaded module's text). */
    public Fn(final String name, final long addr, final long size)
    {
        this.name = name;
        this.addr = addr;
        this.size = size;
    }

    /** call + push rbp + mov rbp, rsp. */
    public void enter(final Cpu cpu)
    {
        cpu.call(addr);
        cpu.push(cpu.fp());
        cpu.setFp(cpu.sp());
        cpu.pc(addr + 4);
    }

    /**
     * The prologue alone, for a function reached by an indirect call (the caller already pushed
     * the return address): push rbp + mov rbp, rsp.
     */
    public void prologue(final Cpu cpu)
    {
        cpu.pc(addr);
        cpu.push(cpu.fp());
        cpu.setFp(cpu.sp());
        cpu.pc(addr + 4);
    }

    /** leave + ret. */
    public void leave(final Cpu cpu)
    {
        cpu.pc(addr + size - 2);
        cpu.setSp(cpu.fp());
        cpu.setFp(cpu.pop());
        cpu.ret();
    }

    public long leave(final Cpu cpu, final long result)
    {
        leave(cpu);
        return result;
    }

    /** Marks a notable site inside the function: following instructions carry pc = addr + off. */
    public void at(final Cpu cpu, final int off)
    {
        cpu.pc(addr + Math.min(off, size - 3));
    }

    public long site(final int off)
    {
        return addr + off;
    }

    @Override
    public String toString()
    {
        return name + "@" + Long.toHexString(addr);
    }
}
