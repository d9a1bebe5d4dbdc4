package palimpsest.replayer.state;

/** A virtual address that the page tables of the cpu asked about do not map (at that event). */
public final class UnmappedAddressException extends RuntimeException
{
    private final long vaddr;

    public UnmappedAddressException(final int cpu, final long vaddr)
    {
        super(String.format("%x is not mapped on cpu%d", vaddr, cpu));
        this.vaddr = vaddr;
    }

    public long vaddr()
    {
        return vaddr;
    }
}
