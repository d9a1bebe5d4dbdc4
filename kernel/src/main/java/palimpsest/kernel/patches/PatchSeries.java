package palimpsest.kernel.patches;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * The ordered patch series the kernel is built from, and the version tags on it. A version is a
 * prefix of the series (every non-optional patch up to the tag); single patches are toggled on
 * top with "+name" / "-name".
 *
 * <pre>
 *  #  patch                  kind
 *  1  printk-time            feature: [sec.usec] timestamps from virtual time
 *  2  slab-poison            debug:   poison freed slab objects (0x6b..., last byte 0xa5)
 *  2a init-cpus-allowed      fix:     kernel_init: set_cpus_allowed_ptr(current, cpu_possible_mask) (LegoOS)
 *  3  smp-tlb-shootdown      feature: flush remote TLBs by IPI           <- v0.1
 *  4  cpuhp-secondary        fix:     run hotplug callbacks on every cpu that comes up (LegoOS)
 *  5  loader-kzalloc-vma     fix:     kzalloc, not kmalloc, the stack vma in bprm_mm_init (LegoOS)
 *  6  printk-cpu-id          noise:   nothing that matters to a bug      <- v0.2
 *  7  loader-clear-bss       fix:     zero the .bss tail of the last data page (LegoOS)
 *  8  fork-flush-tlb         fix:     flush the TLB after write-protecting the parent at fork (LegoOS)
 *  9  mremap-lock            fix:     take mmap_sem in mremap             <- v0.3
 * 10  big-kernel-lock        optional: JOS's big kernel lock around syscalls and faults
 *                                                                        <- v2.6.25
 * 11  rcu-list-iterators     noise:   RCU, list.h: fix list iterators (same x86 code: no event changes)
 * 12  slab-err-args          noise:   slab_err: pass parameters correctly
 * 13  x86-dma-ops            noise:   dma_alloc_coherent through dma_ops (an indirect call)
 * 14  device-pm-add-warn     noise:   device_pm_add: warn, but still register, children of sleeping devices
 * 15  x86-debug-rodata-alternatives  BUG: text read-only, text_poke maps virt_to_page(addr) when
 *                                    kernel_text_address(addr) -- wrong page for module text
 * 16  sched-clock-tweak      noise:   jiffies read through get_jiffies_64()
 *                                                                        <- v2.6.25-git1
 * 17  kmalloc-large-warn     noise:   kmalloc: one-line warning for sizes over 4096
 * 18  path-lookup-slashes    noise:   path_lookup: skip repeated slashes in one loop
 *                                                                        <- v2.6.25-git2 (buggy)
 * 19  x86-fix-text-poke-core-kernel-text  fix: text_poke: use core_kernel_text
 * then plugin patches, by name                                           <- head (default)
 * </pre>
 *
 * <p>Branches: the JOS and Akaros configurations of the same codebase are series branches, the way
 * one kernel tree carries several architectures. A branch's patches come after the main line's
 * built-ins (so a branch version has every main-line built-in patch: shared mm, sched, slab and
 * trap code) and only that branch's tags apply them; {@code head} and the main-line tags never do.
 * {@link BranchSeries} lists them (kernel/README.md, "JOS and Akaros"); {@link LegoSeries} the LegoOS
 * branch's (kernel/README.md, "The LegoOS branch").
 *
 * <p>A plugin patch with {@link Patch#after()} goes right after the named patch instead (several
 * after the same one keep name order; one may name another plugin patch): the tags behind that
 * point move with it, so e.g. a patch placed after {@code device-pm-add-warn} is in v2.6.25-git1
 * and git2 and among the candidates of a v2.6.25..git2 bisect.
 */
public final class PatchSeries
{
    public static final String DEFAULT_VERSION = "head";

    public static final String JOS = "jos";
    public static final String AKAROS = "akaros";
    public static final String LEGO = "lego";

