using System.IO.Pipelines;
using Ingest.Api.Auth;
using Ingest.Api.Backpressure;
using Ingest.Api.Payloads;
using Ingest.Api.Problems;
using Ingest.Testing;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Api.Tests.Payloads;

/// <summary>
/// <see cref="ChunkReader"/> over a body the test feeds through a pipe, on a fake clock: every way a read ends is one
/// <see cref="UploadOutcome"/>, decided by the reader, with the budget it held given back.
/// </summary>
public sealed class ChunkReaderTests
{
    private const int ChunkBytes = 256;
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan BudgetWait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Idle_timeout_fires_only_once_the_clock_passes_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upload = new Upload();
        await upload.SendAsync(100, ct);

        var read = upload.Reader.ReadAsync(ct); // takes the 100 bytes, then waits for more
        upload.Time.Advance(IdleTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(read.IsCompleted);

        await upload.SendAsync(50, ct);
        await upload.Pipe.Writer.CompleteAsync();
        var chunk = await read.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.True(chunk.AtEnd);
        Assert.Equal(150, chunk.Length);
        chunk.Discard();
        Assert.Equal(0, upload.Account.Used);
    }

    [Fact]
    public async Task A_client_silent_for_the_idle_timeout_ends_as_upload_idle_with_its_budget_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upload = new Upload();
        await upload.SendAsync(100, ct);

        var read = upload.Reader.ReadAsync(ct);
        Assert.Equal(100, upload.Account.Used); // held while the reader waits for the rest
        upload.Time.Advance(IdleTimeout);

