namespace Ingest.Api.Recorder;

/// <summary>The replay page's document; the player itself is <c>/sdk/ingest-replay.js</c> (Ingest.Recorder/src/replay).</summary>
public static class ReplayPage
{
    /// <summary>
    /// Scripts only from this origin (the player bundle; no inline script, no eval), fetches only to this origin (the
    /// read API), and no other site may frame the page. rrweb rebuilds the recorded page in an about:blank iframe
    /// (sandboxed without <c>allow-scripts</c>) that inherits this policy: recorded scripts never run, while the recorded
    /// page's inline styles and its images, fonts and media from wherever it loaded them must (<c>style-src
    /// 'unsafe-inline'</c>, <c>img-src</c>/<c>font-src</c>/<c>media-src</c> any origin) or the replay would not look
    /// like the page: without <c>'unsafe-inline'</c> Chromium refused the replay's inline styles (RecorderTests). Styles
    /// cannot run code; a read key lives only in the player's memory.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; " +
        "img-src * data: blob:; font-src * data:; media-src * data: blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public const string Html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Ingest replay</title><link rel="icon" href="data:,">
        <link rel="stylesheet" href="/sdk/ingest-replay.css">
        <style>
          body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
          header { display: flex; gap: 1.5em; align-items: baseline; margin-bottom: 1em; }
          #error { color: #b00; border: 1px solid #b00; border-radius: 6px; padding: .6em 1em; }
          #player { border: 1px solid #ccc; display: inline-block; overflow: auto; max-width: 100%; }
        </style></head>
        <body data-state="starting">
        <header>
          <h1>Replay <code id="session"></code></h1>
          <button id="toggle" type="button">play / pause</button>
          <span id="time"></span>
          <span id="loaded"></span>
        </header>
        <p id="error" role="alert" hidden></p>
        <div id="player"></div>
        <script src="/sdk/ingest-replay.js"></script>
        </body></html>
        """;
}
