package palimpsest.trace;

/** Turns a pc into "function+0xoff/0xsize" for {@link EventFormatter}; null when unknown. */
@FunctionalInterface
public interface Symbolizer
{
    Symbolizer NONE = pc -> null;

    String symbolize(long pc);
}
