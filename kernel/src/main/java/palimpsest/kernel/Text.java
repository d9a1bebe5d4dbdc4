package palimpsest.kernel;

import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.CodeMap;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.emulator.Routine;

/**
 * The kernel image's text: hands out addresses for kernel functions in registration order
 * (deterministic, like a linker), registers them in the machine's code map (the System.map), and
 * writes the text bytes at load time: NOPs (0x90) except at LOCK-prefix sites, which hold 0xF0 and
 * are listed in the {@code .smp_locks} table in kernel data (the alternatives table).
 */
public final class Text
{
    public static final int NOP = 0x90;

    private final CodeMap code;
    private long next = Layout.KERNEL_TEXT;
    private final List<Fn> fns = new ArrayList<>();
    private final List<Long> lockSites = new ArrayList<>();

    Text(final CodeMap code)
    {
        this.code = code;
    }

    public Fn fn(final String name, final int size)
    {
        return fn(name, size, null);
    }

    /** A function whose body runs when control is transferred to its first byte (IDT, fiber entry, indirect call). */
    public Fn fn(final String name, final int size, final Routine routine)
    {
        final long sz = Math.max(0x20, (size + 15) & ~15L);
        final long addr = next;
        if (addr + sz > Layout.KERNEL_TEXT + Layout.TEXT_MAX)
        {
            throw new IllegalStateException("kernel text full");
        }
        code.define(name, addr, sz, routine);
        next += sz;
        final Fn f = new Fn(name, addr, sz);
        fns.add(f);
        return f;
    }

    /** A LOCK-prefixed instruction at fn+off: its text byte is 0xF0 and it is listed in .smp_locks. */
    public long lockSite(final Fn fn, final int off)
    {
        final long site = fn.addr + off;
        lockSites.add(site);
        return site;
    }

    public List<Fn> functions()
    {
        return fns;
    }

    public List<Long> lockSites()
    {
        return lockSites;
    }

    public long end()
    {
        return next;
    }

    /** Boot loader: copies the text image into physical memory. */
    void load(final PhysicalMemory mem)
    {
        final long size = next - Layout.KERNEL_TEXT;
        mem.fill(Layout.TEXT_PHYS, (int)((size + 4095) & ~4095L), (byte)NOP);
        for (final long s : lockSites)
        {
            mem.write8(s - Layout.KERNEL_TEXT + Layout.TEXT_PHYS, 0xF0);
        }
    }
}
