package palimpsest.cli;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The arguments of a query verb ({@code pal who-wrote}, {@code pal state}) put into its annotated
 * fields without starting picocli: for a query that lives as long as the JVM takes to start,
 * picocli's model of the command (its reflection over every option, its help and converters, 170
 * classes) was half of the CPU. The same {@link Option}, {@link Parameters} and {@link Mixin}
 * annotations say what there is, so the options are defined once. Only the plain forms are taken:
 * {@code --name VALUE}, {@code --name=VALUE}, flags, one positional, values of type String, int,
 * long, boolean and Path (a List of Path repeats). Anything else (help, a mistyped or repeated
 * option, a missing required one, a value picocli would reject or that starts with '-') makes
 * {@link #parse} answer false, and the caller lets picocli parse the whole line, so every error
 * message and every corner stays picocli's.
 */
final class QuickArgs
{
    private QuickArgs()
    {
    }

    /** One settable field and the object it belongs to (the command or a mixin). */
    private static final class Slot
    {
        final Object owner;
        final Field field;
        final Option option;

        Slot(final Object owner, final Field field, final Option option)
        {
            this.owner = owner;
            this.field = field;
            this.option = option;
        }
    }

    /**
     * Sets command's fields from args[from..]; false when the line is not one of the plain forms
     * (then the fields may be half set: give picocli a fresh command object).
     */
    static boolean parse(final Object command, final String[] args, final int from)
    {
        try
        {
            final List<Slot> options = new ArrayList<>();
            final List<Slot> positionals = new ArrayList<>();
            if (!collect(command, options, positionals) || positionals.size() > 1)
            {
                return false;
            }
            final Set<Slot> given = new HashSet<>();
            boolean positionalSeen = false;
            for (int i = from; i < args.length; i++)
            {
                final String a = args[i];
                if (!a.startsWith("-"))
                {
                    if (positionalSeen || positionals.isEmpty())
                    {
                        return false;
                    }
                    set(positionals.get(0), a);
                    positionalSeen = true;
                    continue;
                }
                final int eq = a.indexOf('=');
                final String name = eq < 0 ? a : a.substring(0, eq);
                final Slot s = find(options, name);
                if (s == null || (!isList(s.field) && !given.add(s)))
                {
                    return false; // help, --, an unknown or a repeated option: picocli says what is wrong
                }
                final Class<?> t = s.field.getType();
                if (t == boolean.class || t == Boolean.class)
                {
                    if (eq >= 0)
                    {
                        return false;
                    }
                    s.field.set(s.owner, Boolean.TRUE);
                    continue;
                }
                final String value;
                if (eq >= 0)
                {
                    value = a.substring(eq + 1);
                }
                else if (i + 1 < args.length)
                {
                    value = args[++i];
                }
                else
                {
                    return false;
                }
                if (value.startsWith("-"))
                {
                    return false; // "-1" or an option where a value should be: picocli's rules decide
                }
                set(s, value);
                given.add(s);
            }
            if (!positionals.isEmpty() && !positionalSeen)
            {
                return false;
            }
            for (final Slot s : options)
            {
                if (!given.contains(s))
                {
                    if (s.option.required())
                    {
                        return false;
                    }
                    if (!Option.NULL_VALUE.equals(s.option.defaultValue()) && !s.option.defaultValue().startsWith("__no_default"))
                    {
                        set(s, s.option.defaultValue());
                    }
                }
            }
            return true;
        }
        catch (final ReflectiveOperationException | RuntimeException e)
        {
            return false; // a value that does not convert, a field of another type: picocli's turn
        }
    }

    private static boolean collect(final Object o, final List<Slot> options, final List<Slot> positionals)
        throws ReflectiveOperationException
    {
        for (Class<?> c = o.getClass(); c != null && c != Object.class; c = c.getSuperclass())
        {
            for (final Field f : c.getDeclaredFields())
            {
                if (Modifier.isStatic(f.getModifiers()))
                {
                    continue;
                }
                final Option opt = f.getAnnotation(Option.class);
                final Parameters par = f.getAnnotation(Parameters.class);
                final Mixin mix = f.getAnnotation(Mixin.class);
                if (opt == null && par == null && mix == null)
                {
                    continue;
                }
                f.setAccessible(true);
                if (mix != null)
                {
                    Object m = f.get(o);
                    if (m == null)
                    {
                        final java.lang.reflect.Constructor<?> k = f.getType().getDeclaredConstructor();
                        k.setAccessible(true);
                        m = k.newInstance();
                        f.set(o, m);
                    }
                    if (!collect(m, options, positionals))
                    {
                        return false;
                    }
                }
                else if (opt != null)
                {
                    if (!opt.arity().isEmpty() || opt.negatable() || opt.split().length() > 0 || opt.converter().length > 0
                        || opt.usageHelp() || opt.versionHelp())
                    {
                        return false;
                    }
                    options.add(new Slot(o, f, opt));
                }
                else
                {
                    if (!"0".equals(par.index()) || !par.arity().isEmpty())
                    {
                        return false;
                    }
                    positionals.add(new Slot(o, f, null));
                }
            }
        }
        return true;
    }

    private static Slot find(final List<Slot> options, final String name)
    {
        for (final Slot s : options)
        {
            for (final String n : s.option.names())
            {
                if (n.equals(name))
                {
                    return s;
                }
            }
        }
        return null;
    }

    private static boolean isList(final Field f)
    {
        return List.class.isAssignableFrom(f.getType());
    }

    @SuppressWarnings("unchecked")
    private static void set(final Slot s, final String value) throws ReflectiveOperationException
    {
        final Field f = s.field;
        final Class<?> t = f.getType();
        if (t == String.class)
        {
            f.set(s.owner, value);
        }
        else if (t == int.class || t == Integer.class)
        {
            f.set(s.owner, Integer.valueOf(value));
        }
        else if (t == long.class || t == Long.class)
        {
            f.set(s.owner, Long.valueOf(value));
        }
        else if (t == Path.class)
        {
            f.set(s.owner, Path.of(value));
        }
        else if (isList(f) && f.getGenericType() instanceof ParameterizedType
            && ((ParameterizedType)f.getGenericType()).getActualTypeArguments()[0] == Path.class)
        {
            List<Path> l = (List<Path>)f.get(s.owner);
            if (l == null)
            {
                l = new ArrayList<>();
                f.set(s.owner, l);
            }
            l.add(Path.of(value));
        }
        else
        {
            throw new IllegalArgumentException("a field of type " + t.getName());
        }
    }
}
