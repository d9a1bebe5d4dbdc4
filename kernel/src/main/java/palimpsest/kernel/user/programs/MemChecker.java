package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/**
 * Jiri Slaby's memory checker from the 2.6.25 thread: allocate a big buffer, fill it with a
 * pattern, sleep, check every word, free, sleep, repeat. On a mismatch it prints
 * {@code WHAT THE HELL (offset):} and a hex dump of the ten-word-aligned neighbourhood (100 words,
 * ten a line, as the original) and exits 1. The pattern is 'p' bytes (0x70), so a stray 0xF0
 * shows as 'p' | 0xf0. Linked into a host program ({@link #define}); a forked child of it starts at
 * {@link #entry()}.
 */
public final class MemChecker
{
    public static final long MAGIC = 0x7070_7070_7070_7070L;

    private final long bytes;
    private final int rounds;
    private final long sleepTicks;
    private long scratch;
    private long entry;

    public MemChecker(final long bytes, final int rounds, final long sleepTicks)
    {
        this.bytes = bytes;
        this.rounds = rounds;
        this.sleepTicks = sleepTicks;
    }

    public void define(final UserProgram.Image img)
    {
        entry = img.fn("checker", 0x400, cpu -> U.exit(cpu, run(cpu)));
        scratch = img.bss(256);
    }

    /** The address a forked child starts at. */
    public long entry()
    {
        return entry;
    }

    private long run(final Cpu cpu)
    {
        final long words = bytes / 8;
        for (int c = 0; c < rounds; c++)
        {
            final long ch = U.mmap(cpu, bytes);
            if (ch < 0)
            {
                U.print(cpu, scratch, "memcheck: malloc: " + ch + "\n");
                return 1;
            }
            for (long a = 0; a < words; a++)
            {
                cpu.store64(ch + a * 8, MAGIC);
            }
            U.print(cpu, scratch, "alloced " + c + "\n");
            U.sleep(cpu, sleepTicks);
            for (long a = 0; a < words; a++)
            {
                if (cpu.load64(ch + a * 8) != MAGIC)
                {
                    U.print(cpu, scratch, String.format("WHAT THE HELL (%08x):%n", a * 8));
                    final long from = a - a % 10;
                    final StringBuilder line = new StringBuilder();
                    for (long b = from; b < from + 100 && b < words; b++)
                    {
                        line.append(String.format("%016x ", cpu.load64(ch + b * 8)));
                        if ((b + 1) % 10 == 0)
                        {
                            U.print(cpu, scratch, line.append('\n').toString());
                            line.setLength(0);
                        }
                    }
                    if (line.length() > 0)
                    {
                        U.print(cpu, scratch, line.append('\n').toString());
                    }
                    return 1;
                }
            }
            U.munmap(cpu, ch, bytes);
            U.print(cpu, scratch, "freed " + c + "\n");
            U.sleep(cpu, sleepTicks);
        }
        U.print(cpu, scratch, "memcheck: " + rounds + " rounds, memory intact\n");
        return 0;
    }
}
