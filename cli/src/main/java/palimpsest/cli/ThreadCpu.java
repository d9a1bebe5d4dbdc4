package palimpsest.cli;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * CPU time per thread role while one measured job runs (for {@code pal bench}'s {@code why}
 * lines): a sampler thread reads every live thread's CPU time every 2 ms, so threads that end
 * with the job (decode-ahead threads, the emulator's cpu threads) are counted up to their last
 * sample. Roles are thread names with trailing digits dropped ({@code pal-decode-ahead-1} ->
 * {@code pal-decode-ahead-}) and every {@code emu-...} thread as {@code machine}. On a loaded machine
 * CPU time is the figure that compares; wall time is the load's.
 */
final class ThreadCpu
{
    private static final long SAMPLE_MS = 2;

    /** CPU nanoseconds per role, and the job's result. */
    record Measured<T>(T result, Map<String, Long> nanos)
    {
        long of(final String role)
        {
            return nanos.getOrDefault(role, 0L);
        }

        /** Nanoseconds per event of a role. */
        double perEvent(final String role, final long events)
        {
            return of(role) / (double)Math.max(1, events);
        }
    }

    private ThreadCpu()
    {
    }

    static <T> Measured<T> measure(final Supplier<T> job)
    {
        final ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        if (!mx.isThreadCpuTimeSupported())
        {
            return new Measured<>(job.get(), Map.of());
        }
        final Map<Long, Long> before = new HashMap<>();
        final Map<Long, Long> last = new HashMap<>();
        final Map<Long, String> names = new HashMap<>();
        final long self = Thread.currentThread().getId();
        sample(mx, before, names);
        final long me0 = mx.getCurrentThreadCpuTime();
        final Thread sampler = new Thread(() ->
        {
            while (!Thread.currentThread().isInterrupted())
            {
                synchronized (last)
                {
                    sample(mx, last, names);
                }
                try
                {
                    Thread.sleep(SAMPLE_MS);
                }
                catch (final InterruptedException e)
                {
                    return;
                }
            }
        }, "pal-bench-sampler");
        sampler.setDaemon(true);
        sampler.start();
        final T result;
        try
        {
            result = job.get();
        }
        finally
        {
            sampler.interrupt();
            try
            {
                sampler.join();
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
            }
        }
        final long me = mx.getCurrentThreadCpuTime() - me0;
        final Map<String, Long> roles = new TreeMap<>();
        synchronized (last)
        {
            sample(mx, last, names);
            last.forEach((id, cpu) ->
            {
                if (id != self && !"pal-bench-sampler".equals(names.get(id)))
                {
                    final long d = cpu - before.getOrDefault(id, 0L);
                    if (d > 0)
                    {
                        roles.merge(role(names.get(id)), d, Long::sum);
                    }
                }
            });
        }
        roles.merge("main", me, Long::sum);
        return new Measured<>(result, roles);
    }

    private static void sample(final ThreadMXBean mx, final Map<Long, Long> into, final Map<Long, String> names)
    {
        for (final long id : mx.getAllThreadIds())
        {
            final long cpu = mx.getThreadCpuTime(id);
            if (cpu > 0)
            {
                into.put(id, cpu);
                if (!names.containsKey(id))
                {
                    final ThreadInfo ti = mx.getThreadInfo(id);
                    names.put(id, ti == null ? "?" : ti.getThreadName());
                }
            }
        }
    }

    static String role(final String name)
    {
        if (name == null)
        {
            return "?";
        }
        if (name.startsWith("emu-"))
        {
            return "machine";
        }
        return name.replaceAll("[0-9]+$", "").toLowerCase(Locale.ROOT);
    }
}
