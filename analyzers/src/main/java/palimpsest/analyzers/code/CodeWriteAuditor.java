package palimpsest.analyzers.code;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

import palimpsest.analyzers.Analyzer;
import palimpsest.analyzers.Finding;
import palimpsest.analyzers.core.MachineShadow;
import palimpsest.analyzers.core.Symbols;
import palimpsest.analyzers.owner.Owners;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.kernel.module.Modules;
import palimpsest.trace.Event;
import palimpsest.trace.EventKind;

/**
 * Every write to code must land in live, registered code. Two kinds of store are code writes:
 * <ul>
 *   <li>stores by a writer that treats its target as text: {@code text_poke} (announced by a
 *       TEXT_POKE mark saying which address it means to patch; its stores may go through a
 *       temporary mapping, so the virtual address proves nothing: the physical address must be the
 *       one the target is mapped to);</li>
 *   <li>any store into the physical pages of the kernel image's text.</li>
 * </ul>
 * A code write is fine when it lands on the physical byte its target maps to, the target is in
 * kernel text or in the text of a module loaded and not unloaded (MODULE_LOAD/MODULE_UNLOAD), and,
 * when LOCK-prefix sites are registered (SMP_LOCK_SITE marks) and the poke is one byte, at such a
 * site. Otherwise the report names the writer (pc, backtrace), the physical byte really written
 * and what it was at that moment (slab object, page, user page), and what the writer meant to write.
 */
public final class CodeWriteAuditor implements Analyzer
{
    private static final long MAX_MODULE_TEXT = 2L << 20;
    private final MachineShadow shadow;
    private final Owners owners;
    private final Symbols symbols;
    private final List<Finding> findings = new ArrayList<>();
    private final Set<Long> lockSites = new HashSet<>();
    /** Live module text bases -> struct module. */
    private final TreeMap<Long, Long> modules = new TreeMap<>(Long::compareUnsigned);
    private final long textPhys = Layout.KERNEL_TEXT - Layout.START_KERNEL_MAP;
    private final long textPhysEnd;
    /** Whether the trace ran our kernel (its image text at {@link #textPhys}); bare-metal scenarios put anything there. */
    private boolean kernelImage = true;
    private final long[] pokeTarget;
    private final long[] pokeExpected;
    private final long[] pokeEvent;
    private final int[] pokeLeft;
    private final int[] pokeDone;
    private final int[] pokeOpcode;
    private long codeWrites;

    public CodeWriteAuditor(final MachineShadow shadow, final Owners owners, final Symbols symbols)
    {
        this.shadow = shadow;
        this.owners = owners;
        this.symbols = symbols;
        this.textPhysEnd = textPhys + Layout.TEXT_MAX;
        final int n = shadow.cpus();
        pokeTarget = new long[n];
        pokeExpected = new long[n];
        pokeEvent = new long[n];
        pokeLeft = new int[n];
        pokeDone = new int[n];
        pokeOpcode = new int[n];
    }

    @Override
    public String name()
    {
        return "code";
    }

    /** How many code writes were checked (pokes plus stores into kernel text). */
    public long codeWrites()
    {
        return codeWrites;
    }

    /** The kinds {@link #onEvent} looks at. */
    private static final int KINDS = 1 << EventKind.STORE | 1 << EventKind.RMW | 1 << EventKind.MARK;

    @Override
    public int kinds()
    {
        return KINDS;
    }

