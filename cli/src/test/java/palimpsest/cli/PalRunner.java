package palimpsest.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** Runs {@code pal} in-process with captured stdout and stderr. */
final class PalRunner
{
    record Result(int rc, String out, String err)
    {
        @Override
        public String toString()
        {
            return "rc=" + rc + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    private PalRunner()
    {
    }

    static Result pal(final String... args)
    {
        final Map<String, String> env = new HashMap<>();
        env.put("PAL_PROGRESS", "off");
        return pal(env, args);
    }

    static Result pal(final Map<String, String> env, final String... args)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int rc;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
            PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8))
        {
            rc = Main.run(args, o, e, env, false);
        }
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
