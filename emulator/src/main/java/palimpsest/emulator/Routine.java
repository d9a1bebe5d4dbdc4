package palimpsest.emulator;

/**
 * Code that lives at a text address: the Java body of an emulated function, interrupt handler or
 * CPU entry point. It runs on the CPU it is given and must touch machine state only through that
 * CPU's instruction API (Java locals are registers; Java objects hold code and constants, never
 * machine state).
 */
@FunctionalInterface
public interface Routine
{
    void run(Cpu cpu);
}
