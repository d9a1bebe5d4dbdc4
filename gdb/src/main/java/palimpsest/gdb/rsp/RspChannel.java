package palimpsest.gdb.rsp;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The framing of the GDB Remote Serial Protocol over a byte stream: {@code $payload#cs} packets
 * (cs = the payload's byte sum mod 256 in two hex digits), acknowledged with {@code +} (or
 * {@code -}: send again) until {@code QStartNoAckMode} turns acks off, and the lone 0x03 byte gdb
 * sends for Ctrl-C. Payloads are ISO-8859-1 strings: every char is one byte, so binary data
 * survives. Used by the server and by the test's client alike.
 */
public final class RspChannel
{
    /** What {@link #read()} returns for gdb's Ctrl-C (a 0x03 byte outside a packet). */
    public static final String INTERRUPT = "\u0003";

    private final InputStream in;
    private final OutputStream out;
    private boolean acks = true;

    public RspChannel(final InputStream in, final OutputStream out)
    {
        this.in = in.markSupported() ? in : new BufferedInputStream(in);
        this.out = new BufferedOutputStream(out);
    }

    /** Stops sending and expecting acks (after the {@code OK} to {@code QStartNoAckMode}). */
    public void noAcks()
    {
        acks = false;
    }

    /**
     * The next packet's payload (escapes undone), {@link #INTERRUPT} for a Ctrl-C, or null at end of
     * stream. Stray acks before a packet are skipped; a packet with a bad checksum is nacked and
     * read again.
     */
    public String read() throws IOException
    {
        while (true)
        {
            int c = in.read();
            while (c == '+' || c == '-')
            {
                c = in.read();
            }
            if (c < 0)
            {
                return null;
            }
            if (c == 0x03)
            {
                return INTERRUPT;
            }
            if (c != '$')
            {
                continue;
            }
            final StringBuilder sb = new StringBuilder();
            int sum = 0;
            boolean escaped = false;
            while ((c = in.read()) >= 0 && c != '#')
            {
                sum += c;
                if (escaped)
                {
                    sb.append((char)(c ^ 0x20));
                    escaped = false;
                }
                else if (c == '}')
                {
                    escaped = true;
                }
                else
                {
                    sb.append((char)c);
                }
            }
            final int h = in.read();
            final int l = in.read();
            if (c < 0 || h < 0 || l < 0)
            {
                return null;
            }
            final boolean good = Character.digit(h, 16) * 16 + Character.digit(l, 16) == (sum & 0xff);
            if (acks)
            {
                out.write(good ? '+' : '-');
                out.flush();
            }
            if (good)
            {
                return sb.toString();
            }
        }
    }

    /** Sends a packet (escaping {@code $ # } *}) and, in ack mode, waits for its {@code +}. */
    public void send(final String payload) throws IOException
    {
        final byte[] frame = frame(payload);
        while (true)
        {
            out.write(frame);
            out.flush();
            if (!acks)
            {
                return;
            }
            final int c = readAck();
            if (c != '-')
            {
                return;
            }
        }
    }

    private int readAck() throws IOException
    {
        while (true)
        {
            in.mark(1);
            final int c = in.read();
            if (c < 0 || c == '+' || c == '-')
            {
                return c;
            }
            if (c == '$' || c == 0x03)
            {
                // gdb sent its next packet without acking (it may, once it saw our OK to no-ack mode)
                in.reset();
                return '+';
            }
        }
    }

    /** Whether a Ctrl-C (0x03) is waiting; consumes it if so, leaves anything else unread. */
    public boolean interrupted() throws IOException
    {
        if (in.available() <= 0)
        {
            return false;
        }
        in.mark(1);
        if (in.read() == 0x03)
        {
            return true;
        }
        in.reset();
        return false;
    }

    static byte[] frame(final String payload)
    {
        final StringBuilder sb = new StringBuilder(payload.length() + 4).append('$');
        int sum = 0;
        for (int i = 0; i < payload.length(); i++)
        {
            final char ch = payload.charAt(i);
            if (ch == '$' || ch == '#' || ch == '}' || ch == '*')
            {
                sb.append('}');
                sum += '}';
                final char x = (char)(ch ^ 0x20);
                sb.append(x);
                sum += x;
            }
            else
            {
                sb.append(ch);
                sum += ch & 0xff;
            }
        }
        sb.append('#').append(Character.forDigit(sum >> 4 & 0xf, 16)).append(Character.forDigit(sum & 0xf, 16));
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Lower-case hex of bytes, as m, g and qRcmd want. */
    public static String hex(final byte[] b, final int off, final int len)
    {
        final StringBuilder sb = new StringBuilder(2 * len);
        for (int i = off; i < off + len; i++)
        {
            sb.append(Character.forDigit(b[i] >> 4 & 0xf, 16)).append(Character.forDigit(b[i] & 0xf, 16));
        }
        return sb.toString();
    }

    /** ASCII text as hex (qRcmd output, O packets). */
    public static String hex(final String text)
    {
        final byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
        return hex(b, 0, b.length);
    }

    /** Hex back to text (qRcmd's command). */
    public static String unhex(final String hex)
    {
        final StringBuilder sb = new StringBuilder(hex.length() / 2);
        for (int i = 0; i + 1 < hex.length(); i += 2)
        {
            sb.append((char)Integer.parseInt(hex.substring(i, i + 2), 16));
        }
        return sb.toString();
    }
}
