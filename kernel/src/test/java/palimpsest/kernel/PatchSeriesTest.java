package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Scenario;
import palimpsest.kernel.patches.PatchSeries;
import palimpsest.kernel.patches.Patches;

class PatchSeriesTest
{
    @Test
    void versionsArePrefixesAndTogglesApply()
    {
        final Patches v1 = Patches.of("v0.1", List.of());
        assertTrue(v1.enabled("slab-poison"));
        assertFalse(v1.enabled("loader-kzalloc-vma"));
        final Patches head = Patches.of("", List.of("-fork-flush-tlb", "+big-kernel-lock"));
        assertTrue(head.enabled("loader-kzalloc-vma"));
        assertFalse(head.enabled("fork-flush-tlb"));
        assertTrue(head.enabled("big-kernel-lock"));
        assertFalse(Patches.of("head", List.of()).enabled("big-kernel-lock"), "optional patches need +name");
    }

    @Test
    void unknownNamesAreOneLineErrors()
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Patches.of("v9", List.of()));
        assertTrue(e.getMessage().contains("v0.1") && !e.getMessage().contains("\n"), e.getMessage());
        final IllegalArgumentException p = assertThrows(IllegalArgumentException.class, () -> Patches.of("", List.of("+nope")));
        assertTrue(p.getMessage().contains("fork-flush-tlb"), p.getMessage());
        assertTrue(PatchSeries.load().versions().contains("head"));
    }

    @Test
    void scenariosAreDiscoveredByServiceLoader()
    {
        final List<String> names = new ArrayList<>();
        for (final Scenario s : ServiceLoader.load(Scenario.class))
        {
            names.add(s.name());
        }
        assertTrue(names.containsAll(List.of("boot", "word-count", "fork-cow")), names.toString());
    }
}
