using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Ingest.LoadGen;

/// <summary>
/// Recording clients: each session sends its payloads one after another (the next only after the
/// previous got its answer), sessions run concurrently, an optional global rate paces all of them.
/// 429 and 503 are retried with exponential back-off and jitter, honouring <c>Retry-After</c>.
/// </summary>
public sealed class LoadRunner(LoadOptions options, HttpClient client)
{
    private long _ticket;

    public async Task<LoadResult> RunAsync(IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var result = new LoadResult();
        var started = Stopwatch.StartNew();
        var done = 0L;
        await Parallel.ForEachAsync(
            Enumerable.Range(0, options.Sessions),
            new ParallelOptions { MaxDegreeOfParallelism = options.Sessions, CancellationToken = cancellationToken },
            async (index, token) =>
            {
                var session = SessionId(index);
                var sizes = new Random(HashCode.Combine(options.Seed, index));
                for (var seq = 0L; seq < options.PayloadsPerSession; seq++)
                {
                    await PaceAsync(started, token);
                    await SendAsync(session, seq, sizes.Next(0, int.MaxValue), options.Size.Next(sizes), result, token);
                    progress?.Report(Interlocked.Increment(ref done));
                }
            });
        result.Elapsed = started.Elapsed;
        return result;
    }

    public string SessionId(int index) => string.Create(CultureInfo.InvariantCulture, $"{options.SessionPrefix}-{index:D5}");

    private async Task SendAsync(string session, long seq, int seed, long size, LoadResult result, CancellationToken cancellationToken)
    {
        var url = string.Create(CultureInfo.InvariantCulture, $"v1/sessions/{session}/payloads?seq={seq}");
        for (var attempt = 1; ; attempt++)
        {
            using var content = new RecordingContent(seed, size);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            var sent = Stopwatch.GetTimestamp();
            HttpResponseMessage response;
            try
            {
                response = await client.PostAsync(url, content, cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                result.RecordFailure(ex.HttpRequestError.ToString());
                if (attempt >= options.MaxAttempts)
                {
                    return;
                }

                result.RecordRetry();
                await Task.Delay(Backoff(attempt, null), cancellationToken);
                continue;
            }

            using (response)
            {
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    var micros = (long)Stopwatch.GetElapsedTime(sent).TotalMicroseconds;
                    result.RecordAccepted(session, seq, size, content.Checksum, micros);
                    return;
                }

                result.RecordRefused((int)response.StatusCode);
                var retriable = response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable;
                if (!retriable || attempt >= options.MaxAttempts)
                {
                    return;
                }

                result.RecordRetry();
                await Task.Delay(Backoff(attempt, response.Headers.RetryAfter?.Delta), cancellationToken);
            }
        }
    }

    /// <summary>Exponential back-off with full jitter, at least what Retry-After asks, at most 10 s.</summary>
    private static TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        var cap = Math.Min(10_000, 100 * Math.Pow(2, attempt - 1));
        var jittered = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * cap);
        return retryAfter is { } floor && floor > jittered ? floor : jittered;
    }

    private async Task PaceAsync(Stopwatch started, CancellationToken cancellationToken)
    {
        if (options.Rate <= 0)
        {
            return;
        }

        var ticket = Interlocked.Increment(ref _ticket) - 1;
        var due = TimeSpan.FromSeconds(ticket / options.Rate) - started.Elapsed;
        if (due > TimeSpan.Zero)
        {
            await Task.Delay(due, cancellationToken);
        }
    }
}
