package palimpsest.kernel.scenarios;

import palimpsest.emulator.ScenarioContext;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.programs.WordCountPthread;

/**
 * lego-word-count-pthread: Phoenix word_count-pthread as the LegoOS diary ran it (keys are
 * pointers into per-thread text buffers; both the buffers and the key arrays grow with mremap,
 * from four threads at once). GOOD when the counts are right and every node powered off.
 * The diary's 02/06 race (two overlapping mremaps whose pte moves reach the processor in the
 * wrong order: patch lego-pcache-move-pte) and its 02/12 exec crash (lego-loader-kmalloc-vma)
 * show on this workload; kernel/README.md, "LegoOS", says with which seeds.
 */
public final class LegoWordCountPthreadScenario extends LegoWordCountScenario
{
    @Override
    public String name()
    {
        return "lego-word-count-pthread";
    }

    @Override
    public String description()
    {
        return "LegoOS: Phoenix word_count-pthread (pointer keys, per-thread text buffers, concurrent mremaps) through the pcache";
    }

    /** More text and more distinct words than lego-word-count: every thread's buffers grow several times. */
    @Override
    protected String text(final ScenarioContext context)
    {
        return WordCountScenario.text(context.longArg("text-seed", 42), (int)context.longArg("words", 8000),
            (int)context.longArg("vocab", 1500));
    }

    @Override
    protected java.util.List<palimpsest.emulator.ScenarioArg> scenarioArgs()
    {
        final java.util.List<palimpsest.emulator.ScenarioArg> args = new java.util.ArrayList<>();
        for (final palimpsest.emulator.ScenarioArg a : super.scenarioArgs())
        {
            if (a.name().equals("passes"))
            {
                continue;
            }
            if (a.name().equals("words"))
            {
                args.add(palimpsest.emulator.ScenarioArg.number("words", "8000", "words in the generated input text"));
            }
            else
            {
                args.add(a);
            }
        }
        args.add(palimpsest.emulator.ScenarioArg.number("vocab", "1500", "distinct words the text draws from"));
        return args;
    }

    @Override
    protected void program(final KernelConfig config, final ScenarioContext context)
    {
        config.program(new WordCountPthread(threads(context)));
        config.init("/bin/word_count-pthread");
    }
}
