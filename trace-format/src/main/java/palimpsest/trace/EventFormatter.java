package palimpsest.trace;

/**
 * One readable line per event, for {@code pal dump}. For example:
 * <pre>
 * #42 cpu1 ic=1234 pc=ffffffff81001234 store.8 v=ffff880000012340 p=0000000000012340 0000000000000000 -> 00000000deadbeef
 * #43 cpu0 ic=99 interrupt vec=0xef src=timer
 * #44 nic0 vt=5000 net-send dst=node1 frame=7 len=60 data=000102030405060708090a0b0c0d0e0f..
 * </pre>
 * Values print with 2 hex digits per byte of the access size. With a {@link Symbolizer}, pcs that it
 * knows print as {@code pc=fn+0x1c/0x80}.
 */
public final class EventFormatter
{
    /** No symbols, numeric interrupt sources. */
    public static final EventFormatter DEFAULT = new EventFormatter(Symbolizer.NONE, null);

    private static final int NET_BYTES_SHOWN = 16;
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private final Symbolizer symbolizer;
    private final String[] interruptSources;
    private final java.util.function.LongFunction<String> markNames;

    /**
     * @param symbolizer       pc to symbol, or null for none.
     * @param interruptSources names of interrupt source codes (index = code), e.g. the emulator's
     *                         InterruptSource names; null prints the number.
     */
    public EventFormatter(final Symbolizer symbolizer, final String[] interruptSources)
    {
        this(symbolizer, interruptSources, null);
    }

    /** As above; markNames names MARK event types (the kernel's Mark table), null prints the number. */
    public EventFormatter(final Symbolizer symbolizer, final String[] interruptSources,
        final java.util.function.LongFunction<String> markNames)
    {
        this.symbolizer = symbolizer == null ? Symbolizer.NONE : symbolizer;
        this.interruptSources = interruptSources == null ? new String[0] : interruptSources.clone();
        this.markNames = markNames;
    }

    public EventFormatter(final Symbolizer symbolizer)
    {
        this(symbolizer, null);
    }

    public String format(final Event e)
    {
        return format(e, new StringBuilder(128)).toString();
    }

    /** Appends the line (without a newline) to sb and returns sb. */
    public StringBuilder format(final Event e, final StringBuilder sb)
    {
        final int kind = e.kind();
        sb.append('#').append(e.index()).append(' ');
        cpu(sb, e.cpu());
        final boolean net = kind == EventKind.NET_SEND || kind == EventKind.NET_DELIVER;
        if (net)
        {
            sb.append(" vt=").append(e.icount());
        }
        else
        {
            sb.append(" ic=").append(e.icount());
            if (EventKind.isAccess(kind) || e.pc() != 0)
            {
                sb.append(" pc=");
                pc(sb, e.pc());
            }
        }
        sb.append(' ').append(EventKind.name(kind));
        if (EventKind.isAccess(kind))
        {
            access(e, sb);
            return sb;
        }
        switch (kind)
        {
            case EventKind.INTERRUPT:
                sb.append(" vec=0x").append(Long.toHexString(e.a())).append(" src=");
                name(sb, interruptSources, e.b());
                break;
            case EventKind.EXCEPTION:
                sb.append(" vec=").append(e.a());
                exceptionName(sb, e.a());
                sb.append(" err=0x").append(Long.toHexString(e.b())).append(" addr=");
                hex(sb, e.c(), 16);
                break;
            case EventKind.IPI:
                sb.append(" dest=cpu").append(e.a()).append(" mode=");
                deliveryMode(sb, e.b());
                sb.append(" vec=0x").append(Long.toHexString(e.c()));
                break;
            case EventKind.NET_SEND:
            case EventKind.NET_DELIVER:
                sb.append(kind == EventKind.NET_SEND ? " dst=node" : " src=node").append(e.a());
                sb.append(" frame=").append(e.b()).append(" len=").append(e.payloadLength());
                if (e.payloadLength() > 0)
                {
                    sb.append(" data=");
                    final int n = Math.min(NET_BYTES_SHOWN, e.payloadLength());
                    for (int i = 0; i < n; i++)
                    {
                        hex(sb, e.payload()[i] & 0xFF, 2);
                    }
                    if (n < e.payloadLength())
                    {
                        sb.append("..");
                    }
                }
                break;
            case EventKind.TASK_SWITCH:
                sb.append(' ').append(e.a()).append(" -> ").append(e.b());
                break;
            case EventKind.CPU_SWITCH:
                sb.append(" from ");
                cpu(sb, (int)e.a());
                break;
            case EventKind.INPUT:
                sb.append(' ').append(InputKind.name((int)e.a())).append('=').append(e.b());
                break;
            case EventKind.IO:
                sb.append(e.c() != 0 ? " out" : " in").append(" port=0x").append(Long.toHexString(e.a()))
                    .append(" v=0x").append(Long.toHexString(e.b()));
                break;
            case EventKind.REG:
                sb.append(' ').append(Reg.name((int)e.a())).append('=');
                hex(sb, e.b(), 16);
                break;
            case EventKind.MARK:
                if (markNames != null)
                {
                    sb.append(' ').append(markNames.apply(e.a()));
                }
                else
                {
                    sb.append(" type=").append(e.a());
                }
                sb.append(" b=0x").append(Long.toHexString(e.b()))
                    .append(" c=0x").append(Long.toHexString(e.c()));
                break;
            default:
                sb.append(" a=0x").append(Long.toHexString(e.a())).append(" b=0x").append(Long.toHexString(e.b()))
                    .append(" c=0x").append(Long.toHexString(e.c()));
                if (e.payloadLength() > 0)
                {
                    sb.append(" len=").append(e.payloadLength());
                }
                break;
        }
        return sb;
    }

