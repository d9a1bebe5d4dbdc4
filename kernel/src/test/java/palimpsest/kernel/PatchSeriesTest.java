package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.emulator.Scenario;
import palimpsest.kernel.patches.Patch;
import palimpsest.kernel.patches.PatchSeries;
import palimpsest.kernel.patches.SimplePatch;
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

    /** Placed after a built-in patch inside v2.6.25..git1. */
    public static final class PlacedA extends SimplePatch
    {
        public PlacedA()
        {
            super("zz-placed-a", "test: placed after device-pm-add-warn");
        }

        @Override
        public String after()
        {
            return "device-pm-add-warn";
        }
    }

    /** Placed after the other plugin patch. */
    public static final class PlacedB extends SimplePatch
    {
        public PlacedB()
        {
            super("zz-placed-b", "test: placed after zz-placed-a");
        }

        @Override
        public String after()
        {
            return "zz-placed-a";
        }
    }

    /** Placed after the patch that ends v2.6.25-git1: the tag does not take it in. */
    public static final class PlacedC extends SimplePatch
    {
        public PlacedC()
        {
            super("zz-placed-c", "test: placed after sched-clock-tweak");
        }

        @Override
        public String after()
        {
            return "sched-clock-tweak";
        }
    }

    /** Names a patch nobody has: appended. */
    public static final class Unplaced extends SimplePatch
    {
        public Unplaced()
        {
            super("zz-unplaced", "test: after a patch that does not exist");
        }

        @Override
        public String after()
        {
            return "no-such-patch";
        }
    }

    @Test
    void pluginPatchesGoWhereTheyAskAndTagsBehindThemMoveAlong(@TempDir final Path dir) throws Exception
    {
        final Path services = dir.resolve("META-INF/services");
        Files.createDirectories(services);
        Files.writeString(services.resolve(Patch.class.getName()), String.join("\n",
            Unplaced.class.getName(), PlacedC.class.getName(), PlacedB.class.getName(), PlacedA.class.getName()) + "\n");
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader()))
        {
            final PatchSeries s = PatchSeries.load(loader);
            final List<String> names = new ArrayList<>();
            s.patches().forEach(p -> names.add(p.name()));
            final int pm = names.indexOf("device-pm-add-warn");
            assertEquals(List.of("device-pm-add-warn", "zz-placed-a", "zz-placed-b", "x86-debug-rodata-alternatives",
                "sched-clock-tweak", "zz-placed-c", "kmalloc-large-warn"), names.subList(pm, pm + 7));
            assertEquals("zz-unplaced", names.get(names.size() - 1));
            final List<String> git1 = new ArrayList<>();
            s.resolve("v2.6.25-git1", List.of()).forEach(p -> git1.add(p.name()));
            assertTrue(git1.containsAll(List.of("zz-placed-a", "zz-placed-b", "sched-clock-tweak")), git1.toString());
            assertFalse(git1.contains("zz-placed-c"), "a tag ending at the anchor does not take the placed patch in");
            final List<String> v25 = new ArrayList<>();
            s.resolve("v2.6.25", List.of()).forEach(p -> v25.add(p.name()));
            assertFalse(v25.contains("zz-placed-a"), v25.toString());
            final List<String> git2 = new ArrayList<>();
            s.resolve("v2.6.25-git2", List.of()).forEach(p -> git2.add(p.name()));
            assertTrue(git2.containsAll(List.of("zz-placed-a", "zz-placed-b", "zz-placed-c", "path-lookup-slashes")), git2.toString());
            assertFalse(git2.contains("zz-unplaced"), git2.toString());
            final long branch = s.patches().stream().filter(p -> s.branchOf(p.name()) != null).count();
            assertEquals(s.patches().size(), s.resolve("head", List.of()).size() + 1 + branch,
                "head has all but the optional one and the jos/akaros branches");
        }
    }

    @Test
    void branchTagsTakeTheMainLineAndTheirOwnBranchOnly()
    {
        final PatchSeries s = PatchSeries.load();
        final List<String> head = new ArrayList<>();
        s.resolve("head", List.of()).forEach(p -> head.add(p.name()));
        assertTrue(head.stream().noneMatch(n -> n.startsWith("jos-") || n.startsWith("akaros-")), head.toString());
        final List<String> jos = new ArrayList<>();
        s.resolve("jos-lab4c", List.of()).forEach(p -> jos.add(p.name()));
        assertTrue(jos.containsAll(List.of("x86-fix-text-poke-core-kernel-text", "jos-env-setup-vm-memcpy", "jos-env-setup-vm-kernel-half",
            "jos-timer-irq")), jos.toString());
        assertTrue(jos.stream().noneMatch(n -> n.startsWith("akaros-")) && !jos.contains("jos-timer-kernel-mode")
            && !jos.contains("jos-timer-trap-gate"), jos.toString());
        final List<String> ak = new ArrayList<>();
        s.resolve("akaros-2016-06-02", List.of()).forEach(p -> ak.add(p.name()));
        assertTrue(ak.contains("akaros-reset-stacks") && !ak.contains("akaros-smp-idle-fp-first"), ak.toString());
        assertTrue(ak.stream().noneMatch(n -> n.startsWith("jos-")), ak.toString());
        assertEquals(PatchSeries.JOS, s.branchOf("jos-timer-irq"));
        assertEquals(null, s.branchOf("big-kernel-lock"));
    }

    @Test
    void theLegoBranchHasEachBugThenItsFix()
    {
        final PatchSeries s = PatchSeries.load();
        final java.util.function.Function<String, List<String>> names = v -> {
            final List<String> out = new ArrayList<>();
            s.resolve(v, List.of()).forEach(p -> out.add(p.name()));
            return out;
        };
        assertTrue(names.apply("head").stream().noneMatch(n -> n.startsWith("lego-")));
        assertTrue(names.apply("lego-2018-02-05-cpuhp").contains("lego-smp-callin") && !names.apply("lego-2018-02-05-cpuhp").contains("lego-cpuhp-secondary"));
        assertTrue(names.apply("lego-2018-02-05-cpuhp-fix").contains("lego-cpuhp-secondary"));
        assertTrue(names.apply("lego-2018-02-19").contains("lego-kernel-init") && !names.apply("lego-2018-02-19").contains("lego-init-cpus-allowed"));
        final List<String> bad = names.apply("lego-2018-03-01");
        assertTrue(bad.contains("lego-pcache-fork-cow") && !bad.contains("lego-fork-cow-flush-tlb"), bad.toString());
        final List<String> fixed = names.apply("lego-2018-03-01-fix");
        assertTrue(fixed.containsAll(List.of("x86-fix-text-poke-core-kernel-text", "lego-cpuhp-secondary", "lego-init-cpus-allowed",
            "lego-fork-cow-flush-tlb")), fixed.toString());
        assertTrue(fixed.stream().noneMatch(n -> n.startsWith("jos-") || n.startsWith("akaros-")), fixed.toString());
        assertEquals(PatchSeries.LEGO, s.branchOf("lego-pcache-fork-cow"));
        final List<String> march = names.apply("lego-2018-03-08");
        assertTrue(march.containsAll(List.of("lego-fork-cow-flush-tlb", "lego-pcache-walk-inline", "lego-mprotect-strace",
            "lego-victim-page-alloc")) && !march.contains("lego-victim-page-clear"), march.toString());
        assertTrue(names.apply("lego-2018-03-08-fix").contains("lego-victim-page-clear"));
        assertTrue(names.apply("lego-2018-03-01-fix").stream().noneMatch(n -> n.startsWith("lego-victim-page")));
    }
}
