package palimpsest.analyzers.core;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The text ranges of a set of named functions, for "is this pc inside one of them" on per-event
 * paths (no allocation, a short linear scan). Names the symbols do not know are skipped.
 */
public final class CodeRanges
{
    private final long[] start;
    private final long[] end;

    public CodeRanges(final Symbols symbols, final Collection<String> functions)
    {
        final List<long[]> ranges = new ArrayList<>();
        for (final String f : functions)
        {
            final long a = symbols.address(f);
            if (a != -1)
            {
                final String s = symbols.code().symbolize(a);
                final long size = Long.parseLong(s.substring(s.lastIndexOf("/0x") + 3), 16);
                ranges.add(new long[] {a, a + size});
            }
        }
        start = new long[ranges.size()];
        end = new long[ranges.size()];
        for (int i = 0; i < start.length; i++)
        {
            start[i] = ranges.get(i)[0];
            end[i] = ranges.get(i)[1];
        }
    }

    public boolean contains(final long pc)
    {
        for (int i = 0; i < start.length; i++)
        {
            if (Long.compareUnsigned(pc, start[i]) >= 0 && Long.compareUnsigned(pc, end[i]) < 0)
            {
                return true;
            }
        }
        return false;
    }
}
