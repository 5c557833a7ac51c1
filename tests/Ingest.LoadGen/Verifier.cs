using System.Globalization;
using System.IO.Hashing;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Ingest.LoadGen;

/// <summary>
/// Reads everything back through the API: every accepted payload is stored once, each session's
/// payloads are in the order they were sent, and the bytes match what was sent (length and XxHash3).
/// </summary>
public sealed class Verifier(LoadOptions options, HttpClient client)
{
    public async Task<List<string>> VerifyAsync(LoadResult result, Func<int, string> sessionId, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var deadline = DateTime.UtcNow + options.VerifyTimeout;
        var bySession = result.AcceptedPayloads.GroupBy(p => p.Key.Session).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        await Parallel.ForEachAsync(Enumerable.Range(0, options.Sessions),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (index, token) =>
            {
                var session = sessionId(index);
                var accepted = bySession.GetValueOrDefault(session) ?? [];
                var found = await CheckSessionAsync(session, accepted, deadline, token);
                if (found.Count > 0)
                {
                    lock (problems)
                    {
                        problems.AddRange(found);
                    }
                }
            });
        return problems;
    }

    private async Task<List<string>> CheckSessionAsync(
        string session,
        List<KeyValuePair<(string Session, long Seq), (long Length, ulong Checksum)>> accepted,
        DateTime deadline,
        CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        if (accepted.Count == 0)
        {
            return problems;
        }

        List<long> stored;
        while (true)
        {
            stored = await ListAsync(session, cancellationToken);
            if (accepted.All(a => stored.Contains(a.Key.Seq)) || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(200, cancellationToken); // waiting for the worker, bounded by --verify-timeout
        }

        foreach (var missing in accepted.Where(a => !stored.Contains(a.Key.Seq)))
        {
            problems.Add($"{session}: seq {missing.Key.Seq} was accepted (202) but is not stored");
        }

        if (stored.Count != stored.Distinct().Count())
        {
            problems.Add($"{session}: a seq is listed more than once");
        }

        if (stored.Any(s => s >= options.PayloadsPerSession))
        {
            problems.Add($"{session}: stored seqs include one that was never sent");
        }

        for (var i = 1; i < stored.Count; i++)
        {
            if (stored[i] < stored[i - 1])
            {
                problems.Add($"{session}: stored out of order: seq {stored[i]} after {stored[i - 1]}");
                break;
            }
        }

        foreach (var ((_, seq), (length, checksum)) in accepted.Where(a => stored.Contains(a.Key.Seq)))
        {
            using var response = await client.GetAsync(
                string.Create(CultureInfo.InvariantCulture, $"v1/sessions/{session}/payloads/{seq}"),
                HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                problems.Add($"{session}: GET seq {seq} answered {(int)response.StatusCode}");
                continue;
            }

            var hash = new XxHash3();
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            await hash.AppendAsync(body, cancellationToken);
            var readLength = response.Content.Headers.ContentLength;
            if (hash.GetCurrentHashAsUInt64() != checksum || (readLength is { } l && l != length))
            {
                problems.Add($"{session}: seq {seq} read back differs from what was sent");
            }
        }

        return problems;
    }

    private async Task<List<long>> ListAsync(string session, CancellationToken cancellationToken)
    {
        var seqs = new List<long>();
        string? cursor = null;
        do
        {
            var url = $"v1/sessions/{session}/payloads?limit=1000" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            using var response = await client.GetAsync(url, cancellationToken);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return seqs;
            }

            response.EnsureSuccessStatusCode();
            using var page = await response.Content.ReadFromJsonAsync<JsonDocument>(cancellationToken)
                ?? throw new InvalidOperationException("empty listing");
            seqs.AddRange(page.RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("seq").GetInt64()));
            var next = page.RootElement.GetProperty("next");
            cursor = next.ValueKind == JsonValueKind.Null ? null : next.GetString();
        }
        while (cursor is not null);

        return seqs;
    }
}
