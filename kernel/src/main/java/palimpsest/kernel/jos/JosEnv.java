package palimpsest.kernel.jos;

import palimpsest.kernel.Kernel;

/** JOS environments' address spaces (filled in below). */
public final class JosEnv
{
    private final Kernel k;

    public JosEnv(final Kernel k)
    {
        this.k = k;
    }

    /** JOS's own system calls; ENOSYS for anything else. */
    public long syscall(final palimpsest.emulator.Cpu cpu, final long frame, final long nr, final long a0, final long a1, final long a2)
    {
        return palimpsest.kernel.user.Syscalls.ENOSYS;
    }
}
