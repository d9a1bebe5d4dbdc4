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
 *  MODULE_LOAD     struct module addr  text base (module text registered: live text from here on)
 *  MODULE_UNLOAD   struct module addr  text base (its text is no longer text)
 *  TEXT_POKE       address to patch    opcode byte | len << 8 (what text_poke was asked to write)
 *  ALT_SMP_SWITCH  1 = to SMP, 0 = UP  number of online cpus
 *  CPU_DOWN        cpu                 0
 *  SUSPEND         0                   0 (tasks frozen, secondary cpus about to go down)
 *  RESUME          0                   0 (secondary cpus back, tasks thawed)
 *  KMALLOC         object address      requested size (after the SLAB_ALLOC or PAGE_ALLOC it took; kzalloc too)
 *  VALUE_USE       address             size | kind << 8 (the value this cpu just loaded from address
 *                                      decides a branch (kind 1) or is a length (kind 2): {@link Uses})
 *  ENV_ID          struct Env address  pid (JOS: the env record of a task was (re)written; its first
 *                                      8 bytes are the env id, the name JOS prints for the address space)
 *  DATA_RACY       address             size (a __data_racy variable: its plain accesses are
 *                                      intentionally racy, e.g. a polled flag; KCSAN ignores them)
 *  ACCESS_ONCE     address             size (the next access of this cpu to address is marked:
 *                                      READ_ONCE/WRITE_ONCE/data_race(); KCSAN ignores it)
 *  ZERO_FILL       kernel address      length (issue 14: the loader has made these bytes of a user
 *                                      image zero-fill, the .bss tail of its last file page: from
 *                                      here on they must read 0 until written)
 *  PAGE_SPLIT      physical address    order (issue 14, bug 4: split_page made the allocated block of
 *                                      that order 2^order order-0 allocations, each freed on its own)
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
    public static final int MODULE_LOAD = 15;
    public static final int MODULE_UNLOAD = 16;
    public static final int TEXT_POKE = 17;
    public static final int ALT_SMP_SWITCH = 18;
    public static final int CPU_DOWN = 19;
    public static final int SUSPEND = 20;
    public static final int RESUME = 21;
    /** kmalloc's requested size (issue 11; this branch's range is 22..29): KASAN's precise end of the object. */
    public static final int KMALLOC = 22;
    /** A loaded value used as a branch condition or a length (issue 11, range 23..29): KMSAN's "use". */
    public static final int VALUE_USE = 23;
    /** JOS: a task's struct Env written (issue 11): analyzers read the env id from it rather than guess it. */
    public static final int ENV_ID = 24;
    // 30..39: analyzer annotations (issue 11b)
    public static final int DATA_RACY = 30;
    public static final int ACCESS_ONCE = 31;
    // 40..44: LegoOS diary bugs 1-3 (issue 14, branch l14a)
    public static final int ZERO_FILL = 40;
    // 44..46: LegoOS diary bug 4 (issue 14, branch l14d)
    public static final int PAGE_SPLIT = 44;

    private static final String[] NAMES = {
        "?", "slab-alloc", "slab-free", "page-alloc", "page-free", "text-register", "lock-acquire", "lock-release",
        "vmalloc", "vfree", "task-create", "task-exit", "oops", "smp-lock-site", "cpu-up", "module-load",
        "module-unload", "text-poke", "alt-smp-switch", "cpu-down", "suspend", "resume",
        "kmalloc", "value-use", "env-id"
    };
    private static final String[] NAMES_30 = {"data-racy", "access-once"};
    private static final String[] NAMES_40 = {"zero-fill"};

    private Mark()
    {
    }

    public static String name(final long type)
    {
        if (type >= 30 && type < 30 + NAMES_30.length)
        {
            return NAMES_30[(int)type - 30];
        }
        if (type >= 40 && type < 40 + NAMES_40.length)
        {
            return NAMES_40[(int)type - 40];
        }
        if (type == PAGE_SPLIT)
        {
            return "page-split";
        }
        return type > 0 && type < NAMES.length ? NAMES[(int)type] : "mark#" + type;
    }
}
