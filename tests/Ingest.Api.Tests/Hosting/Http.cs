using System.Net.Http.Headers;
using System.Text.Json;

namespace Ingest.Api.Tests.Hosting;

/// <summary>Requests and problem assertions shared by the HTTP tests.</summary>
public static class Http
{
    /// <summary>A connection string for tests that never read: the POST path does not touch Postgres.</summary>
    public const string UnusedDatabase = "Host=127.0.0.1;Port=1;Database=unused";

    public static HttpRequestMessage Post(
        string sessionId, string? seq, byte[] body, string? contentType = "application/json", string? contentEncoding = null)
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        if (contentEncoding is not null)
        {
            content.Headers.ContentEncoding.Add(contentEncoding);
        }

        var query = seq is null ? "" : $"?seq={Uri.EscapeDataString(seq)}";
        return new HttpRequestMessage(HttpMethod.Post, $"/v1/sessions/{sessionId}/payloads{query}") { Content = content };
    }

    /// <summary>Asserts an RFC 7807 answer with our stable type and, if given, the offending field; returns the document.</summary>
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, int status, string slug, string? field = null)
    {
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(status == (int)response.StatusCode, $"Expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal($"urn:ingest:problem:{slug}", problem.GetProperty("type").GetString());
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        if (field is not null)
        {
            Assert.Equal(field, problem.GetProperty("field").GetString());
        }

        return problem;
    }
}
