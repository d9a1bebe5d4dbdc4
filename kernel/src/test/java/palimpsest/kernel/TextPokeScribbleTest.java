package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Machine;
import palimpsest.emulator.Verdict;
import palimpsest.kernel.arch.Alternatives;
import palimpsest.kernel.module.E1000;
import palimpsest.kernel.module.Modules;
import palimpsest.kernel.patches.Patch;
import palimpsest.kernel.patches.PatchSeries;
import palimpsest.kernel.scenarios.TextPokeScribbleScenario;
import palimpsest.trace.EventKind;
import palimpsest.trace.EventSink;

/** The 2.6.25-git2 0xf0 scribble: who is hit, when it is not, and the store and load in the events. */
class TextPokeScribbleTest
{
    private static Runs run(final String version, final List<String> patches, final Map<String, String> args)
    {
        return Runs.run(new TextPokeScribbleScenario(), 0, null, args, version, patches, null);
    }

    @Test
    void buggyKernelOopsesInDLookupOnAnF0Pointer()
    {
        final Runs r = run("v2.6.25-git2", List.of(), Map.of());
        assertEquals(Verdict.Kind.BAD, r.verdict.kind, r.console());
        assertTrue(r.verdict.message.startsWith("oops in __d_lookup"), r.verdict.message);
        assertTrue(r.console().contains("SMP alternatives: switching to UP code"), r.console());
        assertTrue(r.console().matches("(?s).*BUG: unable to handle kernel paging request at fffff0[0-9a-f]{10}\nIP: \\[<[0-9a-f]+>\\] __d_lookup\\+.*"),
            r.console());
        assertTrue(r.console().contains("Modules linked in: e1000"), r.console());
    }

