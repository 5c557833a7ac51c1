using Ingest.Api.Auth;
using Ingest.Api.Limits;
using Ingest.Api.Payloads;
using Ingest.Api.Problems;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Tests.Limits;

/// <summary>The partitioned limiters: each project and each key is limited on its own, and a refusal says which limit and whose.</summary>
public sealed class UploadLimiterTests
{
    private static readonly UploadCaller A0 = new("a", "a/0");
    private static readonly UploadCaller A1 = new("a", "a/1");
    private static readonly UploadCaller B0 = new("b", "b/0");

    private static UploadLimiter Limiter(UploadLimitOptions? a = null, UploadLimitOptions? keyA1 = null, UploadLimitOptions? defaults = null)
    {
        var ingest = new IngestOptions();
        ingest.Projects["a"] = new ProjectOptions { Limits = a, Keys = [new ApiKeyOptions(), new ApiKeyOptions { Limits = keyA1 }] };
        ingest.Projects["b"] = new ProjectOptions { Keys = [new ApiKeyOptions()] };
        var api = new ApiOptions();
        if (defaults is not null)
        {
            api.ProjectLimits = api.ProjectLimits.With(defaults);
        }

        return new UploadLimiter(Options.Create(api), Options.Create(ingest));
    }

    [Fact]
    public async Task Concurrency_is_counted_per_project_and_a_permit_comes_back_when_the_upload_ends()
    {
        await using var limiter = Limiter(a: new() { MaxConcurrentUploads = 2 });
        using var first = limiter.Admit(A0);
        var second = limiter.Admit(A1);
        Assert.Null(first.Refusal);
        Assert.Null(second.Refusal);

        using (var third = limiter.Admit(A0))
        {
            Assert.Equal(new LimitRefusal(ApiProblem.ConcurrencyLimit, "project", 2, null), third.Refusal);
        }

        using (var other = limiter.Admit(B0))
        {
            Assert.Null(other.Refusal); // b's partition is its own
        }

        second.Dispose();
        using var again = limiter.Admit(A0);
        Assert.Null(again.Refusal);
    }

    [Fact]
    public async Task A_key_limit_holds_that_key_below_its_project()
    {
        await using var limiter = Limiter(keyA1: new() { MaxConcurrentUploads = 1 });
        using var first = limiter.Admit(A1);
        using var second = limiter.Admit(A1);
        using var otherKey = limiter.Admit(A0);

        Assert.Null(first.Refusal);
        Assert.Equal("key", second.Refusal?.Scope);
        Assert.Equal(ApiProblem.ConcurrencyLimit, second.Refusal?.Problem);
        Assert.Null(otherKey.Refusal);
    }

    [Fact]
    public async Task A_refused_key_gives_back_the_project_permit_it_took()
    {
        await using var limiter = Limiter(a: new() { MaxConcurrentUploads = 2 }, keyA1: new() { MaxConcurrentUploads = 1 });
        using var first = limiter.Admit(A1);
        using (var refused = limiter.Admit(A1))
        {
            Assert.Equal("key", refused.Refusal?.Scope);
        }

        using var second = limiter.Admit(A0); // the project's second permit was not kept by the refused one
        Assert.Null(second.Refusal);
    }

    [Fact]
    public async Task The_request_rate_refuses_beyond_the_burst_with_a_retry_after()
    {
        await using var limiter = Limiter(a: new() { RequestsPerSecond = 0.5, RequestBurst = 2 });
        using var one = limiter.Admit(A0);
        using var two = limiter.Admit(A0);
        using var three = limiter.Admit(A0);
        using var other = limiter.Admit(B0);

        Assert.Null(one.Refusal);
        Assert.Null(two.Refusal);
        Assert.Equal(ApiProblem.RateLimit, three.Refusal?.Problem);
        Assert.Equal("project", three.Refusal?.Scope);
        Assert.NotNull(three.Refusal?.RetryAfter);
        Assert.InRange(three.Refusal!.RetryAfter!.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(2));
        Assert.Null(other.Refusal);
    }

    [Fact]
    public async Task A_new_upload_is_refused_while_its_byte_bucket_is_empty_and_bytes_wait_rather_than_fail()
    {
        await using var limiter = Limiter(a: new() { BytesPerSecond = 64 * 1024 });
        var ct = TestContext.Current.CancellationToken;
        using var upload = limiter.Admit(A0);
        Assert.Null(upload.Refusal);
        await upload.ConsumeBytesAsync(64 * 1024, ct); // the whole bucket

        using (var refused = limiter.Admit(A0))
        {
            Assert.Equal(ApiProblem.ByteRateLimit, refused.Refusal?.Problem);
        }

        using (var other = limiter.Admit(B0))
        {
            Assert.Null(other.Refusal);
        }

        // The next bytes of the upload in progress wait for the bucket to refill (a tenth of a second per 6.4 KiB).
        var started = TimeProvider.System.GetTimestamp();
        await upload.ConsumeBytesAsync(16 * 1024, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), ct);
        Assert.True(TimeProvider.System.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(150), "bytes beyond the bucket did not wait");
    }

    [Fact]
    public async Task Defaults_apply_to_every_project_and_unset_key_limits_mean_none()
    {
        await using var limiter = Limiter(defaults: new() { MaxConcurrentUploads = 1 });
        using var a = limiter.Admit(A0);
        using var b = limiter.Admit(B0);
        using var a2 = limiter.Admit(A1);
        Assert.Null(a.Refusal);
        Assert.Null(b.Refusal);
        Assert.Equal("project", a2.Refusal?.Scope);
    }

    [Theory]
    [InlineData(0.5, 1, 2.0)]
    [InlineData(10, 1, 0.1)]
    [InlineData(1000, 100, 0.1)]
    public void Rates_become_whole_tokens_per_period(double perSecond, int tokens, double seconds)
    {
        var (t, period) = UploadLimiter.Replenishment(perSecond);
        Assert.Equal(tokens, t);
        Assert.Equal(seconds, period.TotalSeconds, 6);
    }
}
