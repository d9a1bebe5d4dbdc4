package palimpsest.kernel;

/**
 * Kernel global variables: addresses in the kernel image's data section (virtual
 * {@link Layout#KERNEL_DATA}, physical {@link Layout#DATA_PHYS}). Java holds only these addresses;
 * the values live in emulated memory.
 *
 * <pre>
 *  idt_table          256 x 8      handler address per vector
 *  __per_cpu_offset   64 x 8       per-cpu area of each cpu
 *  cpu_online_mask    8
 *  zone               lock, free_area[11] {list_head, nr_free}
 *  kmem_caches        32 x 128     struct kmem_cache, inline
 *  ...                             see the fields below
 *  init_stack         16 KiB       the boot cpu's first stack (becomes its idle stack)
 * </pre>
 */
public final class Globals
{
    private static long cursor = Layout.KERNEL_DATA;

    private static long alloc(final long size, final long align)
    {
        cursor = (cursor + align - 1) & -align;
        final long a = cursor;
        cursor += size;
        return a;
    }

    public static final int MAX_CPUS = 64;
    public static final int MAX_ORDER = 11;
    public static final int MAX_CACHES = 32;
    public static final int KMEM_CACHE_SIZE = 128;
    public static final int FUTEX_BUCKETS = 64;
    public static final int MAX_CPUHP = 16;
    public static final int MAX_SMP_LOCKS = 512;

    public static final long IDT = alloc(256 * 8, 4096);
    public static final long PER_CPU_OFFSET = alloc(MAX_CPUS * 8, 64);
    public static final long CPU_ONLINE_MASK = alloc(8, 8);
    public static final long NR_CPUS = alloc(8, 8);
    public static final long LOGBUF_LOCK = alloc(8, 64);
    public static final long OOPS_COUNT = alloc(8, 8);
    public static final long JIFFIES = alloc(8, 8);

    /** Memory: mem_map pointer, max_pfn, memblock cursor, total RAM, managed pages. */
    public static final long MEM_MAP = alloc(8, 8);
    public static final long MAX_PFN = alloc(8, 8);
    public static final long MEMBLOCK_CUR = alloc(8, 8);
    public static final long TOTAL_RAM = alloc(8, 8);
    public static final long INITRD_START = alloc(8, 8);
    public static final long INITRD_SIZE = alloc(8, 8);

    /** The zone: lock, then free_area[order] = { list_head free_list (16); nr_free (8) }. */
    public static final long ZONE_LOCK = alloc(8, 64);
    public static final long FREE_AREA = alloc(MAX_ORDER * 24, 8);
    public static final int FREE_AREA_SIZE = 24;
    public static final long NR_FREE_PAGES = alloc(8, 8);

    public static final long KMEM_CACHES = alloc(MAX_CACHES * KMEM_CACHE_SIZE, 64);
    public static final long NR_CACHES = alloc(8, 8);

    /** init_mm (struct mm_struct, inline) and the kernel pgd's physical address. */
    public static final long INIT_MM = alloc(128, 64);
    public static final long SWAPPER_PGD = alloc(8, 8);
    public static final long VMALLOC_NEXT = alloc(8, 8);
    public static final long MODULES_NEXT = alloc(8, 8);
    public static final long VMALLOC_LOCK = alloc(8, 8);

    /** Tasks: tasklist lock, list head (all tasks), next pid, init task pointer, next cpu for fork placement. */
    public static final long TASKLIST_LOCK = alloc(8, 64);
    public static final long TASK_LIST = alloc(16, 8);
    public static final long NEXT_PID = alloc(8, 8);
    public static final long INIT_PROC = alloc(8, 8);
    public static final long NEXT_CPU = alloc(8, 8);
    public static final long KERNEL_LOCK = alloc(8, 64);
    public static final long INIT_TASK = alloc(512, 64);

    /** smp_call_function: lock, func, info[3], pending acks, generation. */
    public static final long CFD_LOCK = alloc(8, 64);
    public static final long CFD_FUNC = alloc(8, 8);
    public static final long CFD_INFO = alloc(24, 8);
    public static final long CFD_PENDING = alloc(8, 8);

    /**
     * CPU hotplug: nr states, then struct cpuhp_step x MAX_CPUHP (the table, lowest state first):
     * <pre>
     *   +0   name[24]
     *   +24  startup        function address (0 = none), called as fn(cpu, state)
     *   +32  teardown       function address (0 = none)
     *   +40  flags          CPUHP_AP: runs on the cpu going up/down; else on the controlling cpu
     * </pre>
     */
    public static final long CPUHP_COUNT = alloc(8, 8);
    public static final int CPUHP_STEP_SIZE = 48;
    public static final int CPUHP_STARTUP = 24;
    public static final int CPUHP_TEARDOWN = 32;
    public static final int CPUHP_FLAGS = 40;
    public static final long CPUHP_AP = 1;
    /** The state needs its cpu online (the scheduler may wake tasks there): run after the online mask is set. */
    public static final long CPUHP_ONLINE = 2;
    public static final long CPUHP_STATES = alloc(MAX_CPUHP * CPUHP_STEP_SIZE, 8);
    /** cpu_add_remove_lock: serializes cpu_up/cpu_down (a spinlock; its holders never sleep). */
    public static final long CPU_ADD_REMOVE_LOCK = alloc(8, 64);
    /** frozen_cpus: the cpus disable_nonboot_cpus took down, brought back by enable_nonboot_cpus. */
    public static final long FROZEN_CPUS = alloc(8, 8);
    /** Round-robin cursor for choosing where migrated tasks go. */
    public static final long MIGRATE_NEXT = alloc(8, 8);

