package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The LegoOS kmalloc'ed stack vma, as a user runs it: {@code pal record --scenario exec --patch
 * -loader-kzalloc-vma} oopses in handle_mm_fault (a #GP on the poison with slab poisoning, a NULL
 * pointer dereference at the previous owner's leftover 0x30 without), and {@code pal analyze}
 * names __bprm_mm_init's kmalloc first (KMSAN's report at the branch on vm_ops), merged with the oops
 * into one story.
 */
class ExecUninitAnalyzeTest
{
    @TempDir
    Path dir;

    private PalRunner.Result recordAndAnalyze(final String name, final String... patches)
    {
        final Path t = dir.resolve(name);
        final java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(
            "record", "--scenario", "exec", "--arg", "rounds=1", "--cpus", "2", "--mem", "16", "-o", t.toString()));
        for (final String p : patches)
        {
            args.add("--patch");
            args.add(p);
        }
        final PalRunner.Result rec = PalRunner.pal(args.toArray(new String[0]));
        assertEquals(1, rec.rc(), rec::toString);
        this.console = rec.out();
        final PalRunner.Result r = PalRunner.pal("analyze", t.toString());
        assertEquals(1, r.rc(), r::toString);
        return r;
    }

    private String console;

    @Test
    void withSlabPoisonTheGpOnThePoisonIsTracedToTheKmallocInBprmMmInit()
    {
        final PalRunner.Result r = recordAndAnalyze("poison", "-loader-kzalloc-vma");
        assertTrue(console.contains("general protection fault: 0000 [#1] SMP"), console);
        assertTrue(console.contains("RIP: 0010:[<") && console.contains("handle_mm_fault+0x"), console);
        final String first = r.out().split("\n")[0];
        assertTrue(first.startsWith("verdict: uninit-value: __bprm_mm_init's kmalloc at event "), first);
        assertTrue(first.contains("; it led to: oops at 6b6b6b6b6b6b6b6b in handle_mm_fault+0x68/0x"), first);
        assertTrue(r.out().contains(" 2 finding(s) in 1 story(ies)"), r::toString);
        // KMSAN's place: the branch on vm_ops (handle_mm_fault's `if (vma->vm_ops)`), before the dereference faults.
        assertTrue(r.out().contains("BUG: KMSAN: uninit-value in handle_mm_fault+0x60/0x"), r::toString);
        assertTrue(r.out().contains("and used as a branch condition at event"), r::toString);
        assertTrue(r.out().contains("Uninit was created at:\n kmem_cache_alloc+0x"), r::toString);
        assertTrue(r.out().contains(" __bprm_mm_init+0x"), r::toString);
        assertTrue(r.out().contains("Bytes 40-47 of 96 are uninitialized (kmalloc(96) from the kmalloc-128 cache)"), r::toString);
        assertTrue(r.out().contains("The bytes: 6b 6b 6b 6b 6b 6b 6b 6b"), r::toString);
        assertTrue(r.out().contains("They are slab poison, last written at event"), r::toString);
        assertTrue(r.out().contains("general protection fault on the non-canonical address 6b6b6b6b6b6b6b6b"), r::toString);
        assertTrue(r.out().contains("X was not written since its allocation at event"), r::toString);
    }

    @Test
    void withoutSlabPoisonTheNullDerefAtTheLeftoverIsTracedToTheSameKmallocAndThePreviousOwner()
    {
        final PalRunner.Result r = recordAndAnalyze("nopoison", "-loader-kzalloc-vma", "-slab-poison");
        assertTrue(console.contains("BUG: unable to handle kernel NULL pointer dereference at 0000000000000030"), console);
        assertTrue(console.contains("IP: [<") && console.contains("handle_mm_fault+0x"), console);
        assertTrue(console.contains("copy_strings+0x"), console);
        final String first = r.out().split("\n")[0];
        assertTrue(first.startsWith("verdict: uninit-value: __bprm_mm_init's kmalloc at event "), first);
        assertTrue(first.contains("; it led to: oops at 30 in handle_mm_fault+0x68/0x"), first);
        assertTrue(r.out().contains("The bytes: 30 00 00 00 00 00 00 00"), r::toString);
        assertTrue(r.out().contains("and used as a branch condition at event"), r::toString);
        assertTrue(r.out().contains("They are the previous owner's leftover, last written at events"), r::toString);
        assertTrue(r.out().contains("The previous owner: a kmalloc-128 object allocated by do_execve"), r::toString);
        assertTrue(!r.out().contains("stray-write"), "the header read before the allocation is no lead: " + r);
    }
}