    private final List<Patch> series = new ArrayList<>();
    private final Map<String, Integer> tags = new LinkedHashMap<>();
    /** Patch name -> branch, for branch patches only. */
    private final Map<String, String> branchOf = new HashMap<>();
    /** Tag -> branch, for branch tags only. */
    private final Map<String, String> tagBranch = new HashMap<>();

    private PatchSeries()
    {
    }

    /** The built-in series plus every patch found by ServiceLoader on the given class loader. */
    public static PatchSeries load(final ClassLoader loader)
    {
        final PatchSeries s = builtin();
        final List<Patch> extra = new ArrayList<>();
        for (final Patch p : ServiceLoader.load(Patch.class, loader))
        {
            if (s.find(p.name()) == null)
            {
                extra.add(p);
            }
        }
        extra.sort((a, b) -> a.name().compareTo(b.name()));
        // Placed patches first, as long as their anchors turn up (an anchor may be a plugin patch
        // placed in an earlier round); the rest, unplaced or with an unknown anchor, at the end.
        final Map<String, Patch> lastAfter = new HashMap<>();
        boolean progress = true;
        while (progress)
        {
            progress = false;
            for (final Iterator<Patch> it = extra.iterator(); it.hasNext(); )
            {
                final Patch p = it.next();
                final String anchor = p.after();
                if (anchor != null && s.find(anchor) != null)
                {
                    final Patch behind = lastAfter.getOrDefault(anchor, s.find(anchor));
                    s.insert(s.series.indexOf(behind) + 1, p);
                    lastAfter.put(anchor, p);
                    it.remove();
                    progress = true;
                }
            }
        }
        s.series.addAll(extra);
        s.tags.put("head", s.series.size());
        return s;
    }

    /** Inserts p at index i; tags that already reach past i - 1 take it in. */
    private void insert(final int i, final Patch p)
    {
        series.add(i, p);
        tags.replaceAll((tag, upTo) -> upTo > i ? upTo + 1 : upTo);
    }

    public static PatchSeries load()
    {
        // The context class loader is where a tool puts user plugin jars (pal --plugin); it sees
        // the built-ins too.
        final ClassLoader tccl = Thread.currentThread().getContextClassLoader();
        return load(tccl != null ? tccl : PatchSeries.class.getClassLoader());
    }

    private static PatchSeries builtin()
    {
        final PatchSeries s = new PatchSeries();
        s.add(new SimplePatch("printk-time", "printk: [sec.usec] timestamps from virtual time"));
        s.add(new SimplePatch("slab-poison", "slab: poison freed objects with 0x6b, last byte 0xa5"));
        s.add(new SimplePatch("init-cpus-allowed", "init: kernel_init may run on every possible cpu (sched_init bound it to the boot cpu)"));
        s.add(new SimplePatch("smp-tlb-shootdown", "x86/mm: flush other cpus' TLBs by IPI on unmap/mremap/COW"));
        s.tags.put("v0.1", s.series.size());
        s.add(new SimplePatch("cpuhp-secondary", "cpu/hotplug: invoke the state callbacks on secondary cpus too"));
        s.add(new SimplePatch("loader-kzalloc-vma", "loader: kzalloc the stack vma in __bprm_mm_init (garbage vm_ops)"));
        s.add(new SimplePatch("printk-cpu-id", "printk: no functional change (cleanup)"));
        s.tags.put("v0.2", s.series.size());
        s.add(new SimplePatch("loader-clear-bss", "loader: clear the .bss tail of the last file-backed page"));
        s.add(new SimplePatch("fork-flush-tlb", "fork: flush the parent's TLB after write-protecting its ptes"));
        s.add(new SimplePatch("mremap-lock", "mm: hold mmap_sem across mremap's vma and pte moves"));
        s.tags.put("v0.3", s.series.size());
        s.add(new SimplePatch("big-kernel-lock", "JOS: one big kernel lock around syscalls and faults", true));
        s.tags.put("v2.6.25", s.series.size());
        s.add(new SimplePatch("rcu-list-iterators", "RCU, list.h: fix list iterators"));
        s.add(new SimplePatch("slab-err-args", "slab_err: Pass parameters correctly to slab_bug"));
        s.add(new SimplePatch("x86-dma-ops", "x86: dma_alloc_coherent goes through dma_ops"));
        s.add(new SimplePatch("device-pm-add-warn", "PM: make device_pm_add warn, not fail, for children of sleeping devices"));
        s.add(new SimplePatch("x86-debug-rodata-alternatives", "x86: enhance DEBUG_RODATA support - alternatives"));
        s.add(new SimplePatch("sched-clock-tweak", "sched: read jiffies through get_jiffies_64"));
        s.tags.put("v2.6.25-git1", s.series.size());
        s.add(new SimplePatch("kmalloc-large-warn", "slab: warn once about kmalloc sizes over the largest cache"));
        s.add(new SimplePatch("path-lookup-slashes", "vfs: path_lookup skips repeated slashes in one loop"));
        s.tags.put("v2.6.25-git2", s.series.size());
        s.add(new SimplePatch("x86-fix-text-poke-core-kernel-text", "x86: fix text_poke: use core_kernel_text"));
        BranchSeries.jos(s);
        BranchSeries.akaros(s);
        LegoSeries.diaryFebruary(s);
        LegoSeries.diaryLate(s);
        LegoSeries.diaryMarch(s);
        LegoSeries.diarySlob(s);
        return s;
    }