    /** Power management: freezing in progress, suspend requested (by the PM interrupt), kpowerd task, boot-param flag copy. */
    public static final long PM_FREEZING = alloc(8, 8);
    public static final long PM_REQUEST = alloc(8, 8);
    public static final long KPOWERD = alloc(8, 8);
    public static final long PM_SUSPENDS = alloc(8, 8);

    /** AP bring-up handshake. */
    public static final long AP_ONLINE_ACK = alloc(8, 8);

    /** dcache: hashtable pointer, mask, root dentry, dcache lock. */
    public static final long DENTRY_HASHTABLE = alloc(8, 8);
    public static final long D_HASH_MASK = alloc(8, 8);
    public static final long ROOT_DENTRY = alloc(8, 8);
    public static final long DCACHE_LOCK = alloc(8, 64);
    public static final long NEXT_INO = alloc(8, 8);
    /** file_operations of ramfs: { read, write } function addresses. */
    public static final long RAMFS_FOPS = alloc(16, 8);
    /** vm_operations_struct of the (unused) file mappings: { fault }. */
    public static final long GENERIC_VM_OPS = alloc(8, 8);

    /** futex hash: { lock 8; list_head 16; pad 8 } x FUTEX_BUCKETS. */
    public static final long FUTEX_QUEUES = alloc(FUTEX_BUCKETS * 32, 64);

    /** Alternatives: .smp_locks table: count then site addresses. */
    public static final long SMP_LOCKS_COUNT = alloc(8, 8);
    public static final long SMP_LOCKS = alloc(MAX_SMP_LOCKS * 8, 8);

    /** Modules: the list of struct module (list_head), and module_mutex (a spinlock here). */
    public static final long MODULES = alloc(16, 8);
    public static final long MODULE_MUTEX = alloc(8, 64);

    /**
     * Alternatives: smp_alt spinlock, the smp_alt_modules list head (struct smp_alt_module, one for
     * the core kernel and one per loaded module), and smp_mode (1 while the LOCK prefixes are in).
     */
    public static final long SMP_ALT_LOCK = alloc(8, 64);
    public static final long SMP_ALT_MODULES = alloc(16, 8);
    public static final long SMP_MODE = alloc(8, 8);

    /** Timers: lock and the list of pending struct timer_list (run by cpu 0 at each tick). */
    public static final long TIMER_LOCK = alloc(8, 64);
    public static final long TIMER_LIST = alloc(16, 8);

    /** Driver core: dpm_list (devices in power-management order) and "the system is suspended". */
    public static final long DPM_LIST = alloc(16, 8);
    public static final long PM_SLEEPING = alloc(8, 8);

    /**
     * cpu_possible_mask (every cpu the machine has) and cpu_active_mask (cpus the scheduler may
     * place tasks on: set by sched_cpu_activate, the last hotplug state of a cpu coming up).
     */
    public static final long CPU_POSSIBLE_MASK = alloc(8, 8);
    public static final long CPU_ACTIVE_MASK = alloc(8, 8);

    /**
     * Drivers (issue 11): pointers to chrdevs[] (a fops pointer per major) and irq_desc[256]
     * (handler, dev_id), kzalloc'ed by the first register_chrdev / request_irq (0 until then).
     */
    public static final int CHRDEV_MAJORS = 64;
    public static final long CHRDEVS = alloc(8, 8);
    public static final long IRQ_DESC = alloc(8, 8);

    /** Kernel command line copied from boot_params (init path). */
    public static final long CMDLINE = alloc(256, 8);

    /**
     * LegoOS (multi-node kernels only; zero and unused on one node): this node's role
     * (1 processor, 2 memory), its node id, and pointers to the ibapi transport, the pcache and
     * the memory-component manager state (see palimpsest.kernel.lego). In the slack below
     * init_stack, so the single-node layout is unchanged.
     */
    public static final long LEGO_ROLE = alloc(8, 8);
    public static final long LEGO_NODE = alloc(8, 8);
    public static final long LEGO_IBAPI = alloc(8, 8);
    public static final long LEGO_PCACHE = alloc(8, 8);
    public static final long LEGO_MC = alloc(8, 8);
    public static final long LEGO_NR_MEMORY = alloc(8, 8);
    /** LegoOS's SLOB (issue 14, bug 4): its lock, three free lists, two counters and a spare page (palimpsest.kernel.mm.Slob). */
    public static final long LEGO_SLOB = alloc(80, 8);

    public static final long INIT_STACK = alloc(Layout.THREAD_SIZE, 4096);
    public static final long INIT_STACK_TOP = INIT_STACK + Layout.THREAD_SIZE;

    public static final long END = alloc(0, 4096);

    static
    {
        if (END - Layout.KERNEL_DATA > Layout.DATA_MAX)
        {
            throw new IllegalStateException("kernel data too big");
        }
    }

    /** Physical address of a data-section variable (the image is mapped linearly). */
    public static long phys(final long addr)
    {
        return addr - Layout.START_KERNEL_MAP;
    }

    private Globals()
    {
    }
}
