using System.Net;
using System.Text.Json;
using Ingest.Testing.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Ingest.EndToEnd.Tests.Browser;

/// <summary>
/// A site of its own origin (a tiny Kestrel on another port) with a form, a list and a long page, recorded by the
/// recorder the API serves at <c>/sdk/ingest-recorder.js</c> — the cross-origin setup of a real customer page.
/// </summary>
public sealed class TestPage : IAsyncDisposable
{
    private readonly RunningApp _site;

    private TestPage(RunningApp site) => _site = site;

    /// <summary>The origin the API must list in <c>AllowedOrigins</c>.</summary>
    public string Origin => _site.Address.GetLeftPart(UriPartial.Authority);

    public static async Task<TestPage> StartAsync(CancellationToken cancellationToken) =>
        new(await RunningApp.StartAsync(
            args =>
            {
                var app = WebApplication.CreateBuilder(args).Build();
                app.MapGet("/", (string api, string session, string key, int flush) => Results.Content(Html(api, session, key, flush), "text/html; charset=utf-8"));
                return app;
            },
            [],
            cancellationToken));

    /// <summary>
    /// The page recording <paramref name="sessionId"/> into the API at <paramref name="api"/> with <paramref name="key"/>,
    /// sealing a batch <paramref name="flushIntervalMs"/> after its first event.
    /// </summary>
    public string Url(Uri api, string sessionId, string key, int flushIntervalMs = 1000) =>
        $"{Origin}/?api={Uri.EscapeDataString(api.GetLeftPart(UriPartial.Authority))}&session={sessionId}&key={Uri.EscapeDataString(key)}&flush={flushIntervalMs}";

    private static string Html(string api, string session, string key, int flushIntervalMs) => $$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Recorded page</title><link rel="icon" href="data:,"></head>
        <body>
        <h1>Checkout</h1>
        <label>Name <input id="name" autocomplete="off"></label>
        <p id="echo"></p>
        <button id="add" type="button">add item</button>
        <ul id="items"></ul>
        <div style="height: 3000px; background: linear-gradient(#fff, #ccf)">long content</div>
        <p id="bottom">the end</p>
        <script src="{{WebUtility.HtmlEncode(api)}}/sdk/ingest-recorder.js"></script>
        <script>
          document.getElementById('name').addEventListener('input', e => document.getElementById('echo').textContent = 'Hello, ' + e.target.value);
          document.getElementById('add').addEventListener('click', () => {
            const li = document.createElement('li');
            li.textContent = 'item ' + (document.querySelectorAll('#items li').length + 1);
            document.getElementById('items').append(li);
          });
          window.recorderErrors = [];
          window.recorder = IngestRecorder.start({
            endpoint: {{JsonSerializer.Serialize(api)}},
            sessionId: {{JsonSerializer.Serialize(session)}},
            apiKey: {{JsonSerializer.Serialize(key)}},
            flushIntervalMs: {{flushIntervalMs}},
            retryBaseDelayMs: 200,
            onError: e => window.recorderErrors.push(e),
            onDrop: d => window.recorderErrors.push({ kind: 'drop', ...d }),
          });
        </script>
        </body></html>
        """;

    public ValueTask DisposeAsync() => _site.DisposeAsync();
}