    private void access(final Event e, final StringBuilder sb)
    {
        final int size = e.size();
        final int digits = size >= 1 && size <= 8 ? size * 2 : 16;
        sb.append('.').append(size).append(" v=");
        hex(sb, e.vaddr(), 16);
        sb.append(" p=");
        hex(sb, e.paddr(), 16);
        sb.append(' ');
        if (EventKind.isWrite(e.kind()))
        {
            hex(sb, e.oldValue(), digits);
            sb.append(" -> ");
            hex(sb, e.value(), digits);
        }
        else
        {
            sb.append("= ");
            hex(sb, e.value(), digits);
            if (e.oldValue() != 0)
            {
                sb.append(" old=");
                hex(sb, e.oldValue(), digits);
            }
        }
    }

    private void pc(final StringBuilder sb, final long pc)
    {
        final String sym = symbolizer.symbolize(pc);
        if (sym != null)
        {
            sb.append(sym);
        }
        else
        {
            hex(sb, pc, 16);
        }
    }

    private static void cpu(final StringBuilder sb, final int cpu)
    {
        if (EventKind.isDevice(cpu))
        {
            sb.append("nic").append(cpu - 0x8000);
        }
        else
        {
            sb.append("cpu").append(cpu);
        }
    }

    private static void name(final StringBuilder sb, final String[] names, final long code)
    {
        if (code >= 0 && code < names.length && names[(int)code] != null)
        {
            sb.append(names[(int)code]);
        }
        else
        {
            sb.append(code);
        }
    }

    private static void exceptionName(final StringBuilder sb, final long vec)
    {
        final String n;
        switch ((int)vec)
        {
            case 0: n = "#DE"; break;
            case 1: n = "#DB"; break;
            case 3: n = "#BP"; break;
            case 6: n = "#UD"; break;
            case 8: n = "#DF"; break;
            case 13: n = "#GP"; break;
            case 14: n = "#PF"; break;
            default: n = null; break;
        }
        if (n != null && vec == (int)vec)
        {
            sb.append('(').append(n).append(')');
        }
    }

    /** APIC ICR delivery modes. */
    private static void deliveryMode(final StringBuilder sb, final long mode)
    {
        switch ((int)mode)
        {
            case 0: sb.append("fixed"); return;
            case 1: sb.append("lowest"); return;
            case 2: sb.append("smi"); return;
            case 4: sb.append("nmi"); return;
            case 5: sb.append("init"); return;
            case 6: sb.append("sipi"); return;
            default: sb.append(mode);
        }
    }

    /** Appends v in hex, zero-padded to at least digits digits (more if v needs them). */
    static void hex(final StringBuilder sb, final long v, final int digits)
    {
        final int needed = Math.max(1, (64 - Long.numberOfLeadingZeros(v) + 3) / 4);
        for (int i = Math.max(digits, needed) - 1; i >= 0; i--)
        {
            sb.append(HEX[(int)(v >>> (i * 4)) & 0xF]);
        }
    }
}
