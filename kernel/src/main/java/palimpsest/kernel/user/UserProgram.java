package palimpsest.kernel.user;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import palimpsest.emulator.CodeMap;
import palimpsest.emulator.Routine;

/**
 * A user program: Java routines that run at cpl 3 on user virtual addresses, plus the data and
 * .bss they use. {@link #link} registers the routines in the machine's code map at the program's
 * text addresses (symbols {@code name:fn}) and produces its executable, which goes into the
 * initrd and is loaded by exec.
 *
 * <pre>
 * executable ("PXE1")
 *   +0  magic 0x31455850   +8 entry   +16 text vaddr   +24 text size
 *   +32 data vaddr         +40 data size (file)        +48 bss size    +56 text offset (64)
 *   +64 text bytes, then data bytes, then .comment/.symtab (not loaded; it is what a loader that
 *       copies whole file pages drags into the first .bss page)
 * </pre>
 * Layout: text at textBase, data at textBase + 0x10000, .bss right after the data bytes.
 */
public abstract class UserProgram
{
    public static final int MAGIC = 0x31455850;
    public static final long DATA_OFFSET = 0x10000;

    private final String name;
    private final String path;
    private final long textBase;

    protected UserProgram(final String name, final String path, final long textBase)
    {
        this.name = name;
        this.path = path;
        this.textBase = textBase;
    }

    public String name()
    {
        return name;
    }

    public String path()
    {
        return path;
    }

    public long textBase()
    {
        return textBase;
    }

    /** Declares the program's functions, data and .bss; called once by {@link #link}. */
    protected abstract void define(Image image);

    /** Registers the code and returns the executable file's bytes. */
    public final byte[] link(final CodeMap code)
    {
        final Image img = new Image(code, name, textBase);
        define(img);
        return img.build();
    }

    /** The program's address-space image under construction. */
    public static final class Image
    {
        private final CodeMap code;
        private final String prefix;
        private final long textBase;
        private long textNext;
        private long entry;
        private final ByteArrayOutputStream data = new ByteArrayOutputStream();
        private long bss;
        private boolean bssStarted;
        private boolean exactFileSize;

        Image(final CodeMap code, final String prefix, final long textBase)
        {
            this.code = code;
            this.prefix = prefix;
            this.textBase = textBase;
            this.textNext = textBase;
        }

        /** A function; the first one defined is the entry point unless {@link #entry} says otherwise. */
        public long fn(final String fnName, final int size, final Routine body)
        {
            final long sz = Math.max(0x20, (size + 15) & ~15L);
            final long a = textNext;
            if (a + sz > textBase + DATA_OFFSET)
            {
                throw new IllegalStateException("program text too big");
            }
            code.define(prefix + ":" + fnName, a, sz, body);
            textNext += sz;
            if (entry == 0)
            {
                entry = a;
            }
            return a;
        }

        public void entry(final long addr)
        {
            entry = addr;
        }

        /** Initialised data; returns its user address. Declare all data before any .bss. */
        public long data(final byte[] init)
        {
            if (bssStarted)
            {
                throw new IllegalStateException("declare data before bss");
            }
            while (data.size() % 8 != 0)
            {
                data.write(0);
            }
            final long a = textBase + DATA_OFFSET + data.size();
            data.write(init, 0, init.length);
            return a;
        }

        public long data(final String s)
        {
            final byte[] b = s.getBytes(StandardCharsets.US_ASCII);
            final byte[] z = new byte[b.length + 1];
            System.arraycopy(b, 0, z, 0, b.length);
            return data(z);
        }

        /**
         * The header's data size is the initialised bytes exactly (ELF's p_filesz), not rounded up
         * to 8; .bss still starts at the next 8-byte boundary and the loader clears from the exact end.
         */
        public void exactFileSize()
        {
            exactFileSize = true;
        }

        /** Zero-initialised data (.bss); returns its user address. */
        public long bss(final long size)
        {
            bssStarted = true;
            final long dataEnd = (data.size() + 7) & ~7L;
            final long a = textBase + DATA_OFFSET + dataEnd + bss;
            bss += (size + 7) & ~7L;
            return a;
        }

        byte[] build()
        {
            final long fileSize = data.size();
            while (data.size() % 8 != 0)
            {
                data.write(0);
            }
            final long textSize = ((textNext - textBase) + 4095) & ~4095L;
            final byte[] comment = (".comment\0GCC: (Palimpsest) 1.0\0.symtab\0" + prefix + ".c\0main\0_start\0__bss_start\0_edata\0_end\0" +
                "completed.0\0__do_global_dtors_aux\0frame_dummy\0").getBytes(StandardCharsets.US_ASCII);
            final ByteBuffer h = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(MAGIC).putInt(0).putLong(entry).putLong(textBase).putLong(textSize)
                .putLong(textBase + DATA_OFFSET).putLong(exactFileSize ? fileSize : data.size()).putLong(bss).putLong(64);
            final ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(h.array(), 0, 64);
            final byte[] text = new byte[(int)textSize];
            java.util.Arrays.fill(text, (byte)0x90);
            out.write(text, 0, text.length);
            final byte[] d = data.toByteArray();
            out.write(d, 0, d.length);
            out.write(comment, 0, comment.length);
            return out.toByteArray();
        }
    }
}
