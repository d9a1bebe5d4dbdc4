package palimpsest.gdb;

import palimpsest.replayer.state.CpuRegs;

/**
 * The x86-64 register file gdb is told about ({@code qXfer:features:read:target.xml}) and its
 * layout in {@code g} replies: gdb's amd64 core and SSE features (names and numbers as gdb's
 * {@code 64bit-core.xml} and {@code 64bit-sse.xml}, which its amd64 architecture requires), and a
 * {@code org.palimpsest.replay} feature with CR3, CR2 and CPL as pseudo registers.
 *
 * <p>What is real: the trace knows each cpu's PC, SP, FP, FLAGS, CR3, CR2 and CPL
 * ({@link CpuRegs}); they are RIP, RSP, RBP, EFLAGS, cr3, cr2 and cpl. The kernel's general
 * registers are Java locals of its emulated code, never in emulated state, so RAX..R15 (but RSP and
 * RBP), the segment, x87 and SSE registers read as 0.
 */
final class X86Registers
{
    static final int RBP = 6;
    static final int RSP = 7;
    static final int RIP = 16;
    static final int EFLAGS = 17;
    static final int CR3 = 57;
    static final int CR2 = 58;
    static final int CPL = 59;
    static final int COUNT = 60;

    private static final String[] GPR = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
    private static final String[] SEG = {"cs", "ss", "ds", "es", "fs", "gs"};
    private static final String[] FPU_CTRL = {"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"};

    static final String TARGET_XML = targetXml();

    private X86Registers()
    {
    }

    /** Bytes of register n in a g reply. */
    static int size(final int n)
    {
        if (n < 16 || n == RIP || n == CR3 || n == CR2)
        {
            return 8;
        }
        if (n >= 24 && n < 32)
        {
            return 10;
        }
        if (n >= 40 && n < 56)
        {
            return 16;
        }
        return 4;
    }

    /** The value of register n (the low 8 bytes; wider registers read as 0 above them). */
    static long value(final int n, final CpuRegs r, final long pc)
    {
        switch (n)
        {
            case RBP: return r.fp();
            case RSP: return r.sp();
            case RIP: return pc;
            case EFLAGS: return r.flags();
            case CR3: return r.cr3();
            case CR2: return r.cr2();
            case CPL: return r.cpl();
            default: return 0;
        }
    }

    /** Register n as little-endian hex, as {@code g} and {@code p} send it. */
    static void appendHex(final StringBuilder sb, final int n, final CpuRegs r, final long pc)
    {
        final long v = value(n, r, pc);
        final int size = size(n);
        for (int i = 0; i < size; i++)
        {
            final int b = i < 8 ? (int)(v >>> (8 * i)) & 0xff : 0;
            sb.append(Character.forDigit(b >> 4, 16)).append(Character.forDigit(b & 0xf, 16));
        }
    }

    static String all(final CpuRegs r, final long pc)
    {
        final StringBuilder sb = new StringBuilder(1200);
        for (int n = 0; n < COUNT; n++)
        {
            appendHex(sb, n, r, pc);
        }
        return sb.toString();
    }

    private static String targetXml()
    {
        final StringBuilder x = new StringBuilder();
        x.append("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n")
            .append("<architecture>i386:x86-64</architecture>\n")
            .append("<feature name=\"org.gnu.gdb.i386.core\">\n");
        int n = 0;
        for (final String g : GPR)
        {
            reg(x, g, 64, g.equals("rbp") || g.equals("rsp") ? "data_ptr" : "int64", n++, null);
        }
        reg(x, "rip", 64, "code_ptr", n++, null);
        reg(x, "eflags", 32, "int32", n++, null);
        for (final String s : SEG)
        {
            reg(x, s, 32, "int32", n++, null);
        }
        for (int i = 0; i < 8; i++)
        {
            reg(x, "st" + i, 80, "i387_ext", n++, null);
        }
        for (final String f : FPU_CTRL)
        {
            reg(x, f, 32, "int", n++, "float");
        }
        x.append("</feature>\n<feature name=\"org.gnu.gdb.i386.sse\">\n")
            .append("<vector id=\"v2l\" type=\"int64\" count=\"2\"/>\n")
            .append("<union id=\"vec128\"><field name=\"v2_int64\" type=\"v2l\"/><field name=\"uint128\" type=\"uint128\"/></union>\n");
        for (int i = 0; i < 16; i++)
        {
            reg(x, "xmm" + i, 128, "vec128", n++, "vector");
        }
        reg(x, "mxcsr", 32, "int", n++, "vector");
        x.append("</feature>\n<feature name=\"org.palimpsest.replay\">\n");
        reg(x, "cr3", 64, "int64", n++, "system");
        reg(x, "cr2", 64, "int64", n++, "system");
        reg(x, "cpl", 32, "int32", n++, "system");
        x.append("</feature>\n</target>\n");
        if (n != COUNT)
        {
            throw new AssertionError(n);
        }
        return x.toString();
    }

    private static void reg(final StringBuilder x, final String name, final int bits, final String type, final int num,
        final String group)
    {
        x.append("<reg name=\"").append(name).append("\" bitsize=\"").append(bits).append("\" type=\"").append(type)
            .append("\" regnum=\"").append(num).append('"');
        if (group != null)
        {
            x.append(" group=\"").append(group).append('"');
        }
        x.append("/>\n");
    }
}
