package palimpsest.kernel.arch;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Lists;
import palimpsest.kernel.Mark;
import palimpsest.kernel.mm.PageAlloc;
import palimpsest.kernel.mm.PageTable;
import palimpsest.kernel.module.Modules;

/**
 * SMP alternatives (arch/x86/kernel/alternative.c of 2.6.25): every LOCK-prefixed instruction of
 * the core kernel and of each module is listed in a {@code .smp_locks} table. When the last
 * secondary cpu goes down the prefixes are patched to the harmless DS prefix 0x3E (UP code: no
 * bus lock), when a second cpu comes up they are patched back to 0xF0. The emulator's atomics
 * honour the byte they fetch, so a prefix that is missing really makes an atomic non-atomic, and
 * a byte written to the wrong place really lands in somebody else's memory.
 *
 * <pre>
 * struct smp_alt_module (kmalloc-64), on the smp_alt_modules list (Globals.SMP_ALT_MODULES)
 *   +0  next  +8 prev
 *   +16 mod (struct module *, 0 for the core kernel)
 *   +24 locks (array of site addresses)   +32 nr locks
 *   +40 text  +48 text_end
 * </pre>
 *
 * <p>{@code text_poke} has three variants, chosen by the patch series:
 * <ul>
 * <li>v2.6.25: the kernel text stays writable while cpu hotplug is possible (mark_rodata_ro
 *     leaves it: "It must still be possible to apply SMP alternatives"); a plain store.</li>
 * <li>{@code x86-debug-rodata-alternatives} ("x86: enhance DEBUG_RODATA support - alternatives"):
 *     text is read-only; if {@code kernel_text_address(addr)} -- true for module text too -- the
 *     pages {@code virt_to_page(addr)} and {@code virt_to_page(addr + PAGE_SIZE)} are vmap'ed
 *     writable and the byte is stored there. For a module address virt_to_page is computed as
 *     {@code __pa(addr) = addr - __START_KERNEL_map}: an unrelated page of RAM. The bug.</li>
 * <li>{@code x86-fix-text-poke-core-kernel-text} ("x86: fix text_poke: use core_kernel_text"):
 *     only core kernel text goes through the mapping; module text (mapped writable) is stored to
 *     directly.</li>
 * </ul>
 */
public final class Alternatives
{
    public static final String PATCH_RODATA = "x86-debug-rodata-alternatives";
    public static final String PATCH_FIX = "x86-fix-text-poke-core-kernel-text";

    public static final int UP_PREFIX = 0x3E;
    public static final int SMP_PREFIX = 0xF0;

    static final int A_MOD = 16;
    static final int A_LOCKS = 24;
    static final int A_NLOCKS = 32;
    static final int A_TEXT = 40;
    static final int A_TEXT_END = 48;
    static final int ALT_SIZE = 56;

    private final Kernel k;
    private final Fn switchFn;
    private final Fn lockFn;
    private final Fn unlockFn;
    private final Fn textPokeFn;
    private final Fn moduleAddFn;
    private final Fn moduleDelFn;
    private final Fn kernelTextAddressFn;
    private final Fn instructionsFn;
    private final Fn rodataFn;

    public Alternatives(final Kernel k)
    {
        this.k = k;
        this.instructionsFn = k.text.fn("alternative_instructions", 0x80);
        this.switchFn = k.text.fn("alternatives_smp_switch", 0x100);
        this.lockFn = k.text.fn("alternatives_smp_lock", 0x60);
        this.unlockFn = k.text.fn("alternatives_smp_unlock", 0x60);
        this.moduleAddFn = k.text.fn("alternatives_smp_module_add", 0x80);
        this.moduleDelFn = k.text.fn("alternatives_smp_module_del", 0x60);
        this.textPokeFn = k.text.fn("text_poke", 0xc0);
        this.kernelTextAddressFn = k.text.fn("kernel_text_address", 0x40);
        this.rodataFn = k.text.fn("mark_rodata_ro", 0x80);
    }

    // ------------------------------------------------------------------ boot

    /**
     * alternative_instructions: the core kernel becomes the first smp_alt_module; a kernel booted
     * on one cpu switches to UP code right away.
     */
    public void init(final Cpu cpu, final int nrCpus)
    {
        instructionsFn.enter(cpu);
        Lists.init(cpu, Globals.SMP_ALT_MODULES);
        cpu.store64(Globals.SMP_MODE, 1);
        addSection(cpu, 0, Globals.SMP_LOCKS, cpu.load64(Globals.SMP_LOCKS_COUNT), Layout.KERNEL_TEXT, k.text.end());
        if (nrCpus == 1)
        {
            smpSwitch(cpu, false);
        }
        instructionsFn.leave(cpu);
    }

