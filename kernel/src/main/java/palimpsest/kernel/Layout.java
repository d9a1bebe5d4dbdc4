package palimpsest.kernel;

/**
 * The address-space layout, in the spirit of x86-64 Linux 2.6.25.
 *
 * <pre>
 *  virtual                                        physical
 *  0000000000000000 +-----------------------+
 *                   | user space            |     0x0007000  boot_params (from the boot loader)
 *  00007fffffffffff +-----------------------+     0x0008000  SIPI trampoline (text, vector 0x08)
 *  ffff880000000000 | direct map of all RAM |     0x0009000  trampoline data
 *  ffffc90000000000 | vmalloc area          |     0x0100000  buddy allocator (1 MiB .. _text)
 *  ffffea0000000000 | vmemmap: mem_map      |     0x0200000  kernel text   (_text)
 *  ffffffff80000000 | __START_KERNEL_map    |     0x0280000  kernel data/bss
 *  ffffffff80200000 | kernel text  (RX)     |     0x0300000  memblock: page tables, mem_map, per-cpu
 *  ffffffff80280000 | kernel data  (RW, NX) |     ...        buddy allocator
 *  ffffffff80600000 | module area           |     top        initrd (from the boot loader)
 * </pre>
 * The text and data of the kernel image are reached through __START_KERNEL_map, so
 * {@code __pa(x) = x - __START_KERNEL_map} for image addresses, as on x86-64; the module and vmalloc
 * areas are backed by pages from the buddy allocator, so that formula is wrong for them.
 *
 * <p><b>Why the module area sits at __START_KERNEL_map + 6 MiB.</b> On the reporters' 2.6.25
 * (x86-64: {@code _text} = 0xffffffff80200000 at physical 2 MiB, modules from 0xffffffff88000000,
 * 2 GiB of RAM) {@code virt_to_page(module address)} = {@code (addr - __START_KERNEL_map) >> 12}
 * is a page 128 MiB and up into RAM: an ordinary page, owned by whoever the page allocator gave it
 * to. That is what let text_poke's stray byte land in a dentry or a user page. Our machines are
 * small (a few MiB to 128 MiB), so with 2.6.25's 128 MiB offset the byte would land past the end
 * of RAM and hit nothing. The kernel image keeps 2.6.25's place (text at physical 2 MiB, data and
 * memblock right after, everything below 6 MiB), and the module area starts 6 MiB above
 * __START_KERNEL_map: {@code __pa(module text)} is then buddy-managed RAM on every machine with
 * 7 MiB or more, which is the property the bug needs. The first module page's "physical twin"
 * is pfn 0x600.
 */
public final class Layout
{
    public static final long PAGE_SIZE = 4096;
    public static final int PAGE_SHIFT = 12;

    public static final long PAGE_OFFSET = 0xffff_8800_0000_0000L;
    public static final long VMALLOC_START = 0xffff_c900_0000_0000L;
    public static final long VMALLOC_END = 0xffff_e8ff_ffff_ffffL;
    /** The struct page array (mem_map), virtually contiguous as x86-64's vmemmap. */
    public static final long VMEMMAP_START = 0xffff_ea00_0000_0000L;
    /** The vmemmap range analyzers watch for struct pages: 1 GiB, more than any node's mem_map here. */
    public static final long VMEMMAP_SIZE = 1L << 30;
    public static final long START_KERNEL_MAP = 0xffff_ffff_8000_0000L;
    public static final long KERNEL_TEXT = 0xffff_ffff_8020_0000L;
    public static final long KERNEL_DATA = 0xffff_ffff_8028_0000L;
    public static final long MODULES_VADDR = 0xffff_ffff_8060_0000L;
    public static final long MODULES_END = 0xffff_ffff_ff00_0000L;

    public static final long TEXT_PHYS = 0x20_0000L;
    public static final long TEXT_MAX = 0x8_0000L;
    public static final long DATA_PHYS = 0x28_0000L;
    public static final long DATA_MAX = 0x8_0000L;
    public static final long MEMBLOCK_PHYS = 0x30_0000L;

    public static final long BOOT_PARAMS_PHYS = 0x7000;
    public static final long TRAMPOLINE_PHYS = 0x8000;
    public static final long TRAMPOLINE_DATA_PHYS = 0x9000;

    /** User space. */
    public static final long USER_TOP = 0x0000_8000_0000_0000L;
    public static final long USER_STACK_TOP = 0x0000_7fff_ffff_f000L;
    public static final long USER_STACK_SIZE = 128 * 1024;
    public static final long MMAP_BASE = 0x0000_7f00_0000_0000L;

    /** Kernel stacks: 16 KiB, order 2. */
    public static final int THREAD_ORDER = 2;
    public static final long THREAD_SIZE = PAGE_SIZE << THREAD_ORDER;

    private Layout()
    {
    }

    public static long PAGE_MASK()
    {
        return PAGE_SIZE - 1;
    }

    public static long pa(final long directMapAddr)
    {
        return directMapAddr - PAGE_OFFSET;
    }

    public static long va(final long phys)
    {
        return phys + PAGE_OFFSET;
    }

    public static boolean isUser(final long addr)
    {
        return addr >= 0 && addr < USER_TOP;
    }

    public static boolean isDirectMap(final long addr)
    {
        return addr >= PAGE_OFFSET && addr < VMALLOC_START;
    }

    public static boolean isKernelImage(final long addr)
    {
        return Long.compareUnsigned(addr, START_KERNEL_MAP) >= 0 && Long.compareUnsigned(addr, MODULES_VADDR) < 0;
    }
}