    /** Appends a patch of a branch (see the class comment). */
    void addOnBranch(final String branch, final Patch p)
    {
        series.add(p);
        branchOf.put(p.name(), branch);
    }

    /** A tag on a branch: the main line's built-ins plus the branch's patches so far. */
    void tagBranch(final String branch, final String tag)
    {
        tags.put(tag, series.size());
        tagBranch.put(tag, branch);
    }

    /** The branch a patch belongs to, or null for the main line. */
    public String branchOf(final String patch)
    {
        return branchOf.get(patch);
    }

    public void add(final Patch p)
    {
        series.add(p);
    }

    public List<Patch> patches()
    {
        return Collections.unmodifiableList(series);
    }

    public List<String> versions()
    {
        return new ArrayList<>(tags.keySet());
    }

    public Patch find(final String name)
    {
        for (final Patch p : series)
        {
            if (p.name().equals(name))
            {
                return p;
            }
        }
        return null;
    }

    /**
     * The patches applied for a version and a list of toggles ("+name" / "-name"), in series order.
     * Unknown names throw IllegalArgumentException with a one-line message listing the known ones.
     */
    public List<Patch> resolve(final String version, final List<String> toggles)
    {
        final String v = version == null || version.isEmpty() ? DEFAULT_VERSION : version;
        final Integer upTo = tags.get(v);
        if (upTo == null)
        {
            throw new IllegalArgumentException("unknown kernel version '" + v + "'; known: " + String.join(", ", tags.keySet()));
        }
        final boolean[] on = new boolean[series.size()];
        final String branch = tagBranch.get(v);
        for (int i = 0; i < upTo; i++)
        {
            final String b = branchOf.get(series.get(i).name());
            on[i] = !series.get(i).optional() && (b == null || b.equals(branch));
        }
        for (final String t : toggles)
        {
            if (t.isEmpty() || (t.charAt(0) != '+' && t.charAt(0) != '-'))
            {
                throw new IllegalArgumentException("patch toggle must be +name or -name, got '" + t + "'");
            }
            final String name = t.substring(1);
            int idx = -1;
            for (int i = 0; i < series.size(); i++)
            {
                if (series.get(i).name().equals(name))
                {
                    idx = i;
                }
            }
            if (idx < 0)
            {
                final List<String> names = new ArrayList<>();
                series.forEach(p -> names.add(p.name()));
                throw new IllegalArgumentException("unknown patch '" + name + "'; known: " + String.join(", ", names));
            }
            on[idx] = t.charAt(0) == '+';
        }
        final List<Patch> out = new ArrayList<>();
        for (int i = 0; i < on.length; i++)
        {
            if (on[i])
            {
                out.add(series.get(i));
            }
        }
        return out;
    }
}
