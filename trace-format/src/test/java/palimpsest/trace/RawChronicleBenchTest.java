package palimpsest.trace;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the bench small; asserts only that it measured something and cleaned up (no timing asserts). */
class RawChronicleBenchTest
{
    @TempDir
    Path tmp;

    @Test
    void measuresBothLayouts() throws Exception
    {
        final RawChronicleBench.Result r = RawChronicleBench.run(tmp, 200_000);
        System.out.println("raw chronicle: " + r);
        assertTrue(r.excerptPerEventRate() > 0);
        assertTrue(r.excerptPerChunkRate() > 0);
        assertTrue(r.bytesPerEvent() >= 1 && r.bytesPerEvent() <= 8, "bytes/event " + r.bytesPerEvent());
        assertTrue(r.eventsPerChunk() > 1000);
        try (var s = Files.list(tmp))
        {
            assertTrue(s.findAny().isEmpty(), "temporary queues deleted");
        }
    }
}
