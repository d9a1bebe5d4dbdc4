package palimpsest.kernel.user.programs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;

/** /bin/greeter (the exec scenario's child): prints its greeting (0x30 bytes of initialised data) and its pid, exits 0. */
public final class Greeter extends UserProgram
{
    private long greeting;
    private long scratch;

    public Greeter()
    {
        super("greeter", "/bin/greeter", 0xd00000);
    }

    @Override
    protected void define(final Image img)
    {
        img.fn("main", 0x80, this::main);
        final byte[] text = new byte[0x30];
        final byte[] s = "hello from /bin/greeter".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(s, 0, text, 0, s.length);
        greeting = img.data(text);
        scratch = img.bss(128);
    }

    private void main(final Cpu cpu)
    {
        cpu.pc(textBase());
        U.print(cpu, scratch, U.str(cpu, greeting) + ", pid " + U.getpid(cpu) + "\n");
        U.exit(cpu, 0);
    }
}
