package palimpsest.replayer;

import palimpsest.emulator.input.InputSource;
import palimpsest.trace.DecodeAhead;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;
import palimpsest.trace.InputKind;
import palimpsest.trace.TraceReader;

/**
 * Answers every nondeterministic choice with the one recorded in a trace, in order. The executor
 * asks in a deterministic order given the answers, so while the replayed run agrees with the
 * recording each question meets its recorded answer.
 *
 * <p>When the replayed run asks something the recording cannot answer (another kind of question,
 * a cpu that is not runnable now, or the recorded inputs are used up), the run has departed from
 * the recording (a what-if replay under another kernel, or a divergence): from then on a fallback
 * source with the recorded schedule policy and seed answers, so the run still completes.
 */
public final class ReplayInput implements InputSource
{
    private TraceReader inputs;
    private DecodeAhead ahead;
    /** Answers from the verifier's next recorded event while it is the INPUT asked for (null: a stream of inputs). */
    private Verifier lookahead;
    private java.nio.file.Path trace;
    /** Index after the last recorded INPUT answered from the lookahead: where a stream of inputs would go on. */
    private long cursor;
    private final InputSource fallback;
    private final Event scratch = new Event();
    /** The next recorded input (valid while hasNext): scratch, or a reference into ahead's current batch. */
    private Event next;
    private boolean hasNext;
    private long answered;
    private String departure;

    /** Reads the inputs from a reader on this thread ({@link TraceReader#nextInput}). */
    public ReplayInput(final TraceReader inputs, final InputSource fallback)
    {
        this.inputs = inputs;
        this.ahead = null;
        this.fallback = fallback;
        advance();
    }

    /** Reads the inputs decoded ahead on another thread: open it with {@link DecodeAhead.Mode#INPUTS}. */
    public ReplayInput(final DecodeAhead inputs, final InputSource fallback)
    {
        if (inputs.mode() != DecodeAhead.Mode.INPUTS)
        {
            throw new IllegalArgumentException("ReplayInput needs a DecodeAhead in INPUTS mode");
        }
        this.inputs = null;
        this.ahead = inputs;
        this.fallback = fallback;
        advance();
    }

    /**
     * Answers from the verifier's stream of recorded events, with no decoding of its own: the emulator
     * records each answer as an INPUT event right after asking, so while the replay agrees with the
     * recording the question meets its answer as the very next recorded event. When it does not (the
     * run is about to diverge, or has: a what-if replay runs on), the answers go on from a stream of
     * the trace's inputs from the first one not answered yet: the same answers, in the same order, as
     * a stream of inputs from the start ({@link DecodeAhead.Mode#INPUTS}) would give.
     */
    ReplayInput(final Verifier lookahead, final java.nio.file.Path trace, final InputSource fallback)
    {
        this.lookahead = lookahead;
        this.trace = trace;
        this.fallback = fallback;
    }

    /** Makes next the next recorded input (hasNext false when there is none): from the lookahead while it can. */
    private void locate()
    {
        if (lookahead == null)
        {
            return;
        }
        final Event p = lookahead.peekRecorded();
        if (p != null && p.kind() == EventKind.INPUT)
        {
            next = p;
            hasNext = true;
            return;
        }
        // Off the lookahead for good: from here on a stream of inputs, from the first one not answered.
        lookahead = null;
        ahead = DecodeAhead.open(trace, DecodeAhead.Mode.INPUTS, INPUT_BATCH, INPUT_BATCHES, cursor);
        advance();
    }

    /** Stops the stream of inputs, if one was opened (its decode thread). */
    void close()
    {
        if (lookahead == null && trace != null && ahead != null)
        {
            ahead.close();
        }
    }

    static final int INPUT_BATCH = 64;
    static final int INPUT_BATCHES = 8;

    private void advance()
    {
        if (ahead != null)
        {
            next = ahead.next();
            hasNext = next != null;
        }
        else
        {
            hasNext = inputs.nextInput(scratch);
            next = scratch;
        }
    }

    /** Why the run left the recorded inputs, or null while it follows them. */
    public String departure()
    {
        return departure;
    }

    public long answered()
    {
        return answered;
    }

    /** Whether recorded inputs remain unread (the replayed run ended before the recording did). */
    public boolean inputsLeft()
    {
        if (departure == null)
        {
            locate();
        }
        return departure == null && hasNext;
    }

    private boolean take(final int kind)
    {
        if (departure != null)
        {
            return false;
        }
        locate();
        if (!hasNext)
        {
            departure = "recorded inputs used up after " + answered + " answers (asked for " + InputKind.name(kind) + ")";
            return false;
        }
        if (next.kind() != EventKind.INPUT || (int)next.a() != kind)
        {
            departure = "input #" + answered + ": replay asked for " + InputKind.name(kind) + " but the recording has " +
                InputKind.name((int)next.a()) + " at event " + next.index();
            return false;
        }
        return true;
    }

    private long value()
    {
        final long v = next.b();
        answered++;
        if (lookahead != null)
        {
            // The verifier consumes the event when the replay records its answer.
            cursor = next.index() + 1;
            return v;
        }
        advance();
        return v;
    }

    @Override
    public String kind()
    {
        return "replay";
    }

    @Override
    public long seed()
    {
        return fallback.seed();
    }

    @Override
    public long slice(final int cpu)
    {
        return take(InputKind.SLICE) ? value() : fallback.slice(cpu);
    }

    @Override
    public int pickCpu(final long runnable, final int previous)
    {
        if (take(InputKind.PICK_CPU))
        {
            final int cpu = (int)next.b();
            if (cpu >= 0 && cpu < 64 && (runnable & (1L << cpu)) != 0)
            {
                value();
                return cpu;
            }
            departure = "input #" + answered + ": recorded pick of cpu" + cpu + " at event " + next.index() +
                " but it is not runnable in the replay (runnable mask " + Long.toHexString(runnable) + ")";
        }
        return fallback.pickCpu(runnable, previous);
    }

    @Override
    public long irqDelay(final int cpu, final int vector)
    {
        return take(InputKind.IRQ_DELAY) ? value() : fallback.irqDelay(cpu, vector);
    }

    @Override
    public long netLatency(final int src, final int dst, final int length)
    {
        return take(InputKind.NET_LATENCY) ? value() : fallback.netLatency(src, dst, length);
    }

    @Override
    public boolean netDrop(final int src, final int dst, final int length)
    {
        return take(InputKind.NET_DROP) ? value() != 0 : fallback.netDrop(src, dst, length);
    }

    @Override
    public long random()
    {
        return take(InputKind.RANDOM) ? value() : fallback.random();
    }

    @Override
    public long stimulus(final int id, final long nominal)
    {
        return take(InputKind.STIMULUS) ? value() : fallback.stimulus(id, nominal);
    }
}