    @Override
    public void onEvent(final Event e)
    {
        final int kind = e.kind();
        final int cpu = e.cpu();
        if (kind == EventKind.MARK)
        {
            onMark(e);
            return;
        }
        if ((kind != EventKind.STORE && kind != EventKind.RMW) || cpu >= pokeLeft.length)
        {
            return;
        }
        final long key = shadow.physKey(cpu, e.paddr());
        final boolean poke = pokeLeft[cpu] > 0 && isPokeStore(e);
        final long pa = MachineShadow.paddrOf(key);
        if (!poke && (!kernelImage || pa < textPhys || pa >= textPhysEnd))
        {
            return;
        }
        codeWrites++;
        if (poke)
        {
            final int done = pokeDone[cpu];
            pokeDone[cpu] += e.size();
            pokeLeft[cpu] -= e.size();
            final long target = pokeTarget[cpu] + done;
            final String wrong = checkPoke(cpu, key, target, done);
            if (wrong != null)
            {
                report(e, key, target, wrong);
            }
        }
        else
        {
            report(e, key, 0, "a store into kernel text by a writer that is not text_poke");
        }
    }

    private boolean isPokeStore(final Event e)
    {
        // text_poke's calls push return addresses and frame pointers: stack bookkeeping, not the poke.
        if (shadow.onStack(e.cpu(), e.vaddr()))
        {
            return false;
        }
        final String f = symbols.function(e.pc());
        if (f != null)
        {
            return f.startsWith("text_poke");
        }
        return e.size() == 1 && (e.value() & 0xff) == pokeOpcode[e.cpu()];
    }

    /** @return why this poke store is wrong, or null when it is a fine code write. */
    private String checkPoke(final int cpu, final long key, final long target, final int done)
    {
        final long expected = pokeExpected[cpu] < 0 ? -1 : pokeExpected[cpu] + done;
        if (expected >= 0 && key != expected)
        {
            return "text_poke wrote phys " + Long.toHexString(MachineShadow.paddrOf(key)) + " but its target "
                + Long.toHexString(target) + " is mapped at phys " + Long.toHexString(MachineShadow.paddrOf(expected));
        }
        if (!liveText(target))
        {
            return "text_poke target " + Long.toHexString(target) + " is not live registered text";
        }
        if (!lockSites.isEmpty() && !lockSites.contains(target))
        {
            return "text_poke target " + Long.toHexString(target) + " is not a registered LOCK-prefix site";
        }
        return null;
    }

    private boolean liveText(final long addr)
    {
        if (Long.compareUnsigned(addr, Layout.KERNEL_TEXT) >= 0 && Long.compareUnsigned(addr, Layout.KERNEL_TEXT + Layout.TEXT_MAX) < 0)
        {
            return true;
        }
        final Long base = modules.floorKey(addr);
        return base != null && Long.compareUnsigned(addr - base, moduleTextSize(base)) < 0;
    }

    /**
     * The module's core size as its struct module says (the loader wrote it before MODULE_LOAD);
     * 2 MiB, the most a module may take here, when the trace did not show it.
     */
    private long moduleTextSize(final long base)
    {
        final long size = shadow.readVirt64(0, modules.get(base) + Modules.M_CORE_SIZE);
        return size > 0 && size <= MAX_MODULE_TEXT ? size : MAX_MODULE_TEXT;
    }

    private void onMark(final Event e)
    {
        final int cpu = e.cpu();
        switch ((int)e.a())
        {
            case Mark.SMP_LOCK_SITE:
                lockSites.add(e.b());
                break;
            case Mark.MODULE_LOAD:
                modules.put(e.c(), e.b());
                break;
            case Mark.MODULE_UNLOAD:
                modules.remove(e.c());
                break;
            case Mark.TEXT_POKE:
                if (cpu < pokeLeft.length)
                {
                    pokeTarget[cpu] = e.b();
                    pokeOpcode[cpu] = (int)(e.c() & 0xff);
                    pokeLeft[cpu] = Math.max(1, (int)(e.c() >>> 8));
                    pokeDone[cpu] = 0;
                    pokeEvent[cpu] = e.index();
                    // Where the target really is, as the accesses so far showed it mapped (or the image formula).
                    pokeExpected[cpu] = shadow.translate(cpu, e.b());
                }
                break;
            default:
                break;
        }
    }

