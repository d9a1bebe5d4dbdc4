package palimpsest.emulator;

import java.util.function.IntConsumer;

/**
 * A node's serial console at port 0x3F8: software writes bytes, the machine keeps them (device
 * output, not machine state) and forwards them to a listener (the CLI prints them live).
 */
public final class Console implements IoDevice
{
    public static final int PORT = 0x3F8;

    private final StringBuilder text = new StringBuilder();
    private IntConsumer listener;

    public void listener(final IntConsumer listener)
    {
        this.listener = listener;
    }

    @Override
    public int basePort()
    {
        return PORT;
    }

    @Override
    public int portCount()
    {
        return 1;
    }

    @Override
    public long in(final Cpu cpu, final int port)
    {
        return 0;
    }

    @Override
    public void out(final Cpu cpu, final int port, final long value)
    {
        final char ch = (char)(value & 0xFF);
        synchronized (text)
        {
            text.append(ch);
        }
        if (listener != null)
        {
            listener.accept(ch);
        }
    }

    public String text()
    {
        synchronized (text)
        {
            return text.toString();
        }
    }
}
