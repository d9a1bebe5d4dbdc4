package palimpsest.kernel;

/**
 * Types of the MARK annotations the kernel records ({@code cpu.mark(type, a, b)}), so analyzers can
 * tell allocations, frees and lock operations from plain accesses. Codes are stable: only append.
 *
 * <pre>
 *  type            a                   b
 *  SLAB_ALLOC      object address      cacheId << 32 | object size
 *  SLAB_FREE       object address      cacheId << 32 | object size
 *  PAGE_ALLOC      physical address    order
 *  PAGE_FREE       physical address    order
 *  TEXT_REGISTER   text address        size (one per kernel function, at boot)
 *  LOCK_ACQUIRE    lock address        caller pc
 *  LOCK_RELEASE    lock address        caller pc
 *  VMALLOC         virtual address     size
 *  VFREE           virtual address     size
 *  TASK_CREATE     task_struct address pid
 *  TASK_EXIT       task_struct address pid
 *  OOPS            faulting address    pc
 *  SMP_LOCK_SITE   text address        0 (a LOCK prefix site, the alternatives .smp_locks table)
 *  CPU_UP          cpu                 0
 * </pre>
 */
public final class Mark
{
    public static final int SLAB_ALLOC = 1;
    public static final int SLAB_FREE = 2;
    public static final int PAGE_ALLOC = 3;
    public static final int PAGE_FREE = 4;
    public static final int TEXT_REGISTER = 5;
    public static final int LOCK_ACQUIRE = 6;
    public static final int LOCK_RELEASE = 7;
    public static final int VMALLOC = 8;
    public static final int VFREE = 9;
    public static final int TASK_CREATE = 10;
    public static final int TASK_EXIT = 11;
    public static final int OOPS = 12;
    public static final int SMP_LOCK_SITE = 13;
    public static final int CPU_UP = 14;

    private static final String[] NAMES = {
        "?", "slab-alloc", "slab-free", "page-alloc", "page-free", "text-register", "lock-acquire", "lock-release",
        "vmalloc", "vfree", "task-create", "task-exit", "oops", "smp-lock-site", "cpu-up"
    };

    private Mark()
    {
    }

    public static String name(final long type)
    {
        return type > 0 && type < NAMES.length ? NAMES[(int)type] : "mark#" + type;
    }
}
