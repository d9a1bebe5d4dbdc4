package palimpsest.cli;

import palimpsest.hunt.Campaign;

/** The progress bar of {@code pal hunt}: {@code hunt S [#####.....] 25/50 seeds, 3 failed, 4.10 runs/s, 6.1 s}. */
final class HuntProgress
{
    private static final int BAR = 24;

    private HuntProgress()
    {
    }

    static Progress of(final Io io, final String name, final Campaign campaign)
    {
        final long[] startDone = {-1};
        return new Progress(io, new ConsolePrinter(io, 1), elapsed ->
        {
            final long done = campaign.done();
            if (startDone[0] < 0 && campaign.total() > 0)
            {
                startDone[0] = campaign.total() - campaign.toRun();
            }
            final long total = Math.max(1, campaign.total());
            final int filled = (int)(BAR * Math.min(done, total) / total);
            return "hunt " + name + " [" + "#".repeat(filled) + ".".repeat(BAR - filled) + "] " + done + "/" +
                campaign.total() + " seeds, " + campaign.failures() + " failed, " +
                Fmt.fixed((done - Math.max(0, startDone[0])) * 1e9 / Math.max(1, elapsed), 2) + " runs/s, " + Fmt.seconds(elapsed);
        });
    }
}
