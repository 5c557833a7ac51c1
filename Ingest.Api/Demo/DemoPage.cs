using System.Net;

namespace Ingest.Api.Demo;

/// <summary>
/// The demo page: a form that records itself with <c>/sdk/ingest-recorder.js</c> into a session of its own (a new id per
/// load) and links to that session's replay page. Its behaviour is <c>/demo/demo.js</c>, its look <c>/demo/demo.css</c>.
/// </summary>
public static class DemoPage
{
    /// <summary>
    /// Scripts, styles and fetches only from this origin (the recorder bundle, <see cref="Script"/>, the payload API); no
    /// inline script or style; no other site may frame it; the form submits nowhere.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>The page for <paramref name="sessionId"/>; <paramref name="ingestKey"/> is an ingest-only key (validated at start-up).</summary>
    public static string Html(string projectId, string sessionId, string ingestKey)
    {
        var session = WebUtility.HtmlEncode(sessionId);
        return $$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Ingest demo</title><link rel="icon" href="data:,">
            <link rel="stylesheet" href="/demo/demo.css"></head>
            <body data-session="{{session}}" data-ingest-key="{{WebUtility.HtmlEncode(ingestKey)}}" data-state="starting">
            <h1>Ingest demo</h1>
            <p>This page records itself into session <code id="session">{{session}}</code> of project
              <code>{{WebUtility.HtmlEncode(projectId)}}</code>. Type, pick, click — then
              <a id="replay" href="/replay/{{Uri.EscapeDataString(sessionId)}}">open the replay</a>.
              The replay page asks for a key with the <code>read</code> scope for this project (the README's
              <code>docker/up.sh</code> section names the development one); this page never holds one.</p>
            <form id="order" autocomplete="off">
              <label>Name <input id="name" name="name"></label>
              <label>Email <input id="email" name="email" type="email"></label>
              <label>Plan
                <select id="plan" name="plan">
                  <option value="free">Free</option>
                  <option value="team">Team</option>
                  <option value="enterprise">Enterprise</option>
                </select>
              </label>
              <button id="add" type="button">add item</button>
            </form>
            <p id="summary">No items yet.</p>
            <ul id="items"></ul>
            <p>Inputs are masked in the recording (each character becomes <code>*</code>); page text is recorded as shown.</p>
            <p id="recorder-status" role="status">starting the recorder…</p>
            <script src="/sdk/ingest-recorder.js"></script>
            <script src="/demo/demo.js"></script>
            </body></html>
            """;
    }

    /// <summary><c>/demo/demo.js</c>: the form's behaviour and the recorder's start; <c>window.recorder</c> is the handle (tests flush it).</summary>
    public const string Script = """
        'use strict';
        (() => {
          const body = document.body;
          const byId = (id) => document.getElementById(id);
          const items = byId('items');
          const summary = byId('summary');
          const plan = byId('plan');
          const describe = () => {
            const count = items.children.length;
            summary.textContent = count === 0 ? 'No items yet.' : `${count} item(s) on the ${plan.options[plan.selectedIndex].text} plan.`;
          };
          byId('add').addEventListener('click', () => {
            const li = document.createElement('li');
            li.textContent = `item ${items.children.length + 1}`;
            items.append(li);
            describe();
          });
          plan.addEventListener('change', describe);
          byId('order').addEventListener('submit', (e) => e.preventDefault());

          const status = byId('recorder-status');
          window.recorderErrors = [];
          const recorder = IngestRecorder.start({
            endpoint: location.origin,
            sessionId: body.dataset.session,
            apiKey: body.dataset.ingestKey,
            flushIntervalMs: 1000,
            onError: (e) => { window.recorderErrors.push(e); status.textContent = `recorder: ${e.message}`; },
            onDrop: (d) => window.recorderErrors.push({ kind: 'drop', ...d }),
          });
          window.recorder = recorder;
          body.dataset.state = 'recording';
          const show = () => {
            const s = recorder.stats();
            if (window.recorderErrors.length === 0) {
              status.textContent = `recording: ${s.eventsRecorded} events, ${s.batchesSent} batches sent`;
            }
          };
          setInterval(show, 1000);
          show();

          // Leaving through the link: stop recording and send what is left first (at most 3 s), so the replay has it all.
          byId('replay').addEventListener('click', (e) => {
            if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
            e.preventDefault();
            body.dataset.state = 'leaving';
            const href = e.currentTarget.href;
            Promise.race([recorder.stop(), new Promise((resolve) => setTimeout(resolve, 3000))])
              .finally(() => location.assign(href));
          });
        })();
        """;

    /// <summary><c>/demo/demo.css</c>.</summary>
    public const string Css = """
        body { font: 15px system-ui, sans-serif; margin: 2em auto; max-width: 42em; color: #222; }
        form { display: grid; gap: .8em; margin: 1.5em 0; }
        label { display: grid; gap: .2em; }
        input, select, button { font: inherit; padding: .35em .5em; }
        button { justify-self: start; }
        #recorder-status { color: #555; font-size: 13px; }
        """;

    /// <summary>Headers of the page and its two files: never cached (the page holds a session id and a key), never framed.</summary>
    public static void NoStore(HttpResponse response, string contentSecurityPolicy)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.ContentSecurityPolicy = contentSecurityPolicy;
    }
}
