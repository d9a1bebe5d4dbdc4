package palimpsest.kernel.user.programs;

import java.util.ArrayList;
import java.util.List;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * File-system activity like the reporters' (kio_file, git-status): opens and closes every file of
 * a tree, round after round, so {@code __d_lookup} keeps walking the dentry hash chains. Linked
 * into a host program; a forked child starts at {@link #entry()}.
 */
public final class DcacheWalker
{
    private final List<String> paths;
    private final int rounds;
    private final long sleepTicks;
    private long table;
    private long scratch;
    private long entry;

    public DcacheWalker(final List<String> paths, final int rounds, final long sleepTicks)
    {
        this.paths = paths;
        this.rounds = rounds;
        this.sleepTicks = sleepTicks;
    }

    /** The tree: dirs x files empty files under /usr/src/linux (what git-status stats). */
    public static List<String> tree(final int dirs, final int files)
    {
        final List<String> out = new ArrayList<>();
        for (int d = 0; d < dirs; d++)
        {
            for (int f = 0; f < files; f++)
            {
                out.add(String.format("/usr/src/linux/dir%02d/file%03d.c", d, f));
            }
        }
        return out;
    }

    /** Declares the path strings (initialised data) and the code; call before any .bss of the host. */
    public void defineData(final UserProgram.Image img)
    {
        final StringBuilder sb = new StringBuilder();
        for (final String p : paths)
        {
            sb.append(p).append('\0');
        }
        table = img.data(sb.toString());
    }

    public void define(final UserProgram.Image img)
    {
        entry = img.fn("dcache_walker", 0x200, cpu -> U.exit(cpu, run(cpu)));
        scratch = img.bss(128);
    }

    public long entry()
    {
        return entry;
    }

    private long run(final Cpu cpu)
    {
        long missing = 0;
        for (int r = 0; r < rounds; r++)
        {
            long p = table;
            for (int i = 0; i < paths.size(); i++)
            {
                final long fd = U.open(cpu, p);
                if (fd < 0)
                {
                    missing++;
                }
                else
                {
                    U.close(cpu, fd);
                }
                p += paths.get(i).length() + 1;
            }
            U.sleep(cpu, sleepTicks);
        }
        U.print(cpu, scratch, "walker: " + rounds + " rounds over " + paths.size() + " files, " + missing + " missing\n");
        return missing == 0 ? 0 : 1;
    }
}
