using System.Net;
using System.Net.Http.Json;
using System.Text;
using Ingest.Api.Sessions;
using Ingest.Api.Tests.Hosting;
using Ingest.Storage.Reading;
using Ingest.Testing;

namespace Ingest.Api.Tests.Sessions;

/// <summary>The three read endpoints over rows stored as the worker stores them.</summary>
public sealed class ReadTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const string Session = "replay-1";

    /// <summary>Seq out of order on purpose: pages follow position (the applied order), not seq.</summary>
    private static readonly long[] Seqs = [3, 0, 1, 4, 2];

    private static byte[] PayloadFor(long seq) => Encoding.UTF8.GetBytes($"{{\"seq\":{seq},\"pad\":\"{new string('x', 100 * (int)seq)}\"}}");

    private async Task<ApiHost> StartWithRowsAsync(CancellationToken ct)
    {
        var database = await postgres.CreateDatabaseAsync(ct);
        var rows = new StoredRows(database);
        await rows.ApplySchemaAsync(ct);
        for (var i = 0; i < Seqs.Length; i++)
        {
            await rows.InsertAsync(ApiHost.Project, Session, Seqs[i], PayloadFor(Seqs[i]), "application/json", partition: 2, offset: 10 + i, ct);
        }

        await rows.InsertAsync(ApiHost.Project, "other-session", 0, [1, 2, 3], "application/octet-stream", 1, 0, ct);
        return await ApiHost.StartAsync(kafka, "unused-topic", database, ct);
    }

    [Fact]
    public async Task Session_summary_counts_the_stored_payloads()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await StartWithRowsAsync(ct);
        using var client = api.Client(ApiHost.ReadOnlyKey);

        var summary = await client.GetFromJsonAsync<SessionSummary>($"/v1/sessions/{Session}", ct);

        Assert.NotNull(summary);
        Assert.Equal(Session, summary.SessionId);
        Assert.Equal(Seqs.Length, summary.PayloadCount);
        Assert.Equal(Seqs.Sum(s => (long)PayloadFor(s).Length), summary.Bytes);
        Assert.Equal((0L, 4L), (summary.FirstSeq, summary.LastSeq));
        Assert.True(summary.FirstStoredAt <= summary.LastStoredAt);
    }

    [Fact]
    public async Task Payload_list_pages_through_the_cursor_in_position_order()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await StartWithRowsAsync(ct);
        using var client = api.Client(ApiHost.IngestReadKey);

        var items = new List<PayloadItem>();
        var pages = 0;
        string? cursor = null;
        do
        {
            var url = $"/v1/sessions/{Session}/payloads?limit=2" + (cursor is null ? "" : $"&cursor={cursor}");
            var page = (await client.GetFromJsonAsync<PayloadPage>(url, ct))!;
            Assert.InRange(page.Items.Count, 1, 2);
            items.AddRange(page.Items);
            cursor = page.Next;
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(Seqs, items.Select(i => i.Seq));
        Assert.Equal(items.Select(i => i.Position).Order(), items.Select(i => i.Position));
        Assert.All(items, i => Assert.Equal(("application/json", 2), (i.ContentType, i.Partition)));
        Assert.Equal(Seqs.Select(s => (long)PayloadFor(s).Length), items.Select(i => i.Bytes));
        Assert.Equal([10L, 11, 12, 13, 14], items.Select(i => i.Offset));
    }

    [Fact]
    public async Task Default_page_holds_everything_and_has_no_next()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await StartWithRowsAsync(ct);
        using var client = api.Client(ApiHost.ReadOnlyKey);

        using var response = await client.GetAsync($"/v1/sessions/{Session}/payloads", ct);
        var json = await response.Content.ReadAsStringAsync(ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"next\":null", json, StringComparison.Ordinal);
        Assert.Equal(Seqs.Length, System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Payload_is_served_decoded_with_its_content_type()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await StartWithRowsAsync(ct);
        using var client = api.Client(ApiHost.ReadOnlyKey);

        using var json = await client.GetAsync($"/v1/sessions/{Session}/payloads/4", ct);
        using var binary = await client.GetAsync("/v1/sessions/other-session/payloads/0", ct);

        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Equal("application/json", json.Content.Headers.ContentType?.MediaType);
        Assert.Equal(PayloadFor(4), await json.Content.ReadAsByteArrayAsync(ct));
        Assert.Equal("application/octet-stream", binary.Content.Headers.ContentType?.MediaType);
        Assert.Equal(new byte[] { 1, 2, 3 }, await binary.Content.ReadAsByteArrayAsync(ct));
    }

    [Theory]
    [InlineData("checksum")]
    [InlineData("length")]
    public async Task Payload_whose_bytes_do_not_add_up_to_its_row_is_cut_off(string mismatch)
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await postgres.CreateDatabaseAsync(ct);
        var rows = new StoredRows(database);
        await rows.ApplySchemaAsync(ct);
        var payload = PayloadFor(3);
        await rows.InsertAsync(ApiHost.Project, Session, 0, payload, "application/json", 0, 0, ct,
            length: mismatch == "length" ? payload.Length + 1 : null, checksum: mismatch == "checksum" ? 0x0123456789abcdef : null);
        await using var api = await ApiHost.StartAsync(kafka, "unused-topic", database, ct);
        using var client = api.Client(ApiHost.ReadOnlyKey);

        // The connection is aborted before the bytes that would complete the body: never a complete-looking response.
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync($"/v1/sessions/{Session}/payloads/0", ct));
    }

    [Fact]
    public async Task Another_projects_key_gets_404_for_the_same_session()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await StartWithRowsAsync(ct);
        using var client = api.Client(ApiHost.OtherProjectKey);

        using var summary = await client.GetAsync($"/v1/sessions/{Session}", ct);
        using var list = await client.GetAsync($"/v1/sessions/{Session}/payloads", ct);
        using var payload = await client.GetAsync($"/v1/sessions/{Session}/payloads/0", ct);

        await Http.AssertProblemAsync(summary, 404, "session-not-found", "sessionId");
        await Http.AssertProblemAsync(list, 404, "session-not-found", "sessionId");
        await Http.AssertProblemAsync(payload, 404, "payload-not-found", "seq");
    }

    [Theory]
    [InlineData("cursor=not-a-cursor", "invalid-cursor", "cursor")]
    [InlineData("cursor=", "invalid-cursor", "cursor")]
    [InlineData("limit=0", "invalid-limit", "limit")]
    [InlineData("limit=1001", "invalid-limit", "limit")]
    [InlineData("limit=ten", "invalid-limit", "limit")]
    [InlineData("limit=-5", "invalid-limit", "limit")]
    public async Task Bad_cursor_or_limit_is_400(string query, string slug, string field)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await StartWithRowsAsync(ct);
        using var client = api.Client(ApiHost.ReadOnlyKey);

        using var response = await client.GetAsync($"/v1/sessions/{Session}/payloads?{query}", ct);

        await Http.AssertProblemAsync(response, 400, slug, field);
    }

    [Fact]
    public async Task Unknown_seq_is_404_and_bad_seq_is_400()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await StartWithRowsAsync(ct);
        using var client = api.Client(ApiHost.ReadOnlyKey);

        using var unknown = await client.GetAsync($"/v1/sessions/{Session}/payloads/99", ct);
        using var bad = await client.GetAsync($"/v1/sessions/{Session}/payloads/-1", ct);

        await Http.AssertProblemAsync(unknown, 404, "payload-not-found", "seq");
        await Http.AssertProblemAsync(bad, 400, "invalid-seq", "seq");
    }

    [Fact]
    public async Task Ingest_only_key_cannot_read()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await StartWithRowsAsync(ct);
        using var client = api.Client(ApiHost.IngestOnlyKey);

        using var response = await client.GetAsync($"/v1/sessions/{Session}", ct);

        var problem = await Http.AssertProblemAsync(response, 403, "missing-scope", "Authorization");
        Assert.Contains("'read'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
