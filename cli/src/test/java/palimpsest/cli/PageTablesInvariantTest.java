package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.analyzers.invariants.KernelState;
import palimpsest.analyzers.invariants.PageTables;
import palimpsest.cli.PalRunner.Result;
import palimpsest.emulator.Paging;
import palimpsest.kernel.Layout;
import palimpsest.kernel.mm.MmStruct;
import palimpsest.kernel.mm.Page;
import palimpsest.kernel.mm.PageAlloc;
import palimpsest.recorder.ScenarioCatalog;
import palimpsest.replayer.state.StateIndex;
import palimpsest.replayer.state.TraceState;

/** The page-tables invariant: holds at every write of clean word-count and fork-cow runs, fires on corrupted states. */
class PageTablesInvariantTest
{
    @TempDir
    static Path tmp;
    static Path wordCount;
    static Path forkCow;

    @BeforeAll
    static void record()
    {
        wordCount = tmp.resolve("wc");
        forkCow = tmp.resolve("fc");
        assertEquals(0, pal("record", "--scenario", "word-count", "--keyframe-every", "200000", "-o", wordCount.toString()).rc());
        assertEquals(0, pal("record", "--scenario", "fork-cow", "--keyframe-every", "200000", "-o", forkCow.toString()).rc());
    }

    @Test
    void holdsAtEveryWriteOfCleanRuns()
    {
        for (final Path t : List.of(wordCount, forkCow))
        {
            final Result r = pal("bisect", t.toString(), "--invariant", "page-tables", "--linear");
            assertEquals(0, r.rc(), r::toString);
            assertTrue(r.out().contains("holds throughout"), r::toString);
        }
    }

    @Test
    void firesOnAMappingOfAFreePageAndOnASharedTablePage()
    {
        final StateIndex index = StateIndex.open(forkCow, ScenarioCatalog.load());
        final PageTables inv = new PageTables();
        for (final long at : index.keyframePositions())
        {
            final TraceState st = index.at(at);
            final KernelState s = new KernelState(st.memory(0), KernelState.patchesOf(index.header()));
            assertNull(inv.check(s), "clean at keyframe " + at);
            final List<Long> pgds = userPgds(s);
            if (pgds.size() < 2)
            {
                continue;
            }
            // A user leaf of the first address space pointed at a free frame.
            final long pte = firstUserLeaf(s, pgds.get(0));
            final long saved = s.memory.read64(pte);
            s.memory.write64(pte, freeFrame(s) | (saved & 0xfff));
            final String v = inv.check(s);
            assertNotNull(v);
            assertTrue(v.contains("is free"), v);
            s.memory.write64(pte, saved);
            assertNull(inv.check(s));
            // The second address space linked to the first one's PDPT in an empty user slot.
            final long a = pgds.get(0);
            final long b = pgds.get(1);
            int used = -1;
            int empty = -1;
            for (int i = 0; i < 256; i++)
            {
                if ((s.memory.read64(a + i * 8L) & Paging.P) != 0 && used < 0)
                {
                    used = i;
                }
                if (s.memory.read64(b + i * 8L) == 0 && empty < 0)
                {
                    empty = i;
                }
            }
            s.memory.write64(b + empty * 8L, s.memory.read64(a + used * 8L));
            final String shared = inv.check(s);
            assertNotNull(shared);
            assertTrue(shared.contains("and also"), shared);
            return;
        }
        throw new AssertionError("no keyframe with two user address spaces");
    }

    /** The pgds (physical) of the mm_structs with users, found through their slab pages. */
    static List<Long> userPgds(final KernelState s)
    {
        final List<Long> out = new ArrayList<>();
        for (long pfn = 0; pfn < s.memory.size() >>> Layout.PAGE_SHIFT; pfn++)
        {
            final long page = PageAlloc.pfnToPage(pfn);
            final long pp = s.inspector.phys(page);
            if ((s.memory.read64(pp + Page.FLAGS) & Page.PG_SLAB) == 0)
            {
                continue;
            }
            final long cache = s.memory.read64(pp + Page.SLAB_CACHE);
            if (!"mm_struct".equals(s.inspector.cacheName(cache)))
            {
                continue;
            }
            for (int o = 0; o < s.inspector.cacheObjects(cache); o++)
            {
                final long mm = PageAlloc.pageAddress(page) + (long)o * s.inspector.cacheStride(cache);
                if (!s.inspector.onFreelist(page, mm) && s.inspector.read64(mm + MmStruct.USERS) > 0 &&
                    s.inspector.read64(mm + MmStruct.PGD) != 0)
                {
                    out.add(Layout.pa(s.inspector.read64(mm + MmStruct.PGD)));
                }
            }
        }
        return out;
    }

    private static long firstUserLeaf(final KernelState s, final long pgd)
    {
        for (int i4 = 0; i4 < 256; i4++)
        {
            final long e4 = s.memory.read64(pgd + i4 * 8L);
            if ((e4 & Paging.P) == 0)
            {
                continue;
            }
            for (int i3 = 0; i3 < 512; i3++)
            {
                final long e3 = s.memory.read64((e4 & Paging.ADDR_MASK) + i3 * 8L);
                if ((e3 & Paging.P) == 0)
                {
                    continue;
                }
                for (int i2 = 0; i2 < 512; i2++)
                {
                    final long e2 = s.memory.read64((e3 & Paging.ADDR_MASK) + i2 * 8L);
                    if ((e2 & Paging.P) == 0)
                    {
                        continue;
                    }
                    for (int i1 = 0; i1 < 512; i1++)
                    {
                        final long pte = (e2 & Paging.ADDR_MASK) + i1 * 8L;
                        if ((s.memory.read64(pte) & Paging.P) != 0)
                        {
                            return pte;
                        }
                    }
                }
            }
        }
        throw new AssertionError("no user mapping");
    }

    private static long freeFrame(final KernelState s)
    {
        for (long pfn = 0; pfn < s.memory.size() >>> Layout.PAGE_SHIFT; pfn++)
        {
            if ((s.memory.read64(s.inspector.pagePhys(pfn << Layout.PAGE_SHIFT) + Page.FLAGS) & Page.PG_BUDDY) != 0)
            {
                return pfn << Layout.PAGE_SHIFT;
            }
        }
        throw new AssertionError("no free page");
    }
}
