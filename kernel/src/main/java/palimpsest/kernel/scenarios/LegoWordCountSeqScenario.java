package palimpsest.kernel.scenarios;

import palimpsest.emulator.ScenarioContext;

/** lego-word-count-seq: Phoenix word_count-seq on LegoOS: the same program with one map thread. */
public final class LegoWordCountSeqScenario extends LegoWordCountScenario
{
    @Override
    public String name()
    {
        return "lego-word-count-seq";
    }

    @Override
    public String description()
    {
        return "LegoOS: word_count with one map thread (Phoenix word_count-seq) through the pcache";
    }

    @Override
    protected int threads(final ScenarioContext context)
    {
        return 1;
    }

    /** Its tasks mostly run one at a time: the placement on one cpu says nothing. */
    @Override
    protected boolean spreadsOverCpus()
    {
        return false;
    }
}
