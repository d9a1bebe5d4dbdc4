package palimpsest.analyzers;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongConsumer;

import palimpsest.analyzers.code.CodeWriteAuditor;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.heap.HeapShadow;
import palimpsest.analyzers.irq.InterruptStateAnalyzer;
import palimpsest.analyzers.mm.SharedPageTableAnalyzer;
import palimpsest.analyzers.stack.FrameWalkAnalyzer;
import palimpsest.analyzers.stack.StaleFramePointerAnalyzer;
import palimpsest.analyzers.oops.OopsChain;
import palimpsest.analyzers.owner.Owners;
import palimpsest.analyzers.whowrote.WhoWroteIndex;
import palimpsest.trace.Event;
import palimpsest.trace.TraceHeader;
import palimpsest.trace.TraceReader;
import palimpsest.trace.TraceStatus;

/**
 * {@code pal analyze}: every analyzer in one streaming pass (heap shadow, code-write audit, oops
 * capture), then the oops chain's second stage through the who-wrote index. Per event: the
 * analyzers look first, then the memory owners and the machine shadow take the event in.
 */
public final class Analysis
{
    /** What a run found. */
    public static final class Result
    {
        public final List<Finding> findings = new ArrayList<>();
        public long events;
        public String traceStatus = "";
    }

    private Analysis()
    {
    }

    public static Result run(final Path trace, final Symbols symbols, final LongConsumer progress)
    {
        final Result result = new Result();
        final List<Analyzer> analyzers = new ArrayList<>();
        final OopsChain oops;
        final InterruptStateAnalyzer irqState;
        final FrameWalkAnalyzer frameWalk;
        final SharedPageTableAnalyzer ptShare;
        try (TraceReader r = TraceReader.open(trace))
        {
            final TraceHeader h = r.header();
            final MachineShadow shadow = new MachineShadow(h.cpuCount(), h.cpusPerNode());
            symbols.readModulesFrom(shadow.memory());
            final Owners owners = new Owners(shadow, symbols);
            analyzers.add(new HeapShadow(shadow, owners, symbols));
            analyzers.add(new CodeWriteAuditor(shadow, owners, symbols));
            oops = new OopsChain(shadow, owners, symbols);
            analyzers.add(oops);
            irqState = new InterruptStateAnalyzer(h.cpuCount(), symbols);
            analyzers.add(irqState);
            analyzers.add(new StaleFramePointerAnalyzer(h.cpuCount(), symbols));
            frameWalk = new FrameWalkAnalyzer(shadow, symbols);
            analyzers.add(frameWalk);
            ptShare = new SharedPageTableAnalyzer(shadow, symbols);
            analyzers.add(ptShare);
            final Analyzer[] all = analyzers.toArray(new Analyzer[0]);
            final Event e = new Event();
            while (r.next(e))
            {
                for (final Analyzer a : all)
                {
                    a.onEvent(e);
                }
                owners.onEvent(e);
                shadow.apply(e);
                if (progress != null && (e.index() & 0xfffff) == 0)
                {
                    progress.accept(e.index());
                }
                result.events++;
            }
            for (final Analyzer a : all)
            {
                a.onEnd();
            }
            if (r.status() == TraceStatus.READING)
            {
                r.verify();
            }
            result.traceStatus = r.statusMessage();
        }
        if (oops.sawOops())
        {
            oops.explain(trace, WhoWroteIndex.openOrBuild(trace, progress));
        }
        irqState.explain(trace);
        if (frameWalk.sawBadWalk() || ptShare.sawSharing())
        {
            final WhoWroteIndex idx = WhoWroteIndex.openOrBuild(trace, progress);
            frameWalk.explain(trace, idx);
            ptShare.explain(trace, idx);
        }
        for (final Analyzer a : analyzers)
        {
            result.findings.addAll(a.findings());
        }
        result.findings.sort(Comparator.comparingLong(f -> f.event));
        return result;
    }
}
