package palimpsest.emulator;

/** A device on a node's I/O port space. Called with the baton held, on the CPU doing the I/O. */
public interface IoDevice
{
    /** First port and number of ports this device decodes. */
    int basePort();

    int portCount();

    long in(Cpu cpu, int port);

    void out(Cpu cpu, int port, long value);
}