        var failure = await FailureOf(read);
        Assert.Equal(UploadOutcome.UploadIdle, failure.Outcome);
        Assert.Contains("Api:UploadIdleTimeout", failure.Detail, StringComparison.Ordinal);
        Assert.Equal(0, upload.Account.Used);
    }

    [Fact]
    public async Task The_idle_clock_counts_from_the_last_bytes_received()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upload = new Upload();
        await upload.SendAsync(100, ct);
        var read = upload.Reader.ReadAsync(ct);

        // Bytes every 4 s: 12 s in all, never 5 s of silence.
        for (var i = 0; i < 3; i++)
        {
            upload.Time.Advance(TimeSpan.FromSeconds(4));
            await upload.SendAsync(10, ct);
            await Eventually.TrueAsync(() => upload.Body.DecodedLength == 110 + (i * 10), TimeSpan.FromSeconds(30), "bytes read", ct);
        }

        await upload.Pipe.Writer.CompleteAsync();
        var chunk = await read.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(130, chunk.Length);
        chunk.Discard();
    }

    public static TheoryData<string, UploadOutcome> Cuts => new()
    {
        { "fin before Content-Length", UploadOutcome.ClientDisconnected },
        { "connection reset", UploadOutcome.ClientDisconnected },
        { "connection aborted", UploadOutcome.ClientDisconnected },
        { "body too slow", UploadOutcome.IncompleteBody },
        { "raw body too large", UploadOutcome.PayloadTooLarge },
    };

    [Theory]
    [MemberData(nameof(Cuts))]
    public async Task A_body_cut_mid_chunk_ends_as_the_outcome_of_its_cause(string cause, UploadOutcome expected)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upload = new Upload(identityLength: 1000);
        await upload.SendAsync(300, ct);

        var first = await upload.Reader.ReadAsync(ct);
        Assert.Equal(ChunkBytes, first.Length);
        Assert.False(first.AtEnd);

        var second = upload.Reader.ReadAsync(ct); // holds the 44 bytes left, waits for the rest
        await upload.Pipe.Writer.CompleteAsync(cause switch
        {
            "fin before Content-Length" => new BadHttpRequestException("Unexpected end of request content.", StatusCodes.Status400BadRequest),
            "connection reset" => new ConnectionResetException("The client reset the connection."),
            "connection aborted" => new ConnectionAbortedException("The connection was aborted."),
            "body too slow" => new BadHttpRequestException("Reading the request body timed out due to data arriving too slowly.", StatusCodes.Status408RequestTimeout),
            _ => new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge),
        });

        var failure = await FailureOf(second);
        Assert.Equal(expected, failure.Outcome);
        if (expected == UploadOutcome.IncompleteBody)
        {
            Assert.Equal(StatusCodes.Status408RequestTimeout, failure.Status);
        }

        first.Discard();
        Assert.Equal(0, upload.Account.Used);
    }

    [Fact]
    public async Task A_body_decoding_past_the_limit_ends_as_payload_too_large()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upload = new Upload(limit: 600);
        await upload.SendAsync(700, ct);
        await upload.Pipe.Writer.CompleteAsync();

        Assert.Equal(ChunkBytes, (await upload.Reader.ReadAsync(ct)).Length);
        Assert.Equal(ChunkBytes, (await upload.Reader.ReadAsync(ct)).Length);
        var failure = await FailureOf(upload.Reader.ReadAsync(ct));

        Assert.Equal(UploadOutcome.PayloadTooLarge, failure.Outcome);
        Assert.Contains(new KeyValuePair<string, object?>("limit", 600L), failure.Extensions);
    }

    [Fact]
    public async Task An_lz4_frame_of_large_blocks_ends_as_lz4_block_too_large_before_any_chunk()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upload = new Upload(coding: ContentCoding.Lz4);
        await upload.Pipe.Writer.WriteAsync(PayloadBodyStreamTests.Lz4Frame(new byte[10_000], blockSize: 4 * 1024 * 1024), ct);
        await upload.Pipe.Writer.CompleteAsync();

        var failure = await FailureOf(upload.Reader.ReadAsync(ct));

        Assert.Equal(UploadOutcome.Lz4BlockTooLarge, failure.Outcome);
        Assert.Equal(0, upload.Account.Used);
    }

    [Fact]
    public async Task An_upload_in_progress_waits_for_budget_until_the_clock_passes_the_budget_wait()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upload = new Upload(budgetBytes: 4 * ChunkBytes);
        var hog = upload.Budget.For("other");
        await upload.SendAsync(3 * ChunkBytes, ct);

        var first = await upload.Reader.ReadAsync(ct);
        Assert.True(hog.TryAcquire(upload.Budget.Capacity - upload.Budget.InFlight)); // the rest of the budget is someone else's
        first.Discard();
        Assert.True(hog.TryAcquire(ChunkBytes)); // and so is what the first chunk gave back

        var second = upload.Reader.ReadAsync(ct); // has bytes to read, no budget for them
        upload.Time.Advance(BudgetWait - TimeSpan.FromMilliseconds(1));
        Assert.False(second.IsCompleted);
        upload.Time.Advance(TimeSpan.FromMilliseconds(1));

        var failure = await FailureOf(second);
        Assert.Equal(UploadOutcome.BudgetTimeout, failure.Outcome);
        Assert.Contains(BudgetWait.ToString(), failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_first_read_with_no_budget_free_ends_as_budget_spent_without_waiting()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upload = new Upload(budgetBytes: 4 * ChunkBytes, share: 1);
        Assert.True(upload.Budget.For("other").TryAcquire(4 * ChunkBytes));
        await upload.SendAsync(100, ct);

        var failure = await FailureOf(upload.Reader.ReadAsync(ct));

        Assert.Equal(UploadOutcome.BudgetSpent, failure.Outcome);
    }

    [Fact]
    public async Task A_first_read_beyond_the_projects_share_ends_as_share_spent()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upload = new Upload(budgetBytes: 8 * ChunkBytes, share: 0.25);
        Assert.True(upload.Account.TryAcquire(upload.Account.Cap)); // an earlier upload of the project holds its share
        await upload.SendAsync(100, ct);

        var failure = await FailureOf(upload.Reader.ReadAsync(ct));

        Assert.Equal(UploadOutcome.ShareSpent, failure.Outcome);
        Assert.Contains("Project p", failure.Detail, StringComparison.Ordinal);
    }

    private static async Task<UploadFailure> FailureOf(Task<Chunk> read)
    {
        var ex = await Assert.ThrowsAsync<UploadFailedException>(() => read.WaitAsync(TimeSpan.FromSeconds(30)));
        return ex.Failure;
    }

    /// <summary>A body fed by the test, read by a <see cref="ChunkReader"/> of project <c>p</c> on a fake clock.</summary>
    private sealed class Upload : IAsyncDisposable
    {
        public Upload(
            long? identityLength = null, long limit = 1 << 20, ContentCoding coding = ContentCoding.Identity, long budgetBytes = 1 << 20, double share = 1)
        {
            var api = new ApiOptions { InFlightBudgetBytes = budgetBytes, ChunkBytes = ChunkBytes, UploadIdleTimeout = IdleTimeout };
            api.ProjectLimits.BudgetShare = share;
            Budget = new InFlightBudget(Options.Create(api), Options.Create(new IngestOptions()));
            Account = Budget.For("p");
            Body = PayloadBodyStream.Open(Pipe.Reader, coding, limit, IdleTimeout, Time);
            Reader = new ChunkReader(Body, Account, admission: null, ChunkBytes, BudgetWait, identityLength, Time);
        }

        public Pipe Pipe { get; } = new();

        public FakeTimeProvider Time { get; } = new();

        public InFlightBudget Budget { get; }

        public BudgetAccount Account { get; }

        public PayloadBodyStream Body { get; }

        public ChunkReader Reader { get; }

        public async Task SendAsync(int bytes, CancellationToken cancellationToken) =>
            await Pipe.Writer.WriteAsync(Enumerable.Range(0, bytes).Select(i => (byte)i).ToArray(), cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await Body.DisposeAsync();
            await Pipe.Writer.CompleteAsync();
        }
    }
}
