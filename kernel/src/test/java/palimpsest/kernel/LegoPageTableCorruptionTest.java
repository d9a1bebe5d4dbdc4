package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.Paging;
import palimpsest.emulator.PhysicalMemory;
import palimpsest.emulator.ScenarioContext;
import palimpsest.emulator.Verdict;
import palimpsest.emulator.input.ChaosInput;
import palimpsest.emulator.input.InputSource;
import palimpsest.emulator.input.SeededInput;
import palimpsest.kernel.scenarios.LegoPythonScenario;
import palimpsest.trace.EventSink;

/**
 * The LegoOS diary's 03/08 page-table corruption (lego-python at lego-2018-03-08) is not one lucky
 * timing: over seeded and chaos schedules, timer periods (kvictim_flushd sleeps a tick) and
 * workload sizes, the run ends in the diary's oops after SYSC_mprotect, and at that point a
 * victim slot still holds the address of the page that is now the pud (or pmd) the GOT's walk
 * goes through, whose entry holds a heap line's tagged int (present, beyond RAM). The fixed
 * kernel says hello world on two of the same schedules.
 */
final class LegoPageTableCorruptionTest
{
    private static final long PCACHE_VICTIM = 128;
    private static final int VICTIMS = 8;
    private static final Pattern CR3 = Pattern.compile("CR3: ([0-9a-f]{16})");

    private record Case(String name, InputSource input, Map<String, String> args)
    {
    }

    private static Machine run(final String kernel, final Case c, final List<String> failures)
    {
        final Machine m = new Machine(new MachineConfig(2, 4, 32), EventSink.NULL, c.input());
        final LegoPythonScenario s = new LegoPythonScenario();
        s.load(m, new ScenarioContext(c.args(), kernel, List.of()));
        final Outcome o = m.run(s.maxInstructions());
        final Verdict v = s.verdict(m, o);
        if (kernel.endsWith("-fix") ? v.kind != Verdict.Kind.GOOD : v.kind != Verdict.Kind.BAD)
        {
            failures.add(c.name() + ": " + v);
        }
        return m;
    }

    private static long global(final PhysicalMemory mem, final long g)
    {
        return mem.read64(g - Layout.KERNEL_DATA + Layout.DATA_PHYS);
    }

    /** The physical addresses of the pages the victim slots point at. */
    private static List<Long> slotPages(final PhysicalMemory mem)
    {
        final long c = Layout.pa(global(mem, Globals.LEGO_PCACHE));
        final List<Long> pages = new ArrayList<>();
        for (int i = 0; i < VICTIMS; i++)
        {
            final long page = mem.read64(c + PCACHE_VICTIM + i * 32L + 24);
            if (page != 0)
            {
                pages.add(Layout.pa(page));
            }
        }
        return pages;
    }

    private static boolean garbage(final long entry, final long ram)
    {
        return (entry & Paging.P) != 0 && (entry & Paging.ADDR_MASK) >= ram;
    }

    @Test
    void theDiarysOopsAfterMprotectOverSchedulesTicksAndSizesWithAStaleSlotOnTheGotsTables()
    {
        final List<Case> cases = List.of(
            new Case("seeded 0", new SeededInput(0), Map.of()),
            new Case("chaos 3", new ChaosInput(3), Map.of()),
            new Case("tick 50000", new SeededInput(1), Map.of("tick", "50000")),
            new Case("chaos 5, tick 400000", new ChaosInput(5), Map.of("tick", "400000")),
            new Case("heap-pages 32", new SeededInput(2), Map.of("heap-pages", "32")),
            new Case("libs 4 x 6 pages", new ChaosInput(7), Map.of("libs", "4", "lib-pages", "6")));
        final List<String> failures = new ArrayList<>();
        for (final Case c : cases)
        {
            final Machine m = run("lego-2018-03-08", c, failures);
            final String p = m.console(0).text();
            final int bug = p.indexOf("BUG: unable to handle kernel paging request at ffff8");
            final int mprotect = bug < 0 ? -1 : p.lastIndexOf("SYSC_mprotect() cpu(", bug);
            if (bug < 0 || mprotect < 0 || !p.substring(bug).contains("IP: [<") ||
                !p.substring(bug).contains("pcache_handle_fault+0x60/0x6c0") || p.substring(0, bug).contains("hello world"))
            {
                failures.add(c.name() + ": not the diary's oops after SYSC_mprotect:\n" + p.substring(Math.max(0, p.length() - 2000)));
                continue;
            }
            final Matcher cr3 = CR3.matcher(p.substring(bug));
            assertTrue(cr3.find(), p);
            final PhysicalMemory mem = m.memory(0);
            final long ram = mem.size();
            final long pgd = Long.parseUnsignedLong(cr3.group(1), 16) & Paging.ADDR_MASK;
            final long pud = mem.read64(pgd) & Paging.ADDR_MASK;
            final long pudEntry = mem.read64(pud);
            final long pmd = pudEntry & Paging.ADDR_MASK;
            final List<Long> slots = slotPages(mem);
            // The GOT (0x601000) is entry 0 of the pud and entry 3 of the pmd.
            final boolean pudStale = slots.contains(pud) && garbage(pudEntry, ram);
            final boolean pmdStale = !garbage(pudEntry, ram) && slots.contains(pmd) && garbage(mem.read64(pmd + 3 * 8), ram);
            if (!pudStale && !pmdStale)
            {
                failures.add(c.name() + ": no victim slot points at the GOT's corrupted pud " + Long.toHexString(pud) + " (entry 0 " +
                    Long.toHexString(pudEntry) + ") or pmd; slots " + slots.stream().map(Long::toHexString).toList());
            }
        }
        for (final Case c : List.of(cases.get(0), cases.get(1)))
        {
            final Machine m = run("lego-2018-03-08-fix", c, failures);
            final String p = m.console(0).text();
            if (!p.contains("hello world"))
            {
                failures.add(c.name() + " (fix): no hello world");
            }
        }
        assertEquals(List.of(), failures);
    }
}