    /**
     * mark_rodata_ro, late in boot. 2.6.25 left the text writable when cpu hotplug could
     * still need SMP alternatives; with DEBUG_RODATA-for-alternatives it is always read-only.
     */
    public void markRodataRo(final Cpu cpu, final int nrCpus)
    {
        rodataFn.enter(cpu);
        if (!k.patches.enabled(PATCH_RODATA) && nrCpus > 1)
        {
            k.printk.printk(cpu, "Kernel text left writable: SMP alternatives may still be applied");
            rodataFn.leave(cpu);
            return;
        }
        final long swapper = k.pt.swapperPgd(cpu);
        for (long a = Layout.KERNEL_TEXT; a < k.text.end(); a += Layout.PAGE_SIZE)
        {
            rodataFn.at(cpu, 0x40);
            k.pt.map(cpu, swapper, a, Layout.TEXT_PHYS + (a - Layout.KERNEL_TEXT), PageTable.PAGE_KERNEL_RX, false);
        }
        k.smp.flushTlbRange(cpu, 0, Layout.KERNEL_TEXT, k.text.end());
        k.printk.printk(cpu, "Write protecting the kernel read-only data: " + (k.text.end() - Layout.KERNEL_TEXT + 1023) / 1024 + "k");
        rodataFn.leave(cpu);
    }

    /** The text mapping startup_64 uses: writable until mark_rodata_ro decides. */
    public static long bootTextFlags()
    {
        return PageTable.PAGE_KERNEL_EXEC;
    }

    private long addSection(final Cpu cpu, final long mod, final long locks, final long n, final long text, final long textEnd)
    {
        final long smp = k.slab.kzalloc(cpu, ALT_SIZE);
        cpu.store64(smp + A_MOD, mod);
        cpu.store64(smp + A_LOCKS, locks);
        cpu.store64(smp + A_NLOCKS, n);
        cpu.store64(smp + A_TEXT, text);
        cpu.store64(smp + A_TEXT_END, textEnd);
        Lists.addTail(cpu, smp, Globals.SMP_ALT_MODULES);
        return smp;
    }

    // ------------------------------------------------------------------ modules

    /** alternatives_smp_module_add: at module load; UP code right away if only one cpu is online. */
    public void moduleAdd(final Cpu cpu, final long mod)
    {
        moduleAddFn.enter(cpu);
        final long text = cpu.load64(mod + Modules.M_CORE);
        final boolean f = k.spin.lockIrqSave(cpu, Globals.SMP_ALT_LOCK);
        final long smp = addSection(cpu, mod, cpu.load64(mod + Modules.M_LOCKS), cpu.load64(mod + Modules.M_NUM_LOCKS), text,
            text + cpu.load64(mod + Modules.M_CORE_SIZE));
        if (Long.bitCount(k.smp.onlineMask(cpu)) == 1)
        {
            moduleAddFn.at(cpu, 0x40);
            unlock(cpu, smp);
        }
        k.spin.unlockIrqRestore(cpu, Globals.SMP_ALT_LOCK, f);
        moduleAddFn.leave(cpu);
    }

    /** alternatives_smp_module_del: at module unload. */
    public void moduleDel(final Cpu cpu, final long mod)
    {
        moduleDelFn.enter(cpu);
        final boolean f = k.spin.lockIrqSave(cpu, Globals.SMP_ALT_LOCK);
        long node = cpu.load64(Globals.SMP_ALT_MODULES);
        while (node != Globals.SMP_ALT_MODULES)
        {
            moduleDelFn.at(cpu, 0x20);
            if (cpu.load64(node + A_MOD) == mod)
            {
                Lists.del(cpu, node);
                k.slab.kfree(cpu, node);
                break;
            }
            node = cpu.load64(node);
        }
        k.spin.unlockIrqRestore(cpu, Globals.SMP_ALT_LOCK, f);
        moduleDelFn.leave(cpu);
    }

    // ------------------------------------------------------------------ the switch

