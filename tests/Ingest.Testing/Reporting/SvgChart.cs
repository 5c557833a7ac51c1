using System.Globalization;
using System.Net;
using System.Text;

namespace Ingest.Testing.Reporting;

/// <summary>Small self-contained SVG charts for the benchmark and soak reports (no script, no external CSS).</summary>
public static class SvgChart
{
    private static readonly string[] Colours = ["#4a90d9", "#d9534f", "#5cb85c", "#f0ad4e", "#8e44ad", "#555555"];

    /// <summary>An SVG document of the given size with a white background and a bold title; close it with <c>&lt;/svg&gt;</c>.</summary>
    public static StringBuilder Header(int width, int height, string title) =>
        new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-family='sans-serif'>")
            .AppendLine(CultureInfo.InvariantCulture, $"<rect width='100%' height='100%' fill='white'/><text x='4' y='14' font-size='13' font-weight='bold'>{WebUtility.HtmlEncode(title)}</text>");

    /// <summary>
    /// One panel per unit, each with its series as lines over a shared x axis (seconds since start), labelled
    /// with the series' last value.
    /// </summary>
    public static string TimeSeries(string title, IReadOnlyList<(string Unit, IReadOnlyList<(string Name, IReadOnlyList<(double X, double Y)> Points)> Series)> panels)
    {
        const int Left = 70, Width = 640, PanelHeight = 160, Gap = 50;
        var height = 30 + (panels.Count * (PanelHeight + Gap));
        var svg = Header(Left + Width + 200, height, title);
        var maxX = Math.Max(1, panels.SelectMany(p => p.Series).SelectMany(s => s.Points).Select(p => p.X).DefaultIfEmpty(1).Max());
        for (var i = 0; i < panels.Count; i++)
        {
            var (unit, series) = panels[i];
            var top = 30 + (i * (PanelHeight + Gap));
            var maxY = Math.Max(1e-9, series.SelectMany(s => s.Points).Select(p => p.Y).DefaultIfEmpty(1).Max()) * 1.1;
            svg.AppendLine(CultureInfo.InvariantCulture, $"<rect x='{Left}' y='{top}' width='{Width}' height='{PanelHeight}' fill='none' stroke='#ccc'/>");
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x='4' y='{top + 12}' font-size='11'>{WebUtility.HtmlEncode(unit)}</text>");
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x='4' y='{top + 26}' font-size='10'>max {maxY / 1.1:0.#}</text>");
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x='{Left}' y='{top + PanelHeight + 14}' font-size='10'>0 s</text>");
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x='{Left + Width - 40}' y='{top + PanelHeight + 14}' font-size='10'>{maxX:0} s</text>");
            for (var s = 0; s < series.Count; s++)
            {
                var (name, points) = series[s];
                var colour = Colours[s % Colours.Length];
                var path = string.Join(' ', points.Select(p => string.Create(CultureInfo.InvariantCulture,
                    $"{Left + (p.X / maxX * Width):0.0},{top + PanelHeight - (p.Y / maxY * PanelHeight):0.0}")));
                svg.AppendLine(CultureInfo.InvariantCulture, $"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{path}'/>");
                var last = points.Count > 0 ? points[^1].Y : 0;
                svg.AppendLine(CultureInfo.InvariantCulture,
                    $"<text x='{Left + Width + 8}' y='{top + 14 + (s * 14)}' font-size='11' fill='{colour}'>{WebUtility.HtmlEncode(name)} (last {last:0.#})</text>");
            }
        }

        return svg.AppendLine("</svg>").ToString();
    }
}
