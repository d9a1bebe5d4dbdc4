package palimpsest.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Paging;
import palimpsest.kernel.arch.Alternatives;
import palimpsest.kernel.module.E1000;
import palimpsest.kernel.module.Modules;

class ModuleTest
{
    @Test
    void loadRunUnloadE1000()
    {
        final long[] r = new long[8];
        final String[] sym = new String[2];
        KUnit.run((cpu, k) ->
        {
            final long free0 = k.pages.nrFreePages(cpu);
            assertEquals(0, k.modules.loadModule(cpu, E1000.NAME));
            assertEquals(Modules.EEXIST, k.modules.loadModule(cpu, E1000.NAME));
            assertEquals(Modules.ENOENT, k.modules.loadModule(cpu, "nope"));
            final long mod = k.modules.findModule(cpu, E1000.NAME);
            final long text = cpu.load64(mod + Modules.M_CORE);
            r[0] = text;
            r[1] = k.pt.lookup(cpu, k.pt.swapperPgd(cpu), text);
            assertEquals(4, cpu.load64(mod + Modules.M_NUM_LOCKS));
            final long site = cpu.load64(cpu.load64(mod + Modules.M_LOCKS));
            assertEquals(0xF0, cpu.load8(site));
            sym[0] = k.symbolize(site);
            // The watchdog runs from the timer: its counter moves.
            final long adapter = cpu.load64(mod + Modules.M_PRIVATE);
            k.timers.scheduleTimeout(cpu, 3 * E1000.WATCHDOG_TICKS);
            r[2] = cpu.load64(adapter + E1000.A_WATCHDOG_RUNS);
            sym[1] = k.modules.linkedIn(cpu);
            assertEquals(0, k.modules.deleteModule(cpu, E1000.NAME));
            assertEquals(0, k.modules.findModule(cpu, E1000.NAME));
            r[3] = k.pt.lookup(cpu, k.pt.swapperPgd(cpu), text);
            r[4] = free0 - k.pages.nrFreePages(cpu);
        });
        assertTrue(r[0] >= Layout.MODULES_VADDR || r[0] < 0);
        assertEquals(Paging.W, r[1] & Paging.W, "module text is PAGE_KERNEL_EXEC (writable)");
        assertEquals("e1000_watchdog+0xd/0x80", sym[0]);
        assertTrue(r[2] >= 2, "watchdog runs: " + r[2]);
        assertEquals("e1000", sym[1]);
        assertEquals(0, r[3] & Paging.P, "vfree unmapped the text");
        // The text page goes back; slab pages grown for struct module and its tables stay with their caches.
        assertTrue(r[4] <= 3, "pages not given back: " + r[4]);
    }

    /** With the fix, text_poke of a module site writes the module text itself. */
    @Test
    void fixedTextPokePatchesModuleTextInPlace()
    {
        final long[] r = new long[2];
        KUnit.run((cpu, k) ->
        {
            k.modules.loadModule(cpu, E1000.NAME);
            final long mod = k.modules.findModule(cpu, E1000.NAME);
            final long site = cpu.load64(cpu.load64(mod + Modules.M_LOCKS));
            final long twin = Layout.va(site - Layout.START_KERNEL_MAP);
            final long before = cpu.load8(twin);
            k.alternatives.textPoke(cpu, site, Alternatives.UP_PREFIX, 1);
            r[0] = cpu.load8(site);
            r[1] = cpu.load8(twin) == before ? 1 : 0;
            k.alternatives.textPoke(cpu, site, Alternatives.SMP_PREFIX, 1);
        }, List.of(), null);
        assertEquals(Alternatives.UP_PREFIX, r[0]);
        assertEquals(1, r[1], "the page virt_to_page() names must be untouched with the fix");
    }

    @Test
    void buggyTextPokeWritesVirtToPageOfModuleText()
    {
        final long[] r = new long[3];
        KUnit.run((cpu, k) ->
        {
            k.modules.loadModule(cpu, E1000.NAME);
            final long mod = k.modules.findModule(cpu, E1000.NAME);
            final long site = cpu.load64(cpu.load64(mod + Modules.M_LOCKS));
            final long twin = Layout.va(site - Layout.START_KERNEL_MAP);
            k.alternatives.textPoke(cpu, site, Alternatives.UP_PREFIX, 1);
            r[0] = cpu.load8(site);
            r[1] = cpu.load8(twin);
            r[2] = twin;
        }, List.of("-" + Alternatives.PATCH_FIX), null);
        assertEquals(0xF0, r[0], "module text unchanged");
        assertEquals(Alternatives.UP_PREFIX, r[1], "the byte landed at __pa(site) = site - __START_KERNEL_map");
        assertNotEquals(0, r[2]);
    }
}
