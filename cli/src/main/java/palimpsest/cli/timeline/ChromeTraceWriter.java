package palimpsest.cli.timeline;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;

/**
 * The Chrome trace-event format (the JSON object form: {@code {"traceEvents":[...], ...}}) that the
 * Perfetto UI and chrome://tracing open, written as the events come: nothing is kept but the line
 * being written. A node is a process (pid = node), a cpu or NIC a thread (tid); slices are B/E
 * pairs, NIC slices X, markers i, arrows s/f (the f binds to the slice that encloses it: "bp":"e").
 * One event is one microsecond: ts is the event number.
 */
public final class ChromeTraceWriter implements TimelineSink
{
    private final Writer out;
    private final String title;
    private final StringBuilder sb = new StringBuilder(512);
    private final java.util.Set<Integer> namedNodes = new java.util.HashSet<>();
    private boolean first = true;

    /** @param title what the trace is (its path and scenario), kept in the file's metadata */
    public ChromeTraceWriter(final Writer out, final String title)
    {
        this.out = out;
        this.title = title;
        raw("{\"traceEvents\":[\n");
    }

    @Override
    public void track(final int node, final int tid, final String name)
    {
        if (namedNodes.add(node))
        {
            start("M", node, 0, 0).append(",\"name\":\"process_name\",\"args\":{\"name\":");
            string("node" + node).append("}}");
            flush();
            start("M", node, 0, 0).append(",\"name\":\"process_sort_index\",\"args\":{\"sort_index\":").append(node).append("}}");
            flush();
        }
        start("M", node, tid, 0).append(",\"name\":\"thread_name\",\"args\":{\"name\":");
        string(name).append("}}");
        flush();
        start("M", node, tid, 0).append(",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":").append(tid).append("}}");
        flush();
    }

    @Override
    public void begin(final int node, final int tid, final long ts, final String name, final String category, final String... args)
    {
        named("B", node, tid, ts, name, category);
        args(args);
        sb.append('}');
        flush();
    }

    @Override
    public void end(final int node, final int tid, final long ts)
    {
        start("E", node, tid, ts).append('}');
        flush();
    }

    @Override
    public void complete(final int node, final int tid, final long ts, final long duration, final String name, final String category,
        final String... args)
    {
        named("X", node, tid, ts, name, category).append(",\"dur\":").append(duration);
        args(args);
        sb.append('}');
        flush();
    }

    @Override
    public void instant(final int node, final int tid, final long ts, final String name, final String category, final String... args)
    {
        named("i", node, Math.max(tid, 0), ts, name, category).append(",\"s\":\"").append(tid < 0 ? 'g' : 't').append('"');
        args(args);
        sb.append('}');
        flush();
    }

    @Override
    public void flow(final boolean start, final long id, final int node, final int tid, final long ts, final String name,
        final String category)
    {
        named(start ? "s" : "f", node, tid, ts, name, category).append(",\"id\":").append(id);
        if (!start)
        {
            sb.append(",\"bp\":\"e\"");
        }
        sb.append('}');
        flush();
    }

    @Override
    public void finish(final long firstTs, final long lastTs, final String traceStatus)
    {
        sb.setLength(0);
        sb.append("\n],\n\"otherData\":{\"trace\":");
        string(title).append(",\"timestamps\":\"1 us = 1 event (ts is the event number)\",\"events\":");
        string(firstTs + ".." + Math.max(firstTs, lastTs - 1)).append(",\"traceStatus\":");
        string(traceStatus == null ? "" : traceStatus).append("}}\n");
        raw(sb);
        sb.setLength(0);
        try
        {
            out.flush();
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
    }

    private StringBuilder start(final String phase, final int node, final int tid, final long ts)
    {
        sb.setLength(0);
        if (!first)
        {
            sb.append(",\n");
        }
        first = false;
        return sb.append("{\"ph\":\"").append(phase).append("\",\"pid\":").append(node).append(",\"tid\":").append(tid)
            .append(",\"ts\":").append(ts);
    }

    private StringBuilder named(final String phase, final int node, final int tid, final long ts, final String name, final String category)
    {
        start(phase, node, tid, ts).append(",\"name\":");
        string(name).append(",\"cat\":");
        return string(category);
    }

    private void args(final String... kv)
    {
        if (kv == null || kv.length == 0)
        {
            return;
        }
        sb.append(",\"args\":{");
        for (int i = 0; i + 1 < kv.length; i += 2)
        {
            if (i > 0)
            {
                sb.append(',');
            }
            string(kv[i]).append(':');
            string(kv[i + 1] == null ? "" : kv[i + 1]);
        }
        sb.append('}');
    }

    private StringBuilder string(final String s)
    {
        sb.append('"');
        for (int i = 0; i < s.length(); i++)
        {
            final char c = s.charAt(i);
            switch (c)
            {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20)
                    {
                        sb.append(String.format("\\u%04x", (int)c));
                    }
                    else
                    {
                        sb.append(c);
                    }
            }
        }
        return sb.append('"');
    }

    private void flush()
    {
        raw(sb);
    }

    private void raw(final CharSequence s)
    {
        try
        {
            out.append(s);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
    }
}
