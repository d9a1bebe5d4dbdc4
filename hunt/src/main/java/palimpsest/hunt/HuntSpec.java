package palimpsest.hunt;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.ScenarioContext;

/**
 * What every run of a campaign has in common: everything a recording's header holds except the
 * seed. Resolved before the campaign starts (machine shape and kernel version are never "the
 * default", which could differ between the machines of a cluster), and sent as is to each worker.
 *
 * @param kernel the kernel version, empty for a hardware scenario
 * @param patches {@code +NAME} / {@code -NAME} toggles, in order
 * @param args scenario arguments, in the order given
 */
public record HuntSpec(
    String scenario,
    int nodes,
    int cpusPerNode,
    int memMiB,
    String schedule,
    String kernel,
    List<String> patches,
    Map<String, String> args) implements Serializable
{
    private static final String FILE = "hunt.spec";

    public HuntSpec
    {
        Objects.requireNonNull(scenario, "scenario");
        Objects.requireNonNull(schedule, "schedule");
        kernel = kernel == null ? "" : kernel;
        patches = List.copyOf(patches);
        args = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(args));
    }

    public MachineConfig config()
    {
        return new MachineConfig(nodes, cpusPerNode, memMiB);
    }

    public ScenarioContext context()
    {
        return new ScenarioContext(args, kernel, patches);
    }

    /** One line for a report: scenario, kernel and patches, arguments, schedule, machine. */
    public String describe()
    {
        final StringBuilder b = new StringBuilder(scenario);
        if (!kernel.isEmpty())
        {
            b.append(" --kernel ").append(kernel);
        }
        for (final String p : patches)
        {
            b.append(" --patch ").append(p);
        }
        args.forEach((k, v) -> b.append(" --arg ").append(k).append('=').append(v));
        return b.append(" --schedule ").append(schedule).append(" (").append(config()).append(')').toString();
    }

    /** Writes DIR/hunt.spec: one {@code key value} per line, so that {@code --resume} runs the same campaign. */
    public void write(final Path dir, final SeedRange seeds) throws IOException
    {
        final StringBuilder b = new StringBuilder("# pal hunt campaign; --resume reads this\n");
        b.append("scenario ").append(scenario).append('\n');
        b.append("machine ").append(nodes).append(' ').append(cpusPerNode).append(' ').append(memMiB).append('\n');
        b.append("schedule ").append(schedule).append('\n');
        b.append("kernel ").append(kernel).append('\n');
        for (final String p : patches)
        {
            b.append("patch ").append(p).append('\n');
        }
        args.forEach((k, v) -> b.append("arg ").append(k).append('=').append(v).append('\n'));
        b.append("seeds ").append(seeds).append('\n');
        final Path tmp = dir.resolve(FILE + ".tmp");
        Files.writeString(tmp, b, StandardCharsets.UTF_8);
        Files.move(tmp, dir.resolve(FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** A spec and its seed range as {@link #write} left them. */
    public record Saved(HuntSpec spec, SeedRange seeds)
    {
    }

    public static boolean exists(final Path dir)
    {
        return Files.isRegularFile(dir.resolve(FILE));
    }

    /**
     * Reads DIR/hunt.spec.
     *
     * @throws IllegalArgumentException if it is missing or malformed (one line).
     */
    public static Saved read(final Path dir)
    {
        final Path f = dir.resolve(FILE);
        final List<String> lines;
        try
        {
            lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        }
        catch (final IOException e)
        {
            throw new IllegalArgumentException(dir + " holds no hunt campaign (no readable " + FILE + ")");
        }
        String scenario = null;
        String schedule = null;
        String kernel = "";
        String seeds = null;
        int[] machine = null;
        final List<String> patches = new ArrayList<>();
        final Map<String, String> args = new LinkedHashMap<>();
        for (final String line : lines)
        {
            if (line.isBlank() || line.startsWith("#"))
            {
                continue;
            }
            final int sp = line.indexOf(' ');
            final String key = sp < 0 ? line : line.substring(0, sp);
            final String value = sp < 0 ? "" : line.substring(sp + 1);
            switch (key)
            {
                case "scenario": scenario = value; break;
                case "schedule": schedule = value; break;
                case "kernel": kernel = value; break;
                case "patch": patches.add(value); break;
                case "seeds": seeds = value; break;
                case "arg":
                    final int eq = value.indexOf('=');
                    if (eq <= 0)
                    {
                        throw new IllegalArgumentException(f + ": bad arg line '" + line + "'");
                    }
                    args.put(value.substring(0, eq), value.substring(eq + 1));
                    break;
                case "machine":
                    try
                    {
                        final String[] m = value.split(" ");
                        machine = new int[] {Integer.parseInt(m[0]), Integer.parseInt(m[1]), Integer.parseInt(m[2])};
                    }
                    catch (final RuntimeException e)
                    {
                        throw new IllegalArgumentException(f + ": bad machine line '" + line + "'");
                    }
                    break;
                default:
                    throw new IllegalArgumentException(f + ": unknown line '" + line + "'");
            }
        }
        if (scenario == null || schedule == null || machine == null || seeds == null)
        {
            throw new IllegalArgumentException(f + " is incomplete (scenario, machine, schedule and seeds are needed)");
        }
        return new Saved(new HuntSpec(scenario, machine[0], machine[1], machine[2], schedule, kernel, patches, args),
            SeedRange.parse(seeds));
    }
}
