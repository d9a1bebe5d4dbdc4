package palimpsest.kernel.mm;

/**
 * struct mm_struct (slab cache "mm_struct") and struct vm_area_struct (cache "vm_area_struct").
 *
 * <pre>
 * mm_struct                          vm_area_struct
 *   +0   pgd     (direct map va)       +0   vm_start
 *   +8   mmap    first vma             +8   vm_end
 *   +16  map_count                     +16  vm_next
 *   +24  mm_users                      +24  vm_flags   VM_READ|VM_WRITE|VM_EXEC|VM_GROWSDOWN
 *   +32  mmap_sem (spinlock)           +32  vm_mm
 *   +40  mmap_base (top of the mmap area) +40 vm_ops    vm_operations_struct * (0: anonymous)
 *   +48  start_code                    +48  vm_page_prot
 *   +56  end_data                      +56  vm_file
 *   +64  start_stack                   +64  vm_pgoff
 *   +72  total_vm
 *   +80  page_table_lock (spinlock)
 * </pre>
 */
public final class MmStruct
{
    public static final int PGD = 0;
    public static final int MMAP = 8;
    public static final int MAP_COUNT = 16;
    public static final int USERS = 24;
    public static final int SEM = 32;
    public static final int MMAP_BASE = 40;
    public static final int START_CODE = 48;
    public static final int END_DATA = 56;
    public static final int START_STACK = 64;
    public static final int TOTAL_VM = 72;
    public static final int PT_LOCK = 80;
    /** LegoOS processor: the process (tgid) this address space belongs to, for messages to the memory component. */
    public static final int LEGO_TGID = 96;
    /**
     * LegoOS processor: the process's mremap lock (a lock word; its holder may sleep in an RPC,
     * so waiters yield): one mremap's move on the memory component and its pcache_move_pte on the
     * processor happen before the next mremap's.
     */
    public static final int LEGO_MREMAP_LOCK = 88;
    /** LegoOS memory component: the program break and where it started (end of .bss, page aligned). */
    public static final int LEGO_BRK = 104;
    public static final int LEGO_START_BRK = 112;
    public static final int SIZE = 128;

    public static final int VM_START = 0;
    public static final int VM_END = 8;
    public static final int VM_NEXT = 16;
    public static final int VM_FLAGS = 24;
    public static final int VM_MM = 32;
    public static final int VM_OPS = 40;
    public static final int VM_PROT = 48;
    public static final int VM_FILE = 56;
    public static final int VM_PGOFF = 64;
    public static final int VMA_SIZE = 96;

    public static final long VM_READ = 1;
    public static final long VM_WRITE = 2;
    public static final long VM_EXEC = 4;
    public static final long VM_GROWSDOWN = 0x100;

    /** vm_operations_struct: +0 fault. */
    public static final int VMOPS_FAULT = 0;

    private MmStruct()
    {
    }
}