    private String moduleOf(final long addr)
    {
        final Long base = modules.floorKey(addr);
        if (base == null || Long.compareUnsigned(addr - base, moduleTextSize(base)) >= 0)
        {
            return "";
        }
        return " (module text at " + Long.toHexString(base) + ", struct module " + Long.toHexString(modules.get(base)) + ")";
    }

    private void report(final Event e, final long key, final long target, final String why)
    {
        final int cpu = e.cpu();
        final long[] stack = shadow.backtrace(cpu);
        final StringBuilder sb = new StringBuilder();
        sb.append("==================================================================\n");
        sb.append("BUG: code write outside live text by ").append(symbols.sym(e.pc())).append('\n');
        sb.append("Write of size ").append(e.size()).append(String.format(" value 0x%x (was 0x%x)", e.value(), e.oldValue()))
            .append(" at virt ").append(Long.toHexString(e.vaddr())).append(" phys ").append(Long.toHexString(e.paddr()))
            .append(" by task ").append(shadow.task(cpu)).append(" on cpu").append(cpu).append(" at event ").append(e.index()).append('\n');
        sb.append(why).append('\n');
        if (target != 0)
        {
            sb.append("The writer meant to write ").append(String.format("0x%02x", pokeOpcode[cpu])).append(" at ")
                .append(Long.toHexString(target)).append(' ').append(symbols.sym(target)).append(moduleOf(target))
                .append(" (TEXT_POKE at event ").append(pokeEvent[cpu]).append(")\n");
        }
        sb.append("Writer: ").append(symbols.chain(e.pc(), stack)).append("\nCall Trace:\n");
        symbols.stack(sb, e.pc(), stack);
        sb.append("What phys ").append(Long.toHexString(e.paddr())).append(" really was at that moment:\n");
        sb.append(owners.describe(key));
        sb.append("==================================================================\n");
        findings.add(new Finding(name(), e.index(), "code write of " + String.format("0x%x", e.value()) + " by "
            + symbols.chain(e.pc(), stack) + " landed at phys " + Long.toHexString(e.paddr()) + " (" + shortOwner(key) + ")",
            sb.toString(), Finding.Role.CAUSE, "code-write", culprit(e.pc(), stack), 85, pokeEvent[cpu] >= 0 && target != 0 ? pokeEvent[cpu] : e.index()));
    }

    @Override
    public String checked()
    {
        return codeWrites + " writes into text or by text_poke checked";
    }

    /** The writer and its caller ({@code text_poke <- alternatives_smp_lock}): who meant the write. */
    private String culprit(final long pc, final long[] stack)
    {
        final String f = symbols.function(pc) != null ? symbols.function(pc) : symbols.sym(pc);
        if (stack.length == 0)
        {
            return f;
        }
        final String caller = symbols.function(stack[0]);
        return f + " <- " + (caller != null ? caller : symbols.sym(stack[0]));
    }

    private String shortOwner(final long key)
    {
        final var o = owners.objectAt(key);
        if (o != null)
        {
            return (o.live() ? "live " : "freed ") + owners.cacheName(o.cacheId) + " object " + Long.toHexString(o.vaddr)
                + " +" + (key - o.physKey);
        }
        final var b = owners.blockAt(key);
        if (b != null)
        {
            return b.freed != null ? "free page" : "allocated page";
        }
        return "unowned memory";
    }

    @Override
    public List<Finding> findings()
    {
        return findings;
    }

    /** Registers this analyzer as {@code code}. */
    public static final class Factory extends palimpsest.analyzers.ShadowAnalyzerFactory
    {
        public Factory()
        {
            super("code", "code-write audit: text_poke stores outside live text or registered LOCK sites, stores into kernel text", null);
        }

        @Override
        public palimpsest.analyzers.Analyzer create(final palimpsest.analyzers.AnalysisContext c)
        {
            final CodeWriteAuditor a = new CodeWriteAuditor(c.shadow, c.owners, c.symbols);
            a.kernelImage = !c.header.kernelVersion().isEmpty();
            return a;
        }
    }
}
