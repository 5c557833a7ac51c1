namespace Ingest.Api.Recorder;

/// <summary>The replay page's document; the player itself is <c>/sdk/ingest-replay.js</c> (Recorder/src/replay).</summary>
public static class ReplayPage
{
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
