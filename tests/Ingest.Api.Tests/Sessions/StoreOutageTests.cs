using System.Net;
using System.Net.Sockets;
using Ingest.Api.Sessions;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;
using Npgsql;

namespace Ingest.Api.Tests.Sessions;

/// <summary>Reads while Postgres is down: 503 database-unavailable with Retry-After, and 200 again once it is back.</summary>
[Collection(nameof(RunsAlone))]
public sealed class StoreOutageTests(KafkaFixture kafka)
{
    private const string Session = "outage-1";

    [Fact]
    public async Task Reads_during_a_Postgres_outage_are_503_database_unavailable_with_retry_after_then_200_again()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await PrivatePostgres.StartAsync(ct);
        var database = await cluster.CreateDatabaseAsync("ingest", ct);
        var rows = new StoredRows(database);
        await rows.ApplySchemaAsync(ct);
        await rows.InsertAsync(ApiHost.Project, Session, 0, "{}"u8.ToArray(), "application/json", partition: 0, offset: 0, ct);
        await using var api = await ApiHost.StartAsync(kafka, "unused-topic", database, ct, "--Api:RetryAfterSeconds=7");
        using var client = api.Client(ApiHost.ReadOnlyKey);
        string[] reads = [$"/v1/sessions/{Session}", $"/v1/sessions/{Session}/payloads", $"/v1/sessions/{Session}/payloads/0"];
        foreach (var path in reads)
        {
            using var before = await client.GetAsync(path, ct);
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await cluster.StopAsync(ct);
        foreach (var path in reads)
        {
            // Twice: the first may meet a pooled connection the stop broke, the second a refused connect.
            for (var attempt = 0; attempt < 2; attempt++)
            {
                using var during = await client.GetAsync(path, ct);
                await Http.AssertProblemAsync(during, 503, "database-unavailable");
                Assert.Equal(TimeSpan.FromSeconds(7), during.Headers.RetryAfter?.Delta);
                Assert.Equal("nosniff", during.Headers.GetValues("X-Content-Type-Options").Single()); // survives the handler's reset
            }
        }

        await cluster.ResumeAsync(ct);
        await Eventually.TrueAsync(async () =>
        {
            using var after = await client.GetAsync(reads[2], ct);
            return after.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(30), "reads answer 200 once Postgres is back", ct);
    }

    [Theory]
    [InlineData("57P01", true)] // admin_shutdown
    [InlineData("57P03", true)] // cannot_connect_now (starting up)
    [InlineData("08006", true)] // connection_failure
    [InlineData("53300", true)] // too_many_connections
    [InlineData("42P01", false)] // undefined_table: an operator's fix, not a wait
    [InlineData("28P01", false)] // invalid_password
    [InlineData("23505", false)]
    public void Transient_sqlstates_are_classes_08_53_and_57P(string sqlState, bool transient) =>
        Assert.Equal(transient, StoreUnavailableHandler.IsTransient(new PostgresException("m", "FATAL", "FATAL", sqlState)));

    [Fact]
    public void Connection_failures_and_timeouts_are_transient_other_exceptions_are_not()
    {
        Assert.True(StoreUnavailableHandler.IsTransient(new NpgsqlException("connect", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.True(StoreUnavailableHandler.IsTransient(new NpgsqlException("timeout", new TimeoutException())));
        Assert.False(StoreUnavailableHandler.IsTransient(new InvalidOperationException("bug")));
    }
}
