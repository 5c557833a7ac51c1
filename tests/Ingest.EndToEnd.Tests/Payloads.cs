using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Ingest.EndToEnd.Tests;

/// <summary>Recording-like payloads, and the HTTP calls a recording client and a reader make.</summary>
public static class Payloads
{
    /// <summary>Recording-like JSON (DOM mutation events) of about <paramref name="size"/> bytes, unique per (session, seq).</summary>
    public static byte[] Make(string sessionId, long seq, int size)
    {
        var random = new Random(HashCode.Combine(sessionId, seq));
        var text = new StringBuilder(size + 200);
        text.Append(CultureInfo.InvariantCulture, $"{{\"session\":\"{sessionId}\",\"seq\":{seq},\"events\":[");
        while (text.Length < size)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{{\"type\":3,\"timestamp\":{1_700_000_000_000L + random.Next(1_000_000)},\"data\":{{\"source\":{random.Next(6)},\"id\":{random.Next(5000)},\"x\":{random.Next(1920)},\"y\":{random.Next(1080)}}}}},");
        }

        text.Append("{}]}");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    public static async Task<HttpResponseMessage> PostAsync(
        HttpClient client, string sessionId, long seq, byte[] body, CancellationToken cancellationToken)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await client.PostAsync(
            string.Create(CultureInfo.InvariantCulture, $"/v1/sessions/{sessionId}/payloads?seq={seq}"), content, cancellationToken);
    }

    /// <summary>Posts and insists on 202, retrying 429/503 as a recording client would.</summary>
    public static async Task PostAcceptedAsync(
        HttpClient client, string sessionId, long seq, byte[] body, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var response = await PostAsync(client, sessionId, seq, body, cancellationToken);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                return;
            }

            var retriable = response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable;
            Assert.True(retriable && attempt < 20,
                $"POST {sessionId}/{seq} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
            await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), cancellationToken); // client back-off, not synchronisation
        }
    }

    /// <summary>Pages through <c>GET …/payloads</c> following the cursor; returns seqs in applied order.</summary>
    public static async Task<List<long>> ListSeqsAsync(HttpClient client, string sessionId, int limit, CancellationToken cancellationToken)
    {
        var seqs = new List<long>();
        string? cursor = null;
        do
        {
            var url = string.Create(CultureInfo.InvariantCulture, $"/v1/sessions/{sessionId}/payloads?limit={limit}")
                + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            using var response = await client.GetAsync(url, cancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var page = await response.Content.ReadFromJsonAsync<JsonDocument>(cancellationToken);
            var items = page!.RootElement.GetProperty("items");
            Assert.True(items.GetArrayLength() <= limit);
            long lastPosition = long.MinValue;
            foreach (var item in items.EnumerateArray())
            {
                var position = item.GetProperty("position").GetInt64();
                Assert.True(position > lastPosition, "positions must increase within a page");
                lastPosition = position;
                seqs.Add(item.GetProperty("seq").GetInt64());
            }

            var next = page.RootElement.GetProperty("next");
            cursor = next.ValueKind == JsonValueKind.Null ? null : next.GetString();
        }
        while (cursor is not null);

        return seqs;
    }
}
