package palimpsest.hunt;

import java.util.function.Consumer;

/**
 * Runs the seeds of a campaign somewhere: on local worker threads ({@link LocalRunner}) or on a
 * cluster ({@code palimpsest.hunt.cluster.ClusterRunner}). Every run depends on the spec and its
 * seed alone, so where and in which order the runs happen changes nothing but the wall time.
 */
public interface Runner extends AutoCloseable
{
    /**
     * Runs every seed once and hands each result to sink as it arrives. sink may be called from
     * several threads at once. Returns when every seed has a result.
     *
     * @throws IllegalArgumentException when a run rejects the spec (unknown scenario, bad argument)
     * @throws InterruptedException when the calling thread is interrupted (results handed over so far stand)
     */
    void run(HuntSpec spec, long[] seeds, Consumer<RunResult> sink) throws InterruptedException;

    /** Where the runs go, for the report ({@code 2 local workers}, {@code cluster of 3 members}). */
    String describe();

    @Override
    void close();
}
