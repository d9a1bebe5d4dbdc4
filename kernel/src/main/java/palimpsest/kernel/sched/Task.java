package palimpsest.kernel.sched;

/**
 * struct task_struct (slab cache "task_struct"). The task's instruction stream is a Java fiber; the
 * task_struct holds its id ({@link #FIBER_ID}), the only bridge from emulated memory to Java.
 *
 * <pre>
 *   +0   state             RUNNING / INTERRUPTIBLE / EXITING / ZOMBIE / DEAD
 *   +8   pid
 *   +16  tgid
 *   +24  fiber_id          which Java fiber runs this task
 *   +32  thread.sp         saved at switch_to
 *   +40  thread.fp
 *   +48  mm                mm_struct * (0 for kernel threads)
 *   +56  active_mm
 *   +64  stack             base of the 16 KiB kernel stack (direct map)
 *   +72  cpu
 *   +80  run_list          list_head { next, prev }
 *   +96  tasks             list_head { next, prev } on the global task list
 *   +112 parent
 *   +120 exit_code
 *   +128 flags             PF_KTHREAD, PF_THREAD
 *   +136 on_rq
 *   +144 clear_child_tid   user address
 *   +152 files             files_struct *
 *   +160 entry             routine address: kthread fn or user entry
 *   +168 arg
 *   +176 user_sp
 *   +184 comm[16]
 *   +200 regs[9]           user registers r0..r8 handed to a new task (fork/clone)
 *   +272 lock_depth        big kernel lock depth
 *   +280 futex_node        list_head in a futex bucket
 *   +296 futex_key         uaddr waited on
 *   +304 futex_mm
 *   +312 frozen            1 while the task sits in the refrigerator (freezer)
 *   +320 migrate_to        cpu + 1 the task moves to when it next switches out (0 = stay)
 *   +328 cpus_allowed      cpu mask the scheduler may place it on (inherited at fork; sched_init
 *                          gives the boot idle task only the boot cpu)
 * </pre>
 */
public final class Task
{
    public static final int STATE = 0;
    public static final int PID = 8;
    public static final int TGID = 16;
    public static final int FIBER_ID = 24;
    public static final int SP = 32;
    public static final int FP = 40;
    public static final int MM = 48;
    public static final int ACTIVE_MM = 56;
    public static final int STACK = 64;
    public static final int CPU = 72;
    public static final int RUN_LIST = 80;
    public static final int TASKS = 96;
    public static final int PARENT = 112;
    public static final int EXIT_CODE = 120;
    public static final int FLAGS = 128;
    public static final int ON_RQ = 136;
    public static final int CLEAR_CHILD_TID = 144;
    public static final int FILES = 152;
    public static final int ENTRY = 160;
    public static final int ARG = 168;
    public static final int USER_SP = 176;
    public static final int COMM = 184;
    public static final int REGS = 200;
    public static final int LOCK_DEPTH = 272;
    public static final int FUTEX_NODE = 280;
    public static final int FUTEX_KEY = 296;
    public static final int FUTEX_MM = 304;
    public static final int FROZEN = 312;
    public static final int MIGRATE_TO = 320;
    public static final int CPUS_ALLOWED = 328;
    public static final int SIZE = 336;

    public static final long RUNNING = 0;
    public static final long INTERRUPTIBLE = 1;
    public static final long EXITING = 2;
    public static final long ZOMBIE = 3;
    public static final long DEAD = 4;

    public static final long PF_KTHREAD = 1;
    public static final long PF_THREAD = 2;
    public static final long PF_USER = 4;

    private Task()
    {
    }
}
