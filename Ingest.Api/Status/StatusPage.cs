using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Ingest.Api.Status;

/// <summary>The status page: one self-contained HTML document polling <c>/status/data</c> every second.</summary>
public static partial class StatusPage
{
    /// <summary>
    /// Only this page's own inline script and style may run (by hash: no <c>'unsafe-inline'</c>), it may fetch only
    /// from this origin, and no other site may frame it.
    /// </summary>
    public static readonly string ContentSecurityPolicy =
        $"default-src 'none'; script-src {Hash(ScriptElement())}; style-src {Hash(StyleElement())}; connect-src 'self'; " +
        "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public const string Html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Ingest status</title><link rel="icon" href="data:,">
        <style>
          body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
          .tiles { display: flex; gap: 1em; margin-bottom: 1em; }
          .tile { border: 1px solid #ccc; border-radius: 6px; padding: .6em 1em; min-width: 9em; }
          .tile b { display: block; font-size: 1.6em; }
          table { border-collapse: collapse; } td, th { padding: .2em .8em; text-align: right; border-bottom: 1px solid #eee; }
          #error { color: #b00; }
          #chart { border: 1px solid #ddd; }
        </style></head>
        <body>
        <h1>Ingest status <small id="topic"></small></h1>
        <div class="tiles">
          <div class="tile">ingest rate<b id="ingest-rate">–</b>payloads/s (this API)</div>
          <div class="tile">store rate<b id="store-rate">–</b>payloads/s (committed)</div>
          <div class="tile">total lag<b id="total-lag">–</b>messages</div>
          <div class="tile">dead letters<b id="dlq-depth">–</b>in the DLQ</div>
        </div>
        <canvas id="chart" width="720" height="180"></canvas>
        <p id="error"></p>
        <table><thead><tr><th>partition</th><th>end</th><th>committed</th><th>lag</th></tr></thead><tbody id="partitions"></tbody></table>
        <script>
        const history = []; let previous = null;
        const text = (id, value) => document.getElementById(id).textContent = value ?? '–';
        function draw() {
          const c = document.getElementById('chart'), g = c.getContext('2d');
          g.clearRect(0, 0, c.width, c.height);
          const max = Math.max(1, ...history.flatMap(h => [h.ingest, h.store]));
          [['ingest', '#4a90d9'], ['store', '#5cb85c']].forEach(([key, color]) => {
            g.strokeStyle = color; g.beginPath();
            history.forEach((h, i) => { const x = i * c.width / 119, y = c.height - 10 - h[key] / max * (c.height - 20); i ? g.lineTo(x, y) : g.moveTo(x, y); });
            g.stroke();
          });
          g.fillText('max ' + max.toFixed(1) + '/s  (blue: ingest, green: store)', 6, 12);
        }
        async function refresh() {
          try {
            const s = await (await fetch('status/data', { cache: 'no-store' })).json();
            text('topic', s.topic + ' · group ' + s.group);
            text('total-lag', s.totalLag); text('dlq-depth', s.deadLetters);
            document.getElementById('partitions').innerHTML = s.partitions.map(p =>
              `<tr data-partition="${p.partition}"><td>${p.partition}</td><td>${p.end}</td><td>${p.committed ?? '–'}</td><td class="lag">${p.lag}</td></tr>`).join('');
            text('error', s.lastError ? `Kafka does not answer the status page: ${s.lastError}` + (s.at ? ` (numbers ${s.ageSeconds.toFixed(0)} s old)` : '') : '');
            if (!s.at) return; // no snapshot yet: the API takes its first look now
            if (previous && previous.at !== s.at) {
              const seconds = Math.max(0.001, (Date.parse(s.at) - Date.parse(previous.at)) / 1000);
              const rates = { ingest: (s.acceptedByThisApi - previous.acceptedByThisApi) / seconds, store: (s.committed - previous.committed) / seconds };
              if (seconds > 0.01) { history.push(rates); if (history.length > 120) history.shift(); }
              text('ingest-rate', rates.ingest.toFixed(1)); text('store-rate', rates.store.toFixed(1));
            }
            previous = s; draw();
            document.body.dataset.loaded = 'true';
          } catch (e) { text('error', 'status unavailable: ' + e); }
        }
        refresh(); setInterval(refresh, 1000);
        </script>
        </body></html>
        """;

    private static string ScriptElement() => InlineScript().Match(Html).Groups[1].Value;

    private static string StyleElement() => InlineStyle().Match(Html).Groups[1].Value;

    private static string Hash(string element) => $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(element)))}'";

    [GeneratedRegex("<script>(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex InlineScript();

    [GeneratedRegex("<style>(.*?)</style>", RegexOptions.Singleline)]
    private static partial Regex InlineStyle();
}
