package palimpsest.analyzers.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The map (with its last-lookup cache) answers as a HashMap would under any mix of puts, removes and repeated lookups. */
class LongLongMapTest
{
    @Test
    void agreesWithAHashMap()
    {
        final LongLongMap m = new LongLongMap(4, -1);
        final Map<Long, Long> model = new HashMap<>();
        final SplittableRandom r = new SplittableRandom(3);
        long last = 0;
        for (int i = 0; i < 200_000; i++)
        {
            final long k = r.nextInt(4) == 0 ? last : r.nextInt(3000) - 1000;
            last = k;
            switch (r.nextInt(4))
            {
                case 0:
                    m.put(k, i);
                    model.put(k, (long)i);
                    break;
                case 1:
                    m.remove(k);
                    model.remove(k);
                    break;
                default:
                    assertEquals(model.getOrDefault(k, -1L), m.get(k), "get " + k + " at " + i);
                    assertEquals(model.containsKey(k), m.containsKey(k), "contains " + k + " at " + i);
            }
            assertEquals(model.size(), m.size());
        }
    }
}
