package palimpsest.trace;

/** Register ids as they appear in {@link EventKind#REG} events and keyframes. */
public final class Reg
{
    /** General registers r0..r15 are ids 0..15. */
    public static final int GPR_COUNT = 16;
    public static final int SP = 16;
    public static final int FP = 17;
    public static final int PC = 18;
    public static final int FLAGS = 19;
    public static final int CR3 = 20;
    public static final int CR2 = 21;
    public static final int CPL = 22;

    public static final int COUNT = 23;

    private static final String[] GPR = {
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rbp_", "r_"
    };

    private Reg()
    {
    }

    public static String name(final int reg)
    {
        if (reg >= 0 && reg < GPR_COUNT)
        {
            return GPR[reg];
        }
        switch (reg)
        {
            case SP: return "rsp";
            case FP: return "rbp";
            case PC: return "rip";
            case FLAGS: return "flags";
            case CR3: return "cr3";
            case CR2: return "cr2";
            case CPL: return "cpl";
            default: return "reg#" + reg;
        }
    }
}
