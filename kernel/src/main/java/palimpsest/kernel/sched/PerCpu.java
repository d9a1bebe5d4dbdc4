package palimpsest.kernel.sched;

/**
 * The per-cpu area (one page per cpu, from memblock; {@code __per_cpu_offset[cpu]} points to it).
 * A cpu finds its own through its APIC id, as x86 finds it through GS.
 *
 * <pre>
 *   +0   cpu_number
 *   +8   current_task        task_struct *
 *   +16  idle_task           task_struct *
 *   +24  need_resched
 *   +32  rq.lock             spinlock
 *   +40  rq.queue            list_head { next, prev } of task_struct.run_list
 *   +56  rq.nr_running
 *   +64  prev_task           the task switched away from (finish_task_switch)
 *   +72  irq_count           interrupts taken
 *   +80  cpuhp_state         last hotplug state reached
 *   +88  idle_stack_top
 *   +96  nr_switches
 *   +104 ticks               timer interrupts
 *   +112 in_oops
 *   +120 cpu_state         CPU_DEAD(0) / UP_PREPARE / ONLINE / DYING (hotplug handshake)
 *   +128 online_jiffies    jiffies when the cpu last came online (how long its tick had to show up)
 *   +136 kworker           task_struct * of kworker/N (smpboot_create_threads), 0 until created
 *   +144 wq.lock           the worker pool's spinlock
 *   +152 wq.worklist       list_head { next, prev } of pending work (dead tasks to free, by tasks)
 *   +168 wq.nr_pending
 *   +176 wq.since          jiffies + 1 when the oldest pending item was queued (0: none)
 *   +184 wq.flags          POOL_ONLINE (workqueue_online_cpu), POOL_PARKED (smpboot_park_threads)
 *   +192 wq.lost           dead tasks that found no worker pool (never freed)
 *   +1024 user_switches    LegoOS only: switches to a task with an mm (where user work ran; the verdict reads it)
 * </pre>
 */
public final class PerCpu
{
    public static final int CPU = 0;
    public static final int CURRENT = 8;
    public static final int IDLE = 16;
    public static final int NEED_RESCHED = 24;
    public static final int RQ_LOCK = 32;
    public static final int RQ_QUEUE = 40;
    public static final int RQ_NR = 56;
    public static final int PREV_TASK = 64;
    public static final int IRQ_COUNT = 72;
    public static final int CPUHP_STATE = 80;
    public static final int IDLE_STACK_TOP = 88;
    public static final int NR_SWITCHES = 96;
    public static final int TICKS = 104;
    public static final int IN_OOPS = 112;
    public static final int CPU_STATE = 120;
    public static final int ONLINE_JIFFIES = 128;
    public static final int KWORKER = 136;
    public static final int WQ_LOCK = 144;
    public static final int WQ_LIST = 152;
    public static final int WQ_NR = 168;
    public static final int WQ_SINCE = 176;
    public static final int WQ_FLAGS = 184;
    public static final int WQ_LOST = 192;
    public static final int USER_SWITCHES = 1024;
    public static final long POOL_ONLINE = 1;
    public static final long POOL_PARKED = 2;

    /** cpu_state values: dead (or never booted), being brought up, online, asked to go down. */
    public static final long CPU_DEAD = 0;
    public static final long CPU_UP_PREPARE = 1;
    public static final long CPU_ONLINE = 2;
    public static final long CPU_DYING = 3;
    public static final int SIZE = 4096;

    private PerCpu()
    {
    }
}
