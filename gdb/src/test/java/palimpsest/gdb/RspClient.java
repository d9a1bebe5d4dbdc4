package palimpsest.gdb;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import palimpsest.gdb.rsp.RspChannel;

/**
 * A small gdb stand-in for the tests: serves one {@link GdbServer} session on a loopback socket in a
 * thread and talks to it packet by packet, with acks (as gdb starts), collecting the O packets
 * (console output) that come before a reply.
 */
final class RspClient implements AutoCloseable
{
    final Socket socket;
    final InputStream rawIn;
    final OutputStream rawOut;
    final RspChannel ch;
    final List<String> output = new ArrayList<>();
    private final Thread serving;

    RspClient(final ReplayTarget target) throws IOException
    {
        final ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
        serving = new Thread(() ->
        {
            try (server; Socket s = server.accept())
            {
                new GdbServer(target, -1, new java.io.PrintStream(OutputStream.nullOutputStream())).serve(s);
            }
            catch (final IOException e)
            {
                // the client hung up
            }
        }, "gdb-server");
        serving.setDaemon(true);
        serving.start();
        socket = new Socket(java.net.InetAddress.getLoopbackAddress(), server.getLocalPort());
        socket.setSoTimeout(60_000);
        rawIn = socket.getInputStream();
        rawOut = socket.getOutputStream();
        ch = new RspChannel(rawIn, rawOut);
    }

    /** Sends a packet and returns the reply, the O packets before it going to {@link #output}. */
    String ask(final String packet) throws IOException
    {
        ch.send(packet);
        while (true)
        {
            final String r = ch.read();
            if (r == null)
            {
                throw new IOException("server hung up after " + packet);
            }
            if (r.startsWith("O") && !r.equals("OK") && r.length() % 2 == 1)
            {
                output.add(RspChannel.unhex(r.substring(1)));
                continue;
            }
            return r;
        }
    }

    /** monitor CMD: the text it printed. */
    String monitor(final String command) throws IOException
    {
        output.clear();
        final String r = ask("qRcmd," + RspChannel.hex(command));
        if (!r.equals("OK"))
        {
            throw new IOException("qRcmd answered " + r);
        }
        return String.join("", output);
    }

    /** Raw bytes, bypassing the framing (to send a bad checksum). */
    void raw(final String s) throws IOException
    {
        rawOut.write(s.getBytes(StandardCharsets.ISO_8859_1));
        rawOut.flush();
    }

    int rawRead() throws IOException
    {
        return rawIn.read();
    }

    static long le(final String hex, final int offset, final int bytes)
    {
        long v = 0;
        for (int i = bytes - 1; i >= 0; i--)
        {
            v = v << 8 | Integer.parseInt(hex.substring(2 * (offset + i), 2 * (offset + i) + 2), 16);
        }
        return v;
    }

    @Override
    public void close() throws IOException
    {
        try
        {
            ch.send("D");
        }
        catch (final IOException e)
        {
            // already gone
        }
        socket.close();
    }
}
