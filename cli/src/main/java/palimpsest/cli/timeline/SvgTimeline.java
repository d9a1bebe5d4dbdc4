package palimpsest.cli.timeline;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A self-contained SVG of a timeline, for a README or a bug report: one group per node, in it one
 * track per cpu (and the NIC's), rows for the task slice and the nested traps, colours by kind,
 * instants as labelled markers, IPIs and frames as arrows. Its size is bounded whatever the trace:
 * each row is a fixed number of pixels and a slice narrower than a pixel paints that pixel (many
 * slices in one pixel are one mark: the last to end), equal markers in one pixel are one marker with
 * a count, arrows between the same pixels are one arrow, and the number of markers and arrows is
 * capped (the footer says how many were left out). The time span must be known up front.
 */
public final class SvgTimeline implements TimelineSink
{
    static final int WIDTH = 1200;
    private static final int LEFT = 110;
    private static final int TOP = 56;
    private static final int ROW = 12;
    private static final int ROWS = 4;
    private static final int LANES = 3;
    private static final int LANE = 9;
    private static final int TRACK_GAP = 6 + LANES * LANE;
    private static final int NODE_HEADER = 18;
    private static final int MAX_MARKERS = 400;
    private static final int MAX_ARROWS = 1000;
    private static final int MIN_LABEL_PX = 60;

    private static final String[] STYLE_NAMES = {
        "", "task", "task", "task", "task", "task", "task", "task", "task", "boot", "ipi", "timer", "pmu", "device", "stimulus",
        "syscall (int)", "page fault", "exception", "net"
    };
    private static final String[] COLOURS = {
        "none", "#8fb3de", "#a6d0a1", "#d9c48b", "#d6b0b0", "#b8b8e0", "#cfd98f", "#e0c0a0", "#a9b4c9", "#c8c8c8",
        "#f28e2b", "#4e79a7", "#b07aa1", "#59a14f", "#76b7b2", "#edc948", "#e15759", "#9c1b1b", "#9c755f"
    };
    private static final int BOOT = 9;
    private static final int NET = 18;

    private static final class Open
    {
        final long ts;
        final int style;
        final String name;

        Open(final long ts, final int style, final String name)
        {
            this.ts = ts;
            this.style = style;
            this.name = name;
        }
    }

    private static final class Track
    {
        final int node;
        final int tid;
        final String name;
        final byte[][] px = new byte[ROWS][WIDTH];
        final ArrayDeque<Open> open = new ArrayDeque<>();
        final List<String> labels = new ArrayList<>();   // "x width text"

        Track(final int node, final int tid, final String name)
        {
            this.node = node;
            this.tid = tid;
            this.name = name;
        }
    }

    private final Writer out;
    private final String title;
    private final long t0;
    private final double scale;
    private final Map<Long, Track> tracks = new TreeMap<>();
    private final Map<String, int[]> markers = new LinkedHashMap<>();   // "track x name" -> {x, count}
    private final Map<String, String> markerCategory = new HashMap<>();
    private final Map<Long, long[]> flowStarts = new HashMap<>();       // id -> {x, track key}
    private final Map<String, String> arrows = new LinkedHashMap<>();    // "xs ks xf kf" -> name
    private long markersLeftOut;
    private long arrowsLeftOut;
    private long unlabelled;

    /** @param first first timestamp shown, @param last last one (inclusive) */
    public SvgTimeline(final Writer out, final String title, final long first, final long last)
    {
        this.out = out;
        this.title = title;
        this.t0 = first;
        this.scale = WIDTH / (double)Math.max(1, last - first + 1);
    }

    private static long key(final int node, final int tid)
    {
        return (long)node << 32 | (tid & 0xffffffffL);
    }

    private int x(final long ts)
    {
        return (int)Math.max(0, Math.min(WIDTH - 1, Math.floor((ts - t0) * scale)));
    }

    private Track track(final int node, final int tid)
    {
        return tracks.computeIfAbsent(key(node, tid), k -> new Track(node, tid, tid >= 0x8000 ? "nic" + node : "cpu" + tid));
    }

    @Override
    public void track(final int node, final int tid, final String name)
    {
        tracks.putIfAbsent(key(node, tid), new Track(node, tid, name));
    }

    @Override
    public void begin(final int node, final int tid, final long ts, final String name, final String category, final String... args)
    {
        track(node, tid).open.addLast(new Open(ts, style(category, args), name));
    }

    @Override
    public void end(final int node, final int tid, final long ts)
    {
        final Track t = track(node, tid);
        final Open o = t.open.pollLast();
        if (o == null)
        {
            return;
        }
        final int row = Math.min(t.open.size(), ROWS - 1);
        final int x0 = x(o.ts);
        final int x1 = Math.max(x0, x(ts) - 1);
        for (int x = x0; x <= x1; x++)
        {
            t.px[row][x] = (byte)o.style;
        }
        if (row == 0 && x1 - x0 + 1 >= MIN_LABEL_PX)
        {
            t.labels.add(x0 + " " + (x1 - x0 + 1) + " " + o.name);
        }
    }

    @Override
    public void complete(final int node, final int tid, final long ts, final long duration, final String name, final String category,
        final String... args)
    {
        final Track t = track(node, tid);
        final int x0 = x(ts);
        final int x1 = Math.max(x0, x(ts + duration) - 1);
        final byte style = (byte)("net".equals(category) ? NET : style("irq-" + category));
        for (int x = x0; x <= x1; x++)
        {
            t.px[0][x] = style;
        }
    }

    @Override
    public void instant(final int node, final int tid, final long ts, final String name, final String category, final String... args)
    {
        final int x = x(ts);
        final String k = (tid < 0 ? "all" : Long.toString(key(node, tid))) + " " + x + " " + name;
        final int[] m = markers.get(k);
        if (m != null)
        {
            m[1]++;
        }
        else if (markers.size() < MAX_MARKERS)
        {
            markers.put(k, new int[] {x, 1});
            markerCategory.put(k, category);
        }
        else
        {
            markersLeftOut++;
        }
    }

    @Override
    public void flow(final boolean start, final long id, final int node, final int tid, final long ts, final String name,
        final String category)
    {
        if (start)
        {
            flowStarts.put(id, new long[] {x(ts), key(node, tid)});
            return;
        }
        final long[] s = flowStarts.remove(id);
        if (s == null)
        {
            return;
        }
        final String k = s[0] + " " + s[1] + " " + x(ts) + " " + key(node, tid);
        if (arrows.containsKey(k))
        {
            return;
        }
        if (arrows.size() < MAX_ARROWS)
        {
            arrows.put(k, category);
        }
        else
        {
            arrowsLeftOut++;
        }
    }

    @Override
    public void finish(final long firstTs, final long lastTs, final String traceStatus)
    {
        final Map<Long, Integer> y = new HashMap<>();
        int height = TOP;
        int node = -1;
        for (final Track t : tracks.values())
        {
            if (t.node != node)
            {
                node = t.node;
                height += NODE_HEADER;
            }
            y.put(key(t.node, t.tid), height);
            height += ROWS * ROW + TRACK_GAP;
        }
        final int legendY = height + 10;
        height = legendY + 40;
        final int width = LEFT + WIDTH + 20;
        final StringBuilder sb = new StringBuilder(1 << 16);
        sb.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(width).append("\" height=\"").append(height)
            .append("\" viewBox=\"0 0 ").append(width).append(' ').append(height).append("\" font-family=\"monospace\" font-size=\"10\">\n");
        sb.append("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" "
            + "orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#333\"/></marker></defs>\n");
        sb.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        sb.append("<text x=\"8\" y=\"16\" font-size=\"12\">").append(esc(title)).append("</text>\n");
        sb.append("<text x=\"8\" y=\"30\">events ").append(firstTs).append("..").append(Math.max(firstTs, lastTs - 1))
            .append(" (x = event number)").append(traceStatus == null || traceStatus.isEmpty() ? "" : "; " + esc(traceStatus))
            .append("</text>\n");
        axis(sb, firstTs, lastTs, TOP - 8);
        node = -1;
        for (final Track t : tracks.values())
        {
            if (t.node != node)
            {
                if (node >= 0)
                {
                    sb.append("</g>\n");
                }
                node = t.node;
                final int ny = y.get(key(t.node, t.tid)) - 4;
                sb.append("<g class=\"node\" id=\"node").append(node).append("\">\n");
                sb.append("<text x=\"4\" y=\"").append(ny).append("\" font-weight=\"bold\">node").append(node).append("</text>\n");
            }
            track(sb, t, y.get(key(t.node, t.tid)));
        }
        if (node >= 0)
        {
            sb.append("</g>\n");
        }
        sb.append("<g class=\"arrows\" stroke=\"#333\" stroke-width=\"0.8\" fill=\"none\">\n");
        for (final Map.Entry<String, String> a : arrows.entrySet())
        {
            final String[] p = a.getKey().split(" ");
            final Integer ys = y.get(Long.parseLong(p[1]));
            final Integer yf = y.get(Long.parseLong(p[3]));
            if (ys == null || yf == null)
            {
                continue;
            }
            sb.append("<line class=\"").append(a.getValue()).append("\" x1=\"").append(LEFT + Integer.parseInt(p[0]) + 0.5)
                .append("\" y1=\"").append(ys + ROW / 2).append("\" x2=\"").append(LEFT + Integer.parseInt(p[2]) + 0.5).append("\" y2=\"")
                .append(yf + ROW + ROW / 2).append("\" marker-end=\"url(#arrow)\"")
                .append("net".equals(a.getValue()) ? " stroke-dasharray=\"3,2\"" : "").append("/>\n");
        }
        sb.append("</g>\n");
        markers(sb, y);
        legend(sb, legendY);
        sb.append("</svg>\n");
        try
        {
            out.append(sb);
            out.flush();
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
    }

    private void track(final StringBuilder sb, final Track t, final int y)
    {
        sb.append("<g class=\"track\" id=\"").append(esc(t.name)).append("\" data-node=\"").append(t.node).append("\">\n");
        sb.append("<text x=\"14\" y=\"").append(y + ROW).append("\">").append(esc(t.name)).append("</text>\n");
        sb.append("<rect x=\"").append(LEFT).append("\" y=\"").append(y).append("\" width=\"").append(WIDTH).append("\" height=\"")
            .append(ROWS * ROW).append("\" fill=\"#f6f6f6\"/>\n");
        for (int row = 0; row < ROWS; row++)
        {
            final byte[] px = t.px[row];
            int x = 0;
            while (x < WIDTH)
            {
                final int s = px[x];
                int e = x + 1;
                while (e < WIDTH && px[e] == s)
                {
                    e++;
                }
                if (s != 0)
                {
                    sb.append("<rect x=\"").append(LEFT + x).append("\" y=\"").append(y + row * ROW).append("\" width=\"").append(e - x)
                        .append("\" height=\"").append(ROW - 1).append("\" fill=\"").append(COLOURS[s]).append("\"/>\n");
                }
                x = e;
            }
        }
        for (final String l : t.labels)
        {
            final String[] p = l.split(" ", 3);
            final int w = Integer.parseInt(p[1]);
            final String text = p[2].length() * 6 > w - 4 ? p[2].substring(0, Math.max(0, (w - 4) / 6)) : p[2];
            sb.append("<text x=\"").append(LEFT + Integer.parseInt(p[0]) + 2).append("\" y=\"").append(y + ROW - 3).append("\">")
                .append(esc(text)).append("</text>\n");
        }
        sb.append("</g>\n");
    }

    private void markers(final StringBuilder sb, final Map<Long, Integer> y)
    {
        sb.append("<g class=\"markers\">\n");
        final int bottom = y.values().stream().mapToInt(Integer::intValue).max().orElse(TOP) + ROWS * ROW;
        final int firstTrack = y.values().stream().mapToInt(Integer::intValue).min().orElse(TOP);
        // Labels go in lanes under their track, each in the first lane free at its x; one that fits
        // nowhere keeps only its tooltip.
        final Map<Integer, int[]> laneEnds = new HashMap<>();
        final Map<String, String> labels = new HashMap<>();
        long unlabelled = 0;
        final List<Map.Entry<String, int[]>> byPriority = new ArrayList<>(markers.entrySet());
        byPriority.sort(java.util.Comparator.comparingInt(m -> priority(markerCategory.get(m.getKey()))));
        for (final Map.Entry<String, int[]> m : byPriority)
        {
            final String[] p = m.getKey().split(" ", 3);
            final int x = LEFT + m.getValue()[0];
            final int count = m.getValue()[1];
            final String category = markerCategory.get(m.getKey());
            final Integer ty = "all".equals(p[0]) ? null : y.get(Long.parseLong(p[0]));
            final int y1 = ty == null ? bottom : ty + ROWS * ROW;
            final String colour = colour(category);
            final String name = p[2] + (count > 1 ? " (x" + count + ")" : "");
            final String label = name.length() > 48 ? name.substring(0, 47) + "~" : name;
            final int w = label.length() * 5 + 6;
            final boolean right = x + w > LEFT + WIDTH + 10;   // near the right edge: the label ends at the marker
            final int from = right ? x - w : x;
            final int[] ends = laneEnds.computeIfAbsent(y1, k -> new int[LANES * 2]);   // pairs: start, end
            int lane = -1;
            for (int i = 0; i < LANES && lane < 0; i++)
            {
                if (ends[2 * i + 1] == 0 || from + w <= ends[2 * i] || from >= ends[2 * i + 1])
                {
                    lane = i;
                }
            }
            if (lane >= 0 && (ends[2 * lane + 1] == 0 || from >= ends[2 * lane + 1] || from + w <= ends[2 * lane]))
            {
                // Lanes keep the span they cover so far (an approximation: labels only extend it).
                ends[2 * lane] = ends[2 * lane + 1] == 0 ? from : Math.min(ends[2 * lane], from);
                ends[2 * lane + 1] = Math.max(ends[2 * lane + 1], from + w);
                labels.put(m.getKey(), "<text x=\"" + (right ? x - 2 : x + 2) + "\" y=\"" + (y1 + LANE + lane * LANE - 1) + "\" fill=\"" +
                    colour + "\" font-size=\"8\"" + (right ? " text-anchor=\"end\"" : "") + ">" + esc(label) + "</text>");
            }
            else
            {
                unlabelled++;
            }
        }
        for (final Map.Entry<String, int[]> m : markers.entrySet())
        {
            final String[] p = m.getKey().split(" ", 3);
            final int x = LEFT + m.getValue()[0];
            final int count = m.getValue()[1];
            final String category = markerCategory.get(m.getKey());
            final Integer ty = "all".equals(p[0]) ? null : y.get(Long.parseLong(p[0]));
            final int y0 = ty == null ? firstTrack : ty;
            final int y1 = ty == null ? bottom : ty + ROWS * ROW;
            final String colour = colour(category);
            final String name = p[2] + (count > 1 ? " (x" + count + ")" : "");
            sb.append("<g class=\"marker\" data-category=\"").append(esc(category)).append("\"><title>").append(esc(name)).append("</title>");
            sb.append("<line x1=\"").append(x + 0.5).append("\" y1=\"").append(y0).append("\" x2=\"").append(x + 0.5).append("\" y2=\"")
                .append(y1).append("\" stroke=\"").append(colour).append("\" stroke-width=\"1\"/>");
            sb.append("<path d=\"M ").append(x - 3).append(' ').append(y0).append(" L ").append(x + 4).append(' ').append(y0)
                .append(" L ").append(x + 0.5).append(' ').append(y0 + 5).append(" z\" fill=\"").append(colour).append("\"/>");
            sb.append(labels.getOrDefault(m.getKey(), "")).append("</g>\n");
        }
        sb.append("</g>\n");
        this.unlabelled = unlabelled;
    }

    /** Which markers get a label first when they crowd. */
    private static int priority(final String category)
    {
        switch (category == null ? "" : category)
        {
            case "oops": return 0;
            case "power": return 1;
            case "finding": return 2;
            case "hotplug": return 3;
            case "module": return 4;
            default: return 5;
        }
    }

    private static String colour(final String category)
    {
        return "finding".equals(category) || "oops".equals(category) ? "#c00000" : "power".equals(category) ? "#1f5fbf" : "#222";
    }

    private void axis(final StringBuilder sb, final long first, final long last, final int y)
    {
        sb.append("<g class=\"axis\" stroke=\"#999\">\n");
        for (int i = 0; i <= 10; i++)
        {
            final int x = LEFT + i * (WIDTH - 1) / 10;
            final long ts = first + Math.round((last - first) * (i / 10.0));
            sb.append("<line x1=\"").append(x).append("\" y1=\"").append(y + 2).append("\" x2=\"").append(x).append("\" y2=\"").append(y + 7)
                .append("\"/><text x=\"").append(x).append("\" y=\"").append(y).append("\" stroke=\"none\" fill=\"#666\" font-size=\"8\" ")
                .append("text-anchor=\"middle\">#").append(ts).append("</text>\n");
        }
        sb.append("</g>\n");
    }

    private void legend(final StringBuilder sb, final int y)
    {
        sb.append("<g class=\"legend\">\n");
        int x = 8;
        for (int s = 1; s < STYLE_NAMES.length; s++)
        {
            if (s > 1 && s <= 8)
            {
                continue;   // one swatch for the task palette
            }
            sb.append("<rect x=\"").append(x).append("\" y=\"").append(y).append("\" width=\"10\" height=\"10\" fill=\"").append(COLOURS[s])
                .append("\"/><text x=\"").append(x + 13).append("\" y=\"").append(y + 9).append("\">").append(STYLE_NAMES[s]).append("</text>\n");
            x += 24 + STYLE_NAMES[s].length() * 6;
        }
        sb.append("<text x=\"8\" y=\"").append(y + 26).append("\">rows: task, then nested interrupts/exceptions; arrows: IPIs (solid), "
            + "frames (dashed); a slice narrower than a pixel fills that pixel");
        if (unlabelled > 0)
        {
            sb.append("; ").append(unlabelled).append(" marker label(s) did not fit: see their tooltips");
        }
        if (markersLeftOut > 0 || arrowsLeftOut > 0)
        {
            sb.append("; not drawn: ").append(markersLeftOut).append(" marker(s), ").append(arrowsLeftOut).append(" arrow(s)");
        }
        sb.append("</text>\n</g>\n");
    }

    private static int style(final String category, final String... args)
    {
        switch (category)
        {
            case "task":
                final long id = args.length >= 2 ? parse(args[1]) : 0;
                return id == 0 ? BOOT : 1 + (int)(Math.floorMod(id, 8L));
            case "irq-ipi": return 10;
            case "irq-timer": return 11;
            case "irq-pmu": return 12;
            case "irq-device": return 13;
            case "irq-stimulus": return 14;
            case "irq-software": return 15;
            case "exception": return args.length >= 2 && "14".equals(args[1]) ? 16 : 17;
            case "net": return NET;
            default: return 17;
        }
    }

    private static long parse(final String s)
    {
        try
        {
            return Long.parseLong(s);
        }
        catch (final NumberFormatException e)
        {
            return 0;
        }
    }

    static String esc(final String s)
    {
        final StringBuilder b = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++)
        {
            final char c = s.charAt(i);
            switch (c)
            {
                case '&': b.append("&amp;"); break;
                case '<': b.append("&lt;"); break;
                case '>': b.append("&gt;"); break;
                case '"': b.append("&quot;"); break;
                default:
                    if (c >= 0x20 || c == '\t')
                    {
                        b.append(c);
                    }
            }
        }
        return b.toString();
    }
}
