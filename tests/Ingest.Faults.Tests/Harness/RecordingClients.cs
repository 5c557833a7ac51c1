using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Ingest.Contracts.Identity;
using Ingest.LoadGen;
using Ingest.Testing;
using Ingest.Testing.Hosting;

namespace Ingest.Faults.Tests.Harness;

/// <summary>How the recording clients load the API during a cell.</summary>
/// <param name="Sessions">Concurrent sessions; each sends seq 0, 1, 2 … one after another.</param>
/// <param name="Pace">Least time between the starts of two payloads of one session (recorders flush every so often).</param>
/// <param name="Size">Payload size in bytes, drawn per payload.</param>
/// <param name="PayloadsPerSession">When set, each session stops after this many payloads (else when stopped).</param>
public sealed record LoadShape(int Sessions, TimeSpan Pace, Func<Random, long> Size, int? PayloadsPerSession = null)
{
    /// <summary>Recording-like sizes: mostly 1–12 KB, some 20–120 KB, 3 % of 300–700 KB (two or three chunks).</summary>
    public static long RecordingSizes(Random random) => random.Next(100) switch
    {
        < 90 => random.Next(1_000, 12_000),
        < 97 => random.Next(20_000, 120_000),
        _ => random.Next(300_000, 700_000),
    };

    public static LoadShape Default { get; } = new(8, TimeSpan.FromMilliseconds(40), RecordingSizes);
}

/// <summary>
/// Recording clients through the real API: each session posts its payloads one after another (recording-like JSON
/// from the load generator), and retries 429, 503 and no answer with the same (session, seq) and the same bytes
/// until it gets a 202, as a recording client does. Every attempt and answer goes into the <see cref="Ledger"/>.
/// Nothing paces them but the API: a stalled worker holds them back through its backlog guard (503 backlog-full)
/// before the embedded broker's retention could drop what the worker has not read. Each 202 (it says where the payload
/// landed) goes into the stack's <see cref="PartitionBacklog"/>, which watches, while the clients run, that the log
/// never starts past what the workers committed: a payload lost to retention fails the cell, never passes unseen.
/// </summary>
public sealed class RecordingClients : IAsyncDisposable
{
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(30);
    private readonly HttpClient _http;
    private readonly LoadShape _shape;
    private readonly PartitionBacklog _backlog;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly Task[] _sessions;
    private readonly Task _watch;

