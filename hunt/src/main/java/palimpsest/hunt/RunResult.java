package palimpsest.hunt;

import java.io.Serializable;
import java.nio.file.Path;

import palimpsest.emulator.Verdict;

/**
 * What one run of a campaign sends back: the verdict, the signature and the trace's digest, and
 * for a failure the trace itself, either packed ({@link #packed}, from a cluster member) or as a
 * directory on this machine ({@link #localTrace}, from a local worker). Nothing of a passing run
 * but its seed, verdict and digest.
 */
public final class RunResult implements Serializable
{
    private static final long serialVersionUID = 1L;

    public final long seed;
    public final Verdict.Kind kind;
    /** The verdict as {@code pal record} prints it ({@code bad: oops in ...}). */
    public final String verdict;
    /** How the run ended ({@code poweroff}, {@code failure (code 1): ...}). */
    public final String outcome;
    /** {@link Signature} of a failure; empty for a good run. */
    public final String signature;
    /** The trace's final chained chunk digest: equal digests, equal events. */
    public final long digest;
    public final long events;
    /** Where the run was recorded ({@code local} or a cluster member's address); not part of the result proper. */
    public final String worker;
    /** The packed trace of a failure recorded elsewhere, or null. */
    public final byte[] packed;
    /** The trace directory of a failure recorded by a local worker, or null. */
    public final transient Path localTrace;

    public RunResult(final long seed, final Verdict.Kind kind, final String verdict, final String outcome, final String signature,
        final long digest, final long events, final String worker, final byte[] packed, final Path localTrace)
    {
        this.seed = seed;
        this.kind = kind;
        this.verdict = verdict;
        this.outcome = outcome;
        this.signature = signature;
        this.digest = digest;
        this.events = events;
        this.worker = worker;
        this.packed = packed;
        this.localTrace = localTrace;
    }

    public boolean failed()
    {
        return kind != Verdict.Kind.GOOD;
    }

    /** The same run with its trace packed (for sending) instead of on disk. */
    public RunResult withPacked(final byte[] bytes)
    {
        return new RunResult(seed, kind, verdict, outcome, signature, digest, events, worker, bytes, null);
    }

    @Override
    public String toString()
    {
        return "seed " + seed + " " + verdict + " digest " + Long.toHexString(digest);
    }
}
