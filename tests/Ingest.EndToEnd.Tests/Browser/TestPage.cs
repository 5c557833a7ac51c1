using System.Net;
using System.Text.Json;
using Ingest.Contracts.Tokens;
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
    /// <summary>The site backend's write token secret (what <see cref="TokenArgs"/> configures for the project).</summary>
    public const string TokenSecret = "test-site-write-token-secret-0123456789";

    private readonly RunningApp _site;
    private readonly TokenMinter _minter;

    private TestPage(RunningApp site, TokenMinter minter) => (_site, _minter) = (site, minter);

    /// <summary>Tokens the site's backend minted so far (<c>GET /token</c>).</summary>
    public int TokensMinted => _minter.Count;

    /// <summary>API arguments that make <paramref name="project"/> require the tokens this site mints.</summary>
    public static string[] TokenArgs(string project) =>
        [$"--Ingest:Projects:{project}:WriteTokens:Required=true", $"--Ingest:Projects:{project}:WriteTokens:Secrets:0={TokenSecret}"];

    /// <summary>The origin the API must list in <c>AllowedOrigins</c>.</summary>
    public string Origin => _site.Address.GetLeftPart(UriPartial.Authority);

    /// <summary>
    /// Starts the site. Besides the page it has what a real site's backend would: <c>GET /token?session=&amp;ttl=</c> mints a
    /// session write token for project p1 valid <c>ttl</c> seconds (negative: already expired).
    /// </summary>
    public static async Task<TestPage> StartAsync(CancellationToken cancellationToken)
    {
        var minter = new TokenMinter();
        var site = await RunningApp.StartAsync(
            args =>
            {
                var app = WebApplication.CreateBuilder(args).Build();
                app.MapGet("/", (string api, string session, string key, int flush, string? options) =>
                    Results.Content(Html(api, session, key, flush, options ?? "{}"), "text/html; charset=utf-8"));
                app.MapGet("/token", (string session, int ttl) => Results.Text(minter.Mint(session, ttl)));
                return app;
            },
            [],
            cancellationToken);
        return new TestPage(site, minter);
    }

    /// <summary>A token for <paramref name="session"/> valid <paramref name="ttlSeconds"/> from now, as the site's backend mints it.</summary>
    public static string Mint(string session, int ttlSeconds) =>
        SessionWriteToken.Mint(TokenSecret, TestApiKeys.Project, session, DateTimeOffset.UtcNow.AddSeconds(ttlSeconds));

    /// <summary>
    /// The page recording <paramref name="sessionId"/> into the API at <paramref name="api"/> with <paramref name="key"/>,
    /// sealing a batch <paramref name="flushIntervalMs"/> after its first event.
    /// </summary>
    /// <param name="api">The API.</param>
    /// <param name="sessionId">The recorded session.</param>
    /// <param name="key">The API key on the page.</param>
    /// <param name="flushIntervalMs">The recorder's <c>flushIntervalMs</c>.</param>
    /// <param name="options">
    /// More recorder options as a JavaScript object literal, merged over the page's; <c>refreshTtl: n</c> adds a
    /// <c>refreshSessionToken</c> that fetches a token valid n seconds from the site's <c>/token</c>.
    /// </param>
    public string Url(Uri api, string sessionId, string key, int flushIntervalMs = 1000, string? options = null) =>
        $"{Origin}/?api={Uri.EscapeDataString(api.GetLeftPart(UriPartial.Authority))}&session={sessionId}&key={Uri.EscapeDataString(key)}&flush={flushIntervalMs}" +
        (options is null ? "" : $"&options={Uri.EscapeDataString(options)}");

    private static string Html(string api, string session, string key, int flushIntervalMs, string options) => $$"""
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
        <div id="secret">account number 12345678</div>
        <script src="{{WebUtility.HtmlEncode(api)}}/sdk/ingest-recorder.js"></script>
        <script>
          document.getElementById('name').addEventListener('input', e => document.getElementById('echo').textContent = 'Hello, ' + e.target.value);
          document.getElementById('add').addEventListener('click', () => {
            const li = document.createElement('li');
            li.textContent = 'item ' + (document.querySelectorAll('#items li').length + 1);
            document.getElementById('items').append(li);
          });
          window.recorderErrors = [];
          const extra = ({{options}});
          if (extra.refreshTtl !== undefined) {
            const ttl = extra.refreshTtl;
            extra.refreshSessionToken = () => fetch('/token?session=' + {{JsonSerializer.Serialize(session)}} + '&ttl=' + ttl).then(r => r.text());
            delete extra.refreshTtl;
          }
          window.recorder = IngestRecorder.start({
            endpoint: {{JsonSerializer.Serialize(api)}},
            sessionId: {{JsonSerializer.Serialize(session)}},
            apiKey: {{JsonSerializer.Serialize(key)}},
            flushIntervalMs: {{flushIntervalMs}},
            retryBaseDelayMs: 200,
            onError: e => window.recorderErrors.push(e),
            onDrop: d => window.recorderErrors.push({ kind: 'drop', ...d }),
            ...extra,
          });
        </script>
        </body></html>
        """;

    public ValueTask DisposeAsync() => _site.DisposeAsync();

    /// <summary>The site backend's token endpoint, counting what it mints.</summary>
    private sealed class TokenMinter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public string Mint(string session, int ttlSeconds)
        {
            Interlocked.Increment(ref _count);
            return TestPage.Mint(session, ttlSeconds);
        }
    }
}
