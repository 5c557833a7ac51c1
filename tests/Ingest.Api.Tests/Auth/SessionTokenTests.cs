using System.Net;
using Ingest.Api.Tests.Hosting;
using Ingest.Contracts.Tokens;
using Ingest.Testing;

namespace Ingest.Api.Tests.Auth;

/// <summary>
/// Session write tokens through the real API: project p1 requires them (two secrets: rotation), p2 does not. A refused
/// post is a 403 problem naming the reason, never repeating a secret, and nothing of it reaches the topic.
/// </summary>
public sealed class SessionTokenTests(KafkaFixture kafka) : IAsyncLifetime
{
    private const string Current = "p1-current-secret-of-at-least-32-chars";
    private const string Previous = "p1-previous-secret-still-accepted-32+";
    private const string Retired = "p1-retired-secret-no-longer-configured";
    private const string Session = "checkout-7";

    private string _topic = "";
    private ApiHost? _api;

    private ApiHost Api => _api!;

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        _topic = await kafka.CreateTopicAsync("api-tokens", 2, ct);
        _api = await ApiHost.StartAsync(
            kafka, _topic, Http.UnusedDatabase, ct,
            $"--Ingest:Projects:{ApiHost.Project}:WriteTokens:Required=true",
            $"--Ingest:Projects:{ApiHost.Project}:WriteTokens:Secrets:0={Current}",
            $"--Ingest:Projects:{ApiHost.Project}:WriteTokens:Secrets:1={Previous}",
            $"--Ingest:Projects:{ApiHost.Project}:WriteTokens:MaxLifetime=02:00:00");
    }

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
    }

    private static string Mint(string secret = Current, string project = ApiHost.Project, string session = Session, TimeSpan? ttl = null) =>
        SessionWriteToken.Mint(secret, project, session, DateTimeOffset.UtcNow + (ttl ?? TimeSpan.FromHours(1)));

    private async Task<HttpResponseMessage> PostAsync(string? token, string session = Session, string key = ApiHost.IngestOnlyKey, bool inQuery = false, long seq = 0)
    {
        using var client = Api.Client(key);
        var request = Http.Post(session, $"{seq}", """{"v":1,"events":[]}"""u8.ToArray());
        if (token is not null && inQuery)
        {
            request.RequestUri = new Uri($"{request.RequestUri}&token={Uri.EscapeDataString(token)}", UriKind.Relative);
        }
        else if (token is not null)
        {
            request.Headers.Add(SessionWriteToken.Header, token);
        }

        return await client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    private async Task AssertRefusedAsync(HttpResponseMessage response, string slug, string field = SessionWriteToken.Header)
    {
        var problem = await Http.AssertProblemAsync(response, 403, slug, field);
        var text = problem.GetRawText();
        foreach (var secret in new[] { Current, Previous, Retired })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        Assert.Empty(TopicReader.ReadAll(kafka, _topic)); // refused before the body was read: nothing produced
    }

    [Fact]
    public async Task A_valid_token_in_the_header_or_the_query_is_accepted()
    {
        using var header = await PostAsync(Mint(), seq: 0);
        using var query = await PostAsync(Mint(), inQuery: true, seq: 1);

        Assert.Equal(HttpStatusCode.Accepted, header.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, query.StatusCode);
    }

    [Fact]
    public async Task A_token_signed_with_the_previous_secret_is_accepted_during_rotation_a_retired_one_is_not()
    {
        using var previous = await PostAsync(Mint(Previous));
        Assert.Equal(HttpStatusCode.Accepted, previous.StatusCode);

        using var retired = await PostAsync(Mint(Retired), seq: 1);
        var problem = await Http.AssertProblemAsync(retired, 403, "session-token-invalid", SessionWriteToken.Header);
        Assert.DoesNotContain(Retired, problem.GetRawText(), StringComparison.Ordinal);
        Assert.Single(TopicReader.ReadAll(kafka, _topic));
    }

    [Fact]
    public async Task Missing_token_is_refused() =>
        await AssertRefusedAsync(await PostAsync(null), "session-token-missing");

    [Fact]
    public async Task Malformed_token_is_refused() =>
        await AssertRefusedAsync(await PostAsync("v2." + Mint()[3..]), "session-token-malformed");

    [Fact]
    public async Task Malformed_token_in_the_query_names_the_query_parameter() =>
        await AssertRefusedAsync(await PostAsync("not-a-token", inQuery: true), "session-token-malformed", SessionWriteToken.QueryParameter);

    [Fact]
    public async Task Expired_token_is_refused()
    {
        // Expired 2 minutes ago: past the default 1 minute of allowed clock skew.
        using var response = await PostAsync(Mint(ttl: TimeSpan.FromMinutes(-2)));
        await AssertRefusedAsync(response, "session-token-expired");
    }

    [Fact]
    public async Task Token_of_another_session_is_refused() =>
        await AssertRefusedAsync(await PostAsync(Mint(session: "someone-else")), "session-token-invalid");

    [Fact]
    public async Task Token_minted_for_another_project_is_refused() =>
        await AssertRefusedAsync(await PostAsync(Mint(project: ApiHost.OtherProject)), "session-token-invalid");

    [Fact]
    public async Task Token_living_longer_than_the_maximum_lifetime_is_refused() =>
        await AssertRefusedAsync(await PostAsync(Mint(ttl: TimeSpan.FromHours(3))), "session-token-too-long-lived");

    [Fact]
    public async Task A_project_without_the_requirement_is_unaffected()
    {
        using var response = await PostAsync(null, key: ApiHost.OtherProjectKey);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task An_invalid_session_id_is_still_a_400_not_a_token_refusal()
    {
        using var response = await PostAsync(null, session: "bad.session");

        await Http.AssertProblemAsync(response, 400, "invalid-session-id", "sessionId");
    }

    [Fact]
    public async Task A_browser_may_send_the_token_header_cross_origin()
    {
        using var client = Api.Client();
        using var request = new HttpRequestMessage(HttpMethod.Options, $"/v1/sessions/{Session}/payloads?seq=0");
        request.Headers.Add("Origin", ApiHost.AllowedOrigin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type,x-ingest-session-token");

        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Contains(
            SessionWriteToken.Header,
            string.Join(',', response.Headers.GetValues("Access-Control-Allow-Headers")),
            StringComparison.OrdinalIgnoreCase);
    }
}
