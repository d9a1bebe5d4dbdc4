package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PassProgressTest
{
    @Test
    void aBarWithShareAndEtaWhenTheLengthIsKnownTheCountAloneOtherwise()
    {
        // A quarter done in 3 s: 9 s to go.
        assertEquals("[######..................] 25% 250,000 of 1,000,000 events, ETA 9.00 s",
            PassProgress.line(250_000, 1_000_000, 3_000_000_000L));
        assertEquals("[........................] 0% 0 of 1,000,000 events", PassProgress.line(0, 1_000_000, 1));
        assertEquals("1,048,576 events", PassProgress.line(1_048_576, -1, 5));
        assertEquals("2,000 events", PassProgress.line(2_000, 1_000, 5)); // more than the chunk headers said: no bar
    }
}
