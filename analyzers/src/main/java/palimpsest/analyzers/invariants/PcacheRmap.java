package palimpsest.analyzers.invariants;

import java.util.Arrays;

import palimpsest.emulator.Paging;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Layout;
import palimpsest.kernel.lego.Pcache;

/**
 * pcache-rmap: on a LegoOS processor, every valid pcache line's rmap matches the page tables: each
 * rmap entry (mm, uva, ptep) names a pte that is present and maps that very line. A line being
 * filled (LOCKED) and a set whose lock is held are skipped, as the kernel's own rmap walk only
 * looks at them under the lock: the fault, eviction and mremap paths change a pte and its rmap
 * entry together under the line's set lock, so the pair disagrees only inside it. Outside, a
 * mismatch means a pte was moved or overwritten without its line's rmap following (the rmap walk
 * would then clear somebody else's pte: LegoOS's "mismatched PTE and rmap").
 *
 * <p>{@link #touches}: a write into the line metadata, the set locks (a release ends a critical
 * section), or a pte some rmap entry named at the last whole check.
 */
public final class PcacheRmap implements Invariant
{
    private static final int MAX_RMAP = 64;

    /** Physical addresses of the ptes the rmaps named at the last check, sorted. */
    private long[] ptes = new long[0];

    @Override
    public String name()
    {
        return "pcache-rmap";
    }

    @Override
    public String description()
    {
        return "LegoOS processor: every valid pcache line's rmap entries name ptes that map that line";
    }

    /** On a LegoOS cluster (a processor component among the roles), after every write of the analysis pass. */
    @Override
    public boolean watched(final palimpsest.trace.TraceHeader header)
    {
        final String roles = header.scenarioArgs().get("roles");
        return roles != null && roles.contains("P");
    }

    // applies() stays true: a linear pass decides it at event 0, before boot has reserved the
    // pcache; until then check() and touches() find no pcache and say nothing.

    @Override
    public boolean touches(final KernelState s, final long pa, final int size)
    {
        final long c = s.inspector.global(Globals.LEGO_PCACHE);
        if (c == 0)
        {
            return false;
        }
        final long lines = s.inspector.read64(c + Pcache.C_SETS) * s.inspector.read64(c + Pcache.C_WAYS);
        final long meta = s.inspector.phys(s.inspector.read64(c + Pcache.C_META));
        final long locks = s.inspector.phys(s.inspector.read64(c + Pcache.C_LOCKS));
        final long sets = s.inspector.read64(c + Pcache.C_SETS);
        return pa >= meta && pa < meta + lines * Pcache.META || pa >= locks && pa < locks + sets * 8 ||
            Arrays.binarySearch(ptes, pa & ~7L) >= 0;
    }

    @Override
    public String check(final KernelState s)
    {
        final long c = s.inspector.global(Globals.LEGO_PCACHE);
        if (c == 0)
        {
            return null;
        }
        final long sets = s.inspector.read64(c + Pcache.C_SETS);
        final long ways = s.inspector.read64(c + Pcache.C_WAYS);
        final long linesPhys = s.inspector.read64(c + Pcache.C_LINES);
        final long meta = s.inspector.read64(c + Pcache.C_META);
        final long locks = s.inspector.read64(c + Pcache.C_LOCKS);
        long[] seen = new long[64];
        int n = 0;
        String broken = null;
        for (long set = 0; set < sets; set++)
        {
            final boolean held = (s.inspector.read64(locks + set * 8) & 0xffffffffL) != 0;
            for (long w = 0; w < ways; w++)
            {
                final long line = set * ways + w;
                final long m = meta + line * Pcache.META;
                final long flags = s.inspector.read64(m);
                if ((flags & Pcache.VALID) == 0 || (flags & Pcache.LOCKED) != 0)
                {
                    continue;
                }
                final long pfn = (linesPhys + line * Layout.PAGE_SIZE) >>> Layout.PAGE_SHIFT;
                long r = s.inspector.read64(m + 8);
                for (int i = 0; r != 0 && i < MAX_RMAP; i++, r = s.inspector.read64(r))
                {
                    final long ptep = s.inspector.read64(r + 24);
                    final long ptePa = s.inspector.phys(ptep);
                    if (ptePa < 0)
                    {
                        continue;
                    }
                    if (n == seen.length)
                    {
                        seen = Arrays.copyOf(seen, n * 2);
                    }
                    seen[n++] = ptePa;
                    final long pte = s.inspector.read64(ptep);
                    final long ptePfn = (pte & Paging.ADDR_MASK) >>> Layout.PAGE_SHIFT;
                    if (!held && broken == null && ((pte & Paging.P) == 0 || ptePfn != pfn))
                    {
                        broken = String.format("pcache line %d (pcache_pfn 0x%x, set %d) has rmap uva 0x%x ptep %x, but that pte %s",
                            line, pfn, set, s.inspector.read64(r + 16), ptep,
                            (pte & Paging.P) == 0 ? "is not present" : String.format("maps pte_pfn 0x%x", ptePfn));
                    }
                }
            }
        }
        final long[] sorted = Arrays.copyOf(seen, n);
        Arrays.sort(sorted);
        ptes = sorted;
        return broken;
    }
}
