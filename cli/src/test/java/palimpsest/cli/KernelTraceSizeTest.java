package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static palimpsest.cli.PalRunner.pal;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import palimpsest.cli.PalRunner.Result;

/** Trace format 3 takes at most 4 bytes per event on a kernel workload, and the smaller trace still replays exactly. */
class KernelTraceSizeTest
{
    private static final Pattern SIZE = Pattern.compile("\\(([0-9.]+) bytes/event\\)");

    @TempDir
    Path tmp;

    @Test
    void bootTakesAtMostFourBytesPerEventAndReplays()
    {
        final Path trace = tmp.resolve("boot");
        final Result r = pal("record", "--scenario", "boot", "-o", trace.toString());
        assertEquals(0, r.rc(), r.toString());
        final Matcher m = SIZE.matcher(r.out() + r.err());
        assertTrue(m.find(), r.out());
        final double perEvent = Double.parseDouble(m.group(1));
        assertTrue(perEvent <= 4.0, "boot: " + perEvent + " bytes/event");
        final Result replay = pal("replay", trace.toString());
        assertEquals(0, replay.rc(), replay.toString());
    }
}
