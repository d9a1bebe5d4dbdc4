package palimpsest.analyzers.owner;

import palimpsest.analyzers.core.Symbols;

/** Where something happened: event number, cpu, task, pc and the backtrace at that moment. */
public final class Origin
{
    public final long event;
    public final int cpu;
    public final long task;
    public final long pc;
    public final long[] stack;

    public Origin(final long event, final int cpu, final long task, final long pc, final long[] stack)
    {
        this.event = event;
        this.cpu = cpu;
        this.task = task;
        this.pc = pc;
        this.stack = stack;
    }

    /** {@code "task 5 on cpu1 at event 1234:"} then the stack, KASAN's "Allocated by" shape. */
    public StringBuilder describe(final StringBuilder sb, final Symbols symbols)
    {
        sb.append(" task ").append(task).append(" on cpu").append(cpu).append(" at event ").append(event).append(":\n");
        return symbols.stack(sb, pc, stack);
    }
}