    @Test
    void v2625IsClean()
    {
        final Runs r = run("v2.6.25", List.of(), Map.of());
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.verdict + "\n" + r.console());
        assertTrue(r.console().contains("Restarting tasks ... done."), r.console());
    }

    @Test
    void theFixPatchMakesGit2Clean()
    {
        final Runs r = run("v2.6.25-git2", List.of("+" + Alternatives.PATCH_FIX), Map.of());
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.verdict + "\n" + r.console());
        assertTrue(r.console().contains("SMP alternatives: switching to SMP code"), r.console());
    }

    @Test
    void withoutSuspendNoCrash()
    {
        final Runs r = run("v2.6.25-git2", List.of(), Map.of("suspend", "0"));
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.verdict + "\n" + r.console());
        assertTrue(!r.console().contains("PM: Entering mem sleep"));
    }

    @Test
    void withoutTheModuleNoCrash()
    {
        final Runs r = run("v2.6.25-git2", List.of(), Map.of("module", "0"));
        assertEquals(Verdict.Kind.GOOD, r.verdict.kind, r.verdict + "\n" + r.console());
        assertTrue(r.console().contains("Restarting tasks ... done."), r.console());
    }

    @Test
    void checkerVictimSeesPOrF0()
    {
        final Runs r = run("v2.6.25-git2", List.of(), Map.of("victim", "checker"));
        assertEquals(Verdict.Kind.BAD, r.verdict.kind, r.console());
        assertTrue(r.verdict.message.startsWith("checker: corrupted byte 0xf0"), r.verdict.message);
        assertTrue(r.console().contains("WHAT THE HELL ("), r.console());
        assertTrue(r.console().contains("70f0707070707070") || r.console().contains("70707070707070f0"), r.console());
    }

    /** Every patch between v2.6.25 and v2.6.25-git2 on top of v2.6.25: BAD exactly when the rodata patch is in. */
    @Test
    void everyPatchOfTheSeriesIsClassified()
    {
        final PatchSeries s = PatchSeries.load();
        final List<Patch> all = s.patches();
        final int from = s.resolve("v2.6.25", List.of()).size();
        final List<String> toggles = new ArrayList<>();
        boolean bugIn = false;
        int checked = 0;
        for (final Patch p : all)
        {
            if (p.optional() || s.resolve("v2.6.25", List.of()).contains(p))
            {
                continue;
            }
            if (!s.resolve("v2.6.25-git2", List.of()).contains(p))
            {
                break;
            }
            toggles.add("+" + p.name());
            bugIn |= p.name().equals(Alternatives.PATCH_RODATA);
            final Runs r = run("v2.6.25", toggles, Map.of());
            assertEquals(bugIn ? Verdict.Kind.BAD : Verdict.Kind.GOOD, r.verdict.kind, p.name() + ": " + r.verdict);
            checked++;
        }
        assertTrue(checked >= 8 && from > 0, "patches between v2.6.25 and git2: " + checked);
    }

    /**
     * In the recorded events: text_poke's 1-byte store of 0xF0 into a physical page that is not the
     * module's text page, and a later load by __d_lookup returning the corrupted value.
     */
    @Test
    void theStrayStoreAndTheVictimLoadAreInTheEvents()
    {
        final Machine[] box = new Machine[1];
        final long[] range = new long[4];
        final List<long[]> pokes = new ArrayList<>();
        final long[] victim = new long[3];
        final EventSink sink = new EventSink()
        {
            @Override
            public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr,
                final long paddr, final int size, final long value, final long old)
            {
                if (kind == EventKind.STORE && size == 1 && value == 0xF0 && pc >= range[0] && pc < range[1])
                {
                    pokes.add(new long[] {paddr, vaddr});
                }
                else if (kind == EventKind.LOAD && size == 8 && pc >= range[2] && pc < range[3] && victim[0] == 0)
                {
                    for (final long[] p : pokes)
                    {
                        if (p[0] >= paddr && p[0] < paddr + 8 && ((value >>> ((p[0] - paddr) * 8)) & 0xFF) == 0xF0)
                        {
                            victim[0] = paddr;
                            victim[1] = value;
                            victim[2] = p[0];
                        }
                    }
                }
            }

            @Override
            public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b, final long c)
            {
            }

            @Override
            public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
                final byte[] payload, final int offset, final int length)
            {
            }
        };
        final Runs r = Runs.run(new TextPokeScribbleScenario(), 0, sink, Map.of(), "v2.6.25-git2", List.of(), m ->
        {
            box[0] = m;
            range[0] = m.code().addressOf("text_poke");
            range[1] = range[0] + 0xc0;
            range[2] = m.code().addressOf("__d_lookup");
            range[3] = range[2] + 0x100;
        });
        assertEquals(Verdict.Kind.BAD, r.verdict.kind);
        final KernelInspector ki = new KernelInspector(r.machine.memory(0));
        final long mod = ki.modules().get(0);
        assertEquals(E1000.NAME, ki.moduleName(mod));
        final long text = ki.read64(mod + Modules.M_CORE);
        final long textPage = ki.translate(ki.swapperPgd(), text) & ~0xFFFL;
        assertTrue(textPage > 0);
        final long stray = pokes.stream().filter(p -> (p[0] & ~0xFFFL) != textPage).count();
        assertTrue(stray >= 4, "text_poke's 0xF0 stores outside the module's text page: " + stray + " of " + pokes.size());
        // The stray page is the one virt_to_page(module text) names: pfn = (text - __START_KERNEL_map) >> 12.
        assertTrue(pokes.stream().anyMatch(p -> (p[0] & ~0xFFFL) == text - Layout.START_KERNEL_MAP));
        assertNotEquals(0, victim[0], "no __d_lookup load returned a byte text_poke wrote");
        assertEquals(0xF0, (victim[1] >>> 40) & 0xFF, Long.toHexString(victim[1]));
        assertEquals(victim[0] + 5, victim[2], "byte 5 of d_hash.next");
        assertNotNull(ki.symbolizeModule(text + 0x8d));
        assertEquals("e1000_watchdog+0xd/0x80 [e1000]", ki.symbolizeModule(text + 0x8d));
    }
}
