package palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.junit.jupiter.api.Test;

import picocli.CommandLine;

/**
 * The plain lines of the query verbs set the same fields through {@link QuickArgs} as through
 * picocli, and every other line is left to picocli (so its errors and help stay picocli's).
 */
class QuickArgsTest
{
    private final Io io = new Io(new PrintStream(new ByteArrayOutputStream()), new PrintStream(new ByteArrayOutputStream()),
        Map.of(), false);

    /** Every annotated field of the command and its mixins, as name=value. */
    private static List<String> fields(final Object o) throws IllegalAccessException
    {
        final List<String> out = new ArrayList<>();
        for (final Field f : o.getClass().getDeclaredFields())
        {
            if (f.getAnnotation(CommandLine.Option.class) == null && f.getAnnotation(CommandLine.Parameters.class) == null
                && f.getAnnotation(CommandLine.Mixin.class) == null)
            {
                continue;
            }
            f.setAccessible(true);
            final Object v = f.get(o);
            if (f.getAnnotation(CommandLine.Mixin.class) != null)
            {
                out.addAll(fields(v));
            }
            else
            {
                out.add(f.getName() + "=" + v);
            }
        }
        return out;
    }

    private void same(final Function<Io, Object> make, final String... line) throws IllegalAccessException
    {
        final Object quick = make.apply(io);
        assertTrue(QuickArgs.parse(quick, line, 0), "plain: " + Arrays.toString(line));
        final Object pico = make.apply(io);
        new CommandLine(pico).parseArgs(line);
        assertEquals(fields(pico), fields(quick), Arrays.toString(line));
    }

    private void leftToPicocli(final Function<Io, Object> make, final String... line)
    {
        assertFalse(QuickArgs.parse(make.apply(io), line, 0), "picocli's: " + Arrays.toString(line));
    }

    @Test
    void plainQueryLinesSetWhatPicocliSets() throws IllegalAccessException
    {
        final Function<Io, Object> ww = WhoWroteCommand::new;
        same(ww, "runs/t", "--addr", "ffff880000100000");
        same(ww, "runs/t", "--phys", "--addr", "100000", "--len", "8", "--before", "123456");
        same(ww, "--addr=0x1000", "runs/t", "--all", "--node", "1");
        same(ww, "runs/t", "--reg", "rsp", "--cpu", "3", "--plugin", "a.jar", "--plugin", "b.jar");
        final Function<Io, Object> st = StateCommand::new;
        same(st, "runs/t", "--at", "100");
        same(st, "runs/t", "--at=0", "--cpu", "2", "--mem", "ffff880000001000:64");
        same(st, "--phys", "runs/t", "--at", "7", "--node", "0", "--mem", "0x1000:16");
    }

    @Test
    void everythingElseIsPicocliS()
    {
        final Function<Io, Object> ww = WhoWroteCommand::new;
        leftToPicocli(ww, "runs/t", "--help");
        leftToPicocli(ww, "runs/t", "-h");
        leftToPicocli(ww, "runs/t", "--version");
        leftToPicocli(ww, "runs/t", "--adr", "10");
        leftToPicocli(ww, "runs/t", "--addr");
        leftToPicocli(ww, "runs/t", "--addr", "1", "--addr", "2");
        leftToPicocli(ww, "runs/t", "--len", "eight");
        leftToPicocli(ww, "runs/t", "other", "--addr", "1");
        leftToPicocli(ww, "--addr", "1");
        leftToPicocli(ww, "runs/t", "--phys=true", "--addr", "1");
        final Function<Io, Object> st = StateCommand::new;
        leftToPicocli(st, "runs/t");
        leftToPicocli(st, "runs/t", "--at", "1", "--cpu", "-1");
        leftToPicocli(st, "runs/t", "--at", "1", "--", "x");
    }

    @Test
    void mainRunsAPlainQueryWithoutPicocliAndTheRestWithIt()
    {
        // A missing trace: the same one-line error both ways (the quick path's exceptions go through Main.handle).
        final ByteArrayOutputStream quickErr = new ByteArrayOutputStream();
        final int quick = Main.run(new String[] {"state", "/nonexistent/trace", "--at", "1"}, new PrintStream(new ByteArrayOutputStream()),
            new PrintStream(quickErr), Map.of(), false);
        final ByteArrayOutputStream picoErr = new ByteArrayOutputStream();
        final int pico = Main.run(new String[] {"state", "/nonexistent/trace", "--at", "1"}, new PrintStream(new ByteArrayOutputStream()),
            new PrintStream(picoErr), Map.of("PAL_QUICK_ARGS", "0"), false);
        assertEquals(pico, quick);
        assertEquals(2, quick);
        assertEquals(picoErr.toString(), quickErr.toString());
        assertTrue(quickErr.toString().startsWith("pal: "), quickErr.toString());
        // A mistyped option: picocli's message, as Main words it.
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(2, Main.run(new String[] {"state", "/nonexistent/trace", "--att", "1"}, new PrintStream(new ByteArrayOutputStream()),
            new PrintStream(err), Map.of(), false));
        assertTrue(err.toString().startsWith("pal: ") && err.toString().contains("(see: pal state --help)"), err.toString());
    }
}