    public RecordingClients(Uri api, string key, LoadShape shape, Ledger ledger, PartitionBacklog backlog, string prefix)
    {
        _shape = shape;
        _backlog = backlog;
        Ledger = ledger;
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5) })
        {
            BaseAddress = api,
            Timeout = AttemptTimeout,
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        _sessions = [.. Enumerable.Range(0, shape.Sessions).Select(i => Task.Run(() => RunSessionAsync(
            string.Create(CultureInfo.InvariantCulture, $"{prefix}-{i:D3}"), i)))];
        _watch = backlog.WatchAsync(TimeSpan.FromMilliseconds(250), _stopping.Token);
    }

    public Ledger Ledger { get; }

    /// <summary>When above 0, every n-th attempt of a session is abandoned half-way through its body.</summary>
    public int AbandonEvery { get; set; }

    /// <summary>Completes when every session has sent its <see cref="LoadShape.PayloadsPerSession"/> (or was stopped).</summary>
    public Task Completion => Task.WhenAll(_sessions);

    /// <summary>Throws what stopped a session, or that the broker dropped what nobody had read.</summary>
    public void ThrowIfFailed()
    {
        if (_sessions.Append(_watch).FirstOrDefault(s => s.IsFaulted) is { Exception: { } failure })
        {
            throw failure.InnerException ?? failure;
        }
    }

    /// <summary>
    /// Stops starting new payloads; each session finishes the one it is sending (retrying as usual) within
    /// <paramref name="finishWithin"/>, after which attempts still running are abandoned (no answer).
    /// </summary>
    public async Task StopAsync(TimeSpan finishWithin)
    {
        await _stopping.CancelAsync();
        _abort.CancelAfter(finishWithin);
        await Task.WhenAll(_sessions);
        await _watch;
    }

    public async ValueTask DisposeAsync()
    {
        await _abort.CancelAsync();
        await _stopping.CancelAsync();
        await Task.WhenAll(_sessions);
        await _watch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _http.Dispose();
        _stopping.Dispose();
        _abort.Dispose();
    }

    private async Task RunSessionAsync(string session, int index)
    {
        var random = new Random(index);
        var attempts = 0;
        var partition = SessionKey.PartitionFor(SessionKey.For(TestApiKeys.Project, session), _backlog.Partitions);
        for (var seq = 0L; !_stopping.IsCancellationRequested && seq < (_shape.PayloadsPerSession ?? long.MaxValue); seq++)
        {
            var (seed, size) = (random.Next(), _shape.Size(random));
            var started = DateTimeOffset.UtcNow;
            var payload = Ledger.Begin(session, seq, seed, size);
            for (var attempt = 1; payload.AcceptedAt is null && !_abort.IsCancellationRequested; attempt++)
            {
                var every = AbandonEvery;
                var abandon = every > 0 && ++attempts % every == 0;
                var retryAfter = await AttemptAsync(payload, abandon, partition);
                if (payload.AcceptedAt is null)
                {
                    await PauseAsync(Backoff(attempt, retryAfter));
                }
            }

            await PauseAsync(_shape.Pace - (DateTimeOffset.UtcNow - started));
        }
    }

    /// <summary>One POST; returns the Retry-After asked for, if any.</summary>
    private async Task<TimeSpan?> AttemptAsync(SentPayload payload, bool abandon, int partition)
    {
        payload.Attempted();
        HttpContent content = abandon
            ? new AbandonedContent(payload.Seed, payload.Length)
            : new RecordingContent(payload.Seed, payload.Length);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var url = string.Create(CultureInfo.InvariantCulture, $"v1/sessions/{payload.Session}/payloads?seq={payload.Seq}");
        try
        {
            using var response = await _http.PostAsync(url, content, _abort.Token);
            var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            Ledger.Answer(status);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                var landed = await response.Content.ReadFromJsonAsync<Landed>(_abort.Token)
                    ?? throw new InvalidOperationException("202 without a body");
                if (landed.Partition != partition)
                {
                    throw new InvalidOperationException(
                        $"The API put session {payload.Session} on partition {landed.Partition}; SessionKey.PartitionFor says {partition}.");
                }

                _backlog.Produced(partition, landed.Offset, payload.Length);
                payload.Accepted();
                return null;
            }

            payload.Failed(status);
            return response.Headers.RetryAfter?.Delta;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            var kind = abandon ? "aborted by the client" : "no answer";
            Ledger.Answer(kind);
            payload.Failed(kind);
            return null;
        }
        finally
        {
            content.Dispose();
        }
    }

    /// <summary>Exponential back-off with jitter from 50 ms, capped at 1 s, at least what Retry-After asks (the cells set it to 1 s).</summary>
    private static TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        var cap = Math.Min(1000, 50 * Math.Pow(2, attempt - 1));
        var jittered = TimeSpan.FromMilliseconds((cap / 2) + (Random.Shared.NextDouble() * cap / 2));
        return retryAfter is { } floor && floor > jittered ? floor : jittered;
    }

    private async Task PauseAsync(TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await Task.Delay(delay, _abort.Token); // client pacing and back-off, not synchronisation
        }
        catch (OperationCanceledException)
        {
            // Abandoned: the loop sees the token.
        }
    }

    /// <summary>Where the API says a payload landed (the rest of its 202 body is not needed here).</summary>
    private sealed record Landed(int Partition, long Offset);
}
