package palimpsest.kernel.arch;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

import palimpsest.kernel.KernelConfig;

/**
 * The initrd format (a cpio in spirit), little-endian, 8-byte aligned records:
 * <pre>
 *   +0  magic 0x30373037 ("7070")   +4 name length (0 ends the archive)
 *   +8  data length
 *   +16 name bytes, padded to 8; then data bytes, padded to 8
 * </pre>
 */
public final class Initrd
{
    public static final int MAGIC = 0x30373037;

    private Initrd()
    {
    }

    public static byte[] pack(final List<KernelConfig.InitrdFile> files)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (final KernelConfig.InitrdFile f : files)
        {
            final byte[] name = f.path.getBytes(StandardCharsets.US_ASCII);
            record(out, name, f.data);
        }
        record(out, new byte[0], new byte[0]);
        return out.toByteArray();
    }

    private static void record(final ByteArrayOutputStream out, final byte[] name, final byte[] data)
    {
        final ByteBuffer h = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(MAGIC).putInt(name.length).putLong(data.length);
        out.write(h.array(), 0, 16);
        out.write(name, 0, name.length);
        pad(out, name.length);
        out.write(data, 0, data.length);
        pad(out, data.length);
    }

    private static void pad(final ByteArrayOutputStream out, final int n)
    {
        for (int i = n; (i & 7) != 0; i++)
        {
            out.write(0);
        }
    }
}
