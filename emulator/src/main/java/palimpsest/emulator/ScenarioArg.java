package palimpsest.emulator;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One argument a scenario takes ({@code --arg name=value}): its name, its default as shown to users,
 * a one-line help, and what values it accepts. A scenario declares its arguments with
 * {@link Scenario#args()}; {@link #check} refuses any other name, and any value its kind does not
 * accept, before the machine is built.
 */
public final class ScenarioArg
{
    /** What values an argument accepts. */
    public enum Kind
    {
        /** A whole number >= 0 (decimal, or 0x hex). */
        NUMBER,
        /** One of {@link #choices()}. */
        CHOICE
    }

    private final String name;
    private final String defaultValue;
    private final String help;
    private final Kind kind;
    private final List<String> choices;
    /** A number's smallest and largest accepted value. */
    private final long min;
    private final long max;

    private ScenarioArg(final String name, final String defaultValue, final String help, final Kind kind,
        final List<String> choices, final long min, final long max)
    {
        this.name = name;
        this.defaultValue = defaultValue;
        this.help = help;
        this.kind = kind;
        this.choices = List.copyOf(choices);
        this.min = min;
        this.max = max;
    }

    /** A whole number >= 0. */
    public static ScenarioArg number(final String name, final String defaultValue, final String help)
    {
        return new ScenarioArg(name, defaultValue, help, Kind.NUMBER, List.of(), 0, Long.MAX_VALUE);
    }

    /**
     * A whole number in [min, max]: for an argument the scenario would otherwise have to clamp (a
     * thread count of 0 is not "1", it is a mistake the user should hear about).
     */
    public static ScenarioArg number(final String name, final String defaultValue, final String help, final long min,
        final long max)
    {
        return new ScenarioArg(name, defaultValue, help, Kind.NUMBER, List.of(), min, max);
    }

    /** One of a few words. */
    public static ScenarioArg choice(final String name, final String defaultValue, final String help,
        final String... choices)
    {
        return new ScenarioArg(name, defaultValue, help, Kind.CHOICE, List.of(choices), 0, 0);
    }

    public String name()
    {
        return name;
    }

    public String defaultValue()
    {
        return defaultValue;
    }

    public String help()
    {
        return help;
    }

    public Kind kind()
    {
        return kind;
    }

    public List<String> choices()
    {
        return choices;
    }

    /** "rounds=N (default 100): ..." */
    @Override
    public String toString()
    {
        final String range = kind == Kind.NUMBER && (min != 0 || max != Long.MAX_VALUE) ? " in " + min + ".." + max : "";
        return name + "=" + (kind == Kind.CHOICE ? String.join("|", choices) : "N") + range + " (default " + defaultValue +
            "): " + help;
    }

    /**
     * Refuses arguments the scenario does not declare and values their kind does not accept. A scenario
     * that declares nothing ({@link Scenario#args()} returns null) is not checked.
     *
     * @throws IllegalArgumentException with a one-line message naming the known arguments.
     */
    public static void check(final Scenario scenario, final Map<String, String> args)
    {
        final List<ScenarioArg> known = scenario.args();
        if (known == null)
        {
            return;
        }
        for (final Map.Entry<String, String> e : args.entrySet())
        {
            ScenarioArg a = null;
            for (final ScenarioArg k : known)
            {
                a = k.name.equals(e.getKey()) ? k : a;
            }
            if (a == null)
            {
                throw new IllegalArgumentException("scenario " + scenario.name() + " takes no argument '" + e.getKey() +
                    "'; it takes " + names(known));
            }
            a.checkValue(scenario, e.getValue());
        }
    }

    private void checkValue(final Scenario scenario, final String v)
    {
        if (kind == Kind.CHOICE)
        {
            if (!choices.contains(v))
            {
                throw new IllegalArgumentException("scenario " + scenario.name() + ": --arg " + name + " takes " +
                    String.join(" or ", choices) + ", got '" + v + "'");
            }
            return;
        }
        final long n;
        try
        {
            n = Long.decode(v);
        }
        catch (final NumberFormatException e)
        {
            throw new IllegalArgumentException("scenario " + scenario.name() + ": --arg " + name +
                " must be a whole number, got '" + v + "'");
        }
        if (n < 0)
        {
            throw new IllegalArgumentException("scenario " + scenario.name() + ": --arg " + name + " must be >= 0, got " + n);
        }
        if (n < min || n > max)
        {
            throw new IllegalArgumentException("scenario " + scenario.name() + ": --arg " + name + " must be " + min + ".." +
                max + ", got " + n);
        }
    }

    /** "none" or "rounds, frames" for messages. */
    public static String names(final List<ScenarioArg> args)
    {
        if (args.isEmpty())
        {
            return "no arguments";
        }
        final List<String> n = new ArrayList<>();
        for (final ScenarioArg a : args)
        {
            n.add(a.name);
        }
        return String.join(", ", n) + " (see: pal scenarios --args)";
    }
}