    /**
     * alternatives_smp_switch(smp): called by cpu hotplug before an AP is started (smp = true) and
     * when only one cpu remains (smp = false). Walks every smp_alt_module and patches its sites.
     * Like 2.6.25 it does not check the current mode: every call patches (and prints).
     */
    public void smpSwitch(final Cpu cpu, final boolean smp)
    {
        switchFn.enter(cpu);
        final long online = Long.bitCount(k.smp.onlineMask(cpu));
        if (!smp && online > 1)
        {
            k.oops.bug(cpu, "BUG: alternatives_smp_switch(0) with " + online + " cpus online");
        }
        final boolean f = k.spin.lockIrqSave(cpu, Globals.SMP_ALT_LOCK);
        cpu.mark(Mark.ALT_SMP_SWITCH, smp ? 1 : 0, online);
        k.printk.printk(cpu, "SMP alternatives: switching to " + (smp ? "SMP" : "UP") + " code");
        long node = cpu.load64(Globals.SMP_ALT_MODULES);
        while (node != Globals.SMP_ALT_MODULES)
        {
            switchFn.at(cpu, 0x60);
            if (smp)
            {
                lock(cpu, node);
            }
            else
            {
                unlock(cpu, node);
            }
            node = cpu.load64(node);
        }
        cpu.store64(Globals.SMP_MODE, smp ? 1 : 0);
        k.spin.unlockIrqRestore(cpu, Globals.SMP_ALT_LOCK, f);
        switchFn.leave(cpu);
    }

    /** alternatives_smp_lock: 0xF0 back at every site within the section's text. */
    private void lock(final Cpu cpu, final long smp)
    {
        lockFn.enter(cpu);
        patchAll(cpu, smp, SMP_PREFIX, lockFn);
        lockFn.leave(cpu);
    }

    /** alternatives_smp_unlock: 0x3E (DS prefix, a no-op) at every site. */
    private void unlock(final Cpu cpu, final long smp)
    {
        unlockFn.enter(cpu);
        patchAll(cpu, smp, UP_PREFIX, unlockFn);
        unlockFn.leave(cpu);
    }

    private void patchAll(final Cpu cpu, final long smp, final int opcode, final Fn fn)
    {
        final long locks = cpu.load64(smp + A_LOCKS);
        final long n = cpu.load64(smp + A_NLOCKS);
        final long text = cpu.load64(smp + A_TEXT);
        final long textEnd = cpu.load64(smp + A_TEXT_END);
        for (long i = 0; i < n; i++)
        {
            fn.at(cpu, 0x20);
            final long site = cpu.load64(locks + i * 8);
            if (Long.compareUnsigned(site, text) < 0 || Long.compareUnsigned(site, textEnd) >= 0)
            {
                continue;
            }
            textPoke(cpu, site, opcode, 1);
        }
    }

    // ------------------------------------------------------------------ text_poke

    /** core_kernel_text: _stext <= addr < _etext (link-time symbols). */
    public boolean coreKernelText(final long addr)
    {
        return Long.compareUnsigned(addr, Layout.KERNEL_TEXT) >= 0 && Long.compareUnsigned(addr, k.text.end()) < 0;
    }

    /** kernel_text_address: core kernel text, or the text of a loaded module (walks the module list). */
    public boolean kernelTextAddress(final Cpu cpu, final long addr)
    {
        kernelTextAddressFn.enter(cpu);
        final boolean r = coreKernelText(addr) || k.modules.moduleTextAddress(cpu, addr) != 0;
        kernelTextAddressFn.leave(cpu);
        return r;
    }

    /** text_poke(addr, opcode, len): writes the byte(s) into text; the variant depends on the series. */
    public void textPoke(final Cpu cpu, final long addr, final int opcode, final int len)
    {
        textPokeFn.enter(cpu);
        cpu.mark(Mark.TEXT_POKE, addr, (opcode & 0xFF) | (long)len << 8);
        if (!k.patches.enabled(PATCH_RODATA))
        {
            // 2.6.25: text is writable (and module text always is).
            textPokeFn.at(cpu, 0x20);
            cpu.store8(addr, opcode);
        }
        else
        {
            final boolean viaMapping = k.patches.enabled(PATCH_FIX) ? coreKernelText(addr) : kernelTextAddress(cpu, addr);
            if (viaMapping)
            {
                final long[] pages = {PageAlloc.virtToPage(addr), PageAlloc.virtToPage(addr + Layout.PAGE_SIZE)};
                final long vaddr = k.vm.vmapPages(cpu, pages, 2, PageTable.PAGE_KERNEL);
                final boolean f = cpu.interruptsEnabled();
                cpu.cli();
                textPokeFn.at(cpu, 0x60);
                cpu.store8(vaddr + (addr & Layout.PAGE_MASK()), opcode);
                if (f)
                {
                    cpu.sti();
                }
                k.vm.vunmap(cpu, vaddr, 2 * Layout.PAGE_SIZE, false);
            }
            else
            {
                textPokeFn.at(cpu, 0x40);
                cpu.store8(addr, opcode);
            }
        }
        // sync_core(): serialise so the new byte is what the next fetch sees.
        cpu.compute(1);
        textPokeFn.leave(cpu);
    }
}
