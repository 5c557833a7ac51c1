namespace Ingest.Api.Status;

/// <summary>
/// The status page's document. Its script and styles are <c>/sdk/ingest-status.js</c> and <c>/sdk/ingest-status.css</c>
/// (Ingest.Recorder/src/status: uPlot charts), which poll <c>/status/data</c> every second and seed the charts from
/// <c>/status/history</c>.
/// </summary>
public static class StatusPage
{
    /// <summary>
    /// Scripts, styles and images only from this origin (the bundle, no inline script or style, no eval), fetches only to
    /// this origin, and no other site may frame it. uPlot sizes its elements through the CSSOM, which style-src allows.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public const string Html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Ingest status</title>
        <link rel="icon" href="favicon.svg" type="image/svg+xml"><link rel="icon" href="favicon.ico" sizes="16x16 32x32">
        <link rel="stylesheet" href="sdk/ingest-status.css">
        </head>
        <body data-loaded="false">
        <header><h1>Ingest status</h1><span id="topic"></span><span id="updated"></span></header>
        <p id="error" role="alert" hidden></p>
        <section class="tiles">
          <div class="tile" id="tile-ingest"><span class="name">ingest rate</span><b id="ingest-rate">–</b><span class="unit">payloads/s</span>
            <p>Written to the topic by every API (growth of the end offsets), averaged over the last <span id="smoothing">10</span> s.</p></div>
          <div class="tile" id="tile-store"><span class="name">store rate</span><b id="store-rate">–</b><span class="unit">payloads/s</span>
            <p>Committed by the worker group (a worker commits after it stored in PostgreSQL), same average.</p></div>
          <div class="tile" id="tile-lag"><span class="name">total lag</span><b id="total-lag">–</b><span class="unit">messages</span>
            <p>In the topic and not yet committed by the workers.</p></div>
          <div class="tile" id="tile-oldest"><span class="name">oldest unstored</span><b id="oldest-age">–</b><span class="unit">age</span>
            <p>How long ago the API wrote the oldest payload the workers have not committed; "none" without lag.</p></div>
          <div class="tile" id="tile-dlq"><span class="name">dead letters</span><b id="dlq-depth">–</b><span class="unit">messages</span>
            <p>In the dead-letter topic: payloads a worker could not store.</p></div>
          <div class="tile" id="tile-accepted"><span class="name">accepted by this API</span><b id="accepted">–</b><span class="unit">payloads</span>
            <p>202s this API process answered since it started.</p></div>
        </section>
        <div class="charts">
          <figure id="rates-figure"><figcaption>Ingest and store rates <small>payloads/s, 10 s moving average, last 10 min</small></figcaption><div class="chart" id="rates-chart"></div></figure>
          <figure id="lag-figure"><figcaption>Lag per partition <small>messages not yet committed, last 10 min</small></figcaption><div class="chart" id="lag-chart"></div></figure>
          <figure id="age-figure"><figcaption>Oldest unstored payload's age and dead letters <small>seconds (0 without lag), DLQ messages on the right axis</small></figcaption><div class="chart" id="age-chart"></div></figure>
        </div>
        <table id="lag-table"><thead><tr><th>partition</th><th>end offset</th><th>committed offset</th><th>lag</th><th>oldest unstored</th></tr></thead><tbody id="partitions"></tbody></table>
        <dl>
          <dt>Where the numbers come from</dt>
          <dd>The API reads the worker group's committed offsets and the topics' watermarks from Kafka every second while this
            page (or anyone) polls <code>status/data</code>, and keeps the last ten minutes of those snapshots for the charts
            (<code>status/history</code>); nothing is read while nobody watches, so the charts have gaps then.</dd>
          <dt>Oldest unstored</dt>
          <dd>The Kafka timestamp (produce time) of the first message at the group's committed offset, per partition; the tile
            shows the oldest across partitions, its age taken when the snapshot was.</dd>
        </dl>
        <script src="sdk/ingest-status.js"></script>
        </body></html>
        """;
}
