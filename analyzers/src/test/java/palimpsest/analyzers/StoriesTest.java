package palimpsest.analyzers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class StoriesTest
{
    private static Finding symptom(final long ev, final long... links)
    {
        return new Finding("oops", ev, "oops at 6b6b6b6b6b6b6b6b in handle_mm_fault+0x68/0x100", "r", Finding.Role.SYMPTOM, "oops",
            "handle_mm_fault", 90, links);
    }

    @Test
    void aCauseFromAnAnalyzerTheRankingDoesNotKnowLeadsItsStory()
    {
        final Finding oops = symptom(900, 850);
        final Finding unknown = new Finding("some-plugin", 100, "stale entry", "r", Finding.Role.CAUSE, "stale-tlb", "dup_mm", 70, 850);
        final Finding other = new Finding("heap", 50, "KASAN read", "r", Finding.Role.SYMPTOM, "slab-use-after-free", "f", 99);
        final List<Stories.Story> s = Stories.of(List.of(other, oops, unknown));
        assertEquals(2, s.size());
        assertEquals(2, s.get(0).findings.size(), "linked by event 850: one story");
        assertEquals(unknown, s.get(0).lead());
        assertEquals("verdict: stale-tlb: dup_mm at event 100 [some-plugin]; it led to: oops at 6b6b6b6b6b6b6b6b in "
            + "handle_mm_fault+0x68/0x100 (event 900)", Stories.verdict(s, List.of()));
    }

    @Test
    void aCauseAloneOutranksAnUnexplainedSymptom()
    {
        final Finding oops = symptom(900);
        final Finding race = new Finding("kcsan", 10, "data-race in a / b", "r", Finding.Role.CAUSE, "data-race", "a", 60);
        final List<Stories.Story> s = Stories.of(List.of(oops, race));
        assertEquals(race, s.get(0).lead());
        assertTrue(Stories.verdict(s, List.of()).startsWith("verdict: data-race: a at event 10 [kcsan]: data-race in a / b"));
    }

    @Test
    void aSymptomNothingExplainsSaysSoAndWhatWasChecked()
    {
        final List<Stories.Story> s = Stories.of(List.of(symptom(900)));
        assertEquals("verdict: oops at 6b6b6b6b6b6b6b6b in handle_mm_fault+0x68/0x100 (event 900); no cause found: no finding links it "
            + "to an earlier event; checked: kmsan: 12 uninit loads, none used", Stories.verdict(s, List.of("kmsan: 12 uninit loads, none used")));
        assertEquals("verdict: clean (no findings)", Stories.verdict(Stories.of(List.of()), List.of()));
    }
}
