package palimpsest.emulator;

/**
 * Local APIC register offsets (xAPIC layout) and ICR fields, plus two registers of our own for
 * the PMU. The APIC is reached with {@link Cpu#apicWrite} / {@link Cpu#apicRead}.
 */
public final class Apic
{
    public static final int ID = 0x20;
    public static final int EOI = 0xB0;
    public static final int SVR = 0xF0;
    public static final int ICR_LO = 0x300;
    public static final int ICR_HI = 0x310;
    public static final int LVT_TIMER = 0x320;
    public static final int LVT_PERF = 0x340;
    public static final int TIMER_INIT = 0x380;
    public static final int TIMER_CUR = 0x390;
    /** Ours: PMU overflow period in retired instructions (0 = off). */
    public static final int PERF_PERIOD = 0x3A0;
    public static final int TIMER_DIV = 0x3E0;

    public static final int LVT_MASKED = 1 << 16;
    public static final int LVT_PERIODIC = 1 << 17;

    public static final int MODE_FIXED = 0;
    public static final int MODE_INIT = 5;
    public static final int MODE_SIPI = 6;

    public static final int DEST_NONE = 0;
    public static final int DEST_SELF = 1;
    public static final int DEST_ALL = 2;
    public static final int DEST_OTHERS = 3;

    /** ICR_LO value: vector, delivery mode and destination shorthand. */
    public static long icr(final int vector, final int mode, final int shorthand)
    {
        return (vector & 0xFF) | (mode & 7) << 8 | (shorthand & 3) << 18;
    }

    public static String modeName(final int mode)
    {
        switch (mode)
        {
            case MODE_FIXED: return "fixed";
            case MODE_INIT: return "init";
            case MODE_SIPI: return "sipi";
            default: return "mode" + mode;
        }
    }

    private Apic()
    {
    }
}
